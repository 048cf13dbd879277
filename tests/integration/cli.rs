//! The `jwtd` binary: start-up with the embedded defaults, the operator commands, and
//! configuration errors — each failure one line and a non-zero exit.

use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::both_databases;
use crate::common::*;

/// Runs `jwtd args…` in `dir` with only the given environment (plus PATH).
pub(crate) async fn jwtd(dir: &Path, env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args);
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    child.wait_with_output().await.unwrap()
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The environment pointing the binary at a storage's database.
pub(crate) fn db_env(storage: &Storage) -> Vec<(&'static str, String)> {
    let url = match &storage.pg {
        Some(pg) => pg.url.clone(),
        None => format!("sqlite://{}", storage.dir.path().join("jwtd.db").display()),
    };
    vec![
        ("JWTD__DATABASE_URL", url),
        ("JWTD__SIGNING_KEY", KEY.to_string()),
    ]
}

both_databases!(
    user_commands_manage_users,
    token_mint_prints_a_working_pair,
    user_delete_blacklists_the_users_tokens_and_is_audited
);

async fn user_commands_manage_users(db: Db) {
    let storage = Storage::new(db).await;
    let env = db_env(&storage);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = storage.dir.path();
    let ok = |o: &Output| {
        assert!(
            o.status.success(),
            "stdout {} stderr {}",
            text(&o.stdout),
            text(&o.stderr)
        )
    };

    let o = jwtd(dir, &env, &["migrate"], None).await;
    ok(&o);
    // Every command applies the migrations; with sqlx's INFO lines on, an up-to-date
    // Postgres database must not add its notice (`relation "_sqlx_migrations" already
    // exists, skipping`) to each command's output.
    let verbose: Vec<(&str, &str)> = env.iter().copied().chain([("RUST_LOG", "info")]).collect();
    let o = jwtd(dir, &verbose, &["migrate"], None).await;
    ok(&o);
    assert!(!text(&o.stderr).contains("already exists"), "{}", text(&o.stderr));
    let o = jwtd(
        dir,
        &env,
        &[
            "user",
            "create",
            "alice",
            "--password-stdin",
            "--email",
            "a@example.test",
        ],
        Some("pw-alice-1\n"),
    )
    .await;
    ok(&o);
    assert_eq!(text(&o.stdout).trim(), "created user alice (id 1)");
    let o = jwtd(
        dir,
        &env,
        &["user", "create", "root", "--password", "pw-root-1", "--superuser"],
        None,
    )
    .await;
    ok(&o);
    let o = jwtd(
        dir,
        &env,
        &[
            "user",
            "create",
            "carol",
            "--password",
            "pw",
            "--inactive",
            "--staff",
            "--skip-password-validation",
        ],
        None,
    )
    .await;
    ok(&o);
    let list = text(&jwtd(dir, &env, &["user", "list"], None).await.stdout);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..5], ["1", "alice", "yes", "no", "no"]);
    assert_eq!(rows[1][..5], ["2", "root", "yes", "yes", "yes"]);
    assert_eq!(rows[2][..5], ["3", "carol", "no", "yes", "no"]);

    // The server sees what the commands did — at once, with no cached reads (with them, a
    // change by another process shows within database_cache_ttl; see store_cache.rs).
    let s = TestServer::start_on(std::sync::Arc::new(storage), "database_cache_ttl = 0").await;
    let dir = s.storage.dir.path();
    s.login("alice", "pw-alice-1").await;
    assert_eq!(
        s.post("/api/token/", json!({"username": "carol", "password": "pw"}))
            .await
            .status,
        401
    );
    ok(&jwtd(dir, &env, &["user", "activate", "carol"], None).await);
    s.login("carol", "pw").await;
    ok(&jwtd(
        dir,
        &env,
        &["user", "passwd", "alice", "--password-stdin"],
        Some("pw-alice-2\n"),
    )
    .await);
    assert_eq!(
        s.post(
            "/api/token/",
            json!({"username": "alice", "password": "pw-alice-1"})
        )
        .await
        .status,
        401
    );
    let (_, access) = s.login("alice", "pw-alice-2").await;
    ok(&jwtd(dir, &env, &["user", "deactivate", "alice"], None).await);
    assert_eq!(s.me(&access).await.body["code"], "user_inactive");
    ok(&jwtd(dir, &env, &["user", "delete", "alice"], None).await);
    // The deletion revoked the token's session.
    s.me(&access)
        .await
        .expect_401(not_valid_for_any("Token is blacklisted"));

    // Failures: one line on stderr, exit status 1.
    for (args, stdin, message) in [
        (
            vec!["user", "create", "root", "--password", "x"],
            None,
            "already exists",
        ),
        (
            vec!["user", "passwd", "nobody", "--password", "x"],
            None,
            "no user named \"nobody\"",
        ),
        (vec!["user", "delete", "nobody"], None, "no user named"),
        (
            vec!["user", "create", "bad name", "--password", "x"],
            None,
            "invalid username",
        ),
        (
            vec!["user", "create", "dave", "--password-stdin"],
            Some(""),
            "must not be empty",
        ),
    ] {
        let o = jwtd(dir, &env, &args, stdin).await;
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // A password is required one way or the other (clap's usage error).
    let o = jwtd(dir, &env, &["user", "create", "erin"], None).await;
    assert_eq!(o.status.code(), Some(2));
}

/// `jwtd user delete` does what the admin API's DELETE does: the user's sessions revoked
/// and tokens blacklisted in the deleting transaction, and `user_deleted` in the audit trail
/// with no actor.
async fn user_delete_blacklists_the_users_tokens_and_is_audited(db: Db) {
    let s = TestServer::start(db, "database_cache_ttl = 0").await;
    let alice = s.user("alice", "pw-alice-1").await;
    s.user("bob", "pw-bob-1").await;
    let (refresh_1, _) = s.login("alice", "pw-alice-1").await;
    let (refresh_2, _) = s.login("alice", "pw-alice-1").await;
    let (refresh_bob, _) = s.login("bob", "pw-bob-1").await;
    let env = db_env(&s.storage);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = jwtd(s.storage.dir.path(), &env, &["user", "delete", "alice"], None).await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout).trim(),
        "deleted alice; 2 outstanding token(s) blacklisted"
    );
    for refresh in [&refresh_1, &refresh_2] {
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .expect_401(invalid("Token is blacklisted"));
        let row = s.storage.outstanding_jti(&jti(refresh)).await.unwrap();
        assert_eq!(row.blacklist_reason.as_deref(), Some("revoke"));
    }
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh_bob}))
            .await
            .status,
        200
    );
    let filter = jwtd::store::EventFilter {
        kind: Some(jwtd::store::EventType::UserDeleted),
        ..Default::default()
    };
    let page = jwtd::store::Page { offset: 0, limit: 10 };
    let (events, _) = s.state().store.events(&filter, page).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].user_id,
            events[0].username.as_deref(),
            events[0].actor_id
        ),
        (Some(alice.id), Some("alice"), None)
    );
}

async fn token_mint_prints_a_working_pair(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let env = db_env(&s.storage);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = jwtd(s.storage.dir.path(), &env, &["token", "mint", "alice"], None).await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    let pair: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        s.me(pair["access"].as_str().unwrap()).await.body["username"],
        "alice"
    );
    let r = s
        .post("/api/token/refresh/", json!({"refresh": pair["refresh"]}))
        .await;
    assert_eq!(r.status, 200);
    let o = jwtd(s.storage.dir.path(), &env, &["token", "mint", "nobody"], None).await;
    assert_eq!(o.status.code(), Some(1));
}

/// Every command that sets a password applies Django's password validation (its four default
/// validators): Django's messages on stderr, one a line, as createsuperuser prints them, then
/// one line saying what was not done; exit 1, nothing changed. `--skip-password-validation`
/// bypasses them, as createsuperuser lets an operator do. (Imported Django hashes are not
/// validated: django.rs imports users whose passwords would be refused.)
#[tokio::test]
async fn passwords_are_validated_as_django_does() {
    let storage = std::sync::Arc::new(Storage::new(Db::Sqlite).await);
    let env = db_env(&storage);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = storage.dir.path();
    let short = "This password is too short. It must contain at least 8 characters.";
    let refused = |o: &Output, messages: &[&str], not_done: &str| {
        assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "");
        let mut expected: Vec<String> = messages.iter().map(|m| m.to_string()).collect();
        expected.push(format!(
            "jwtd: {not_done}: the password does not pass validation \
             (--skip-password-validation accepts it)"
        ));
        assert_eq!(text(&o.stderr).lines().collect::<Vec<_>>(), expected);
    };
    let ok = |o: &Output| assert!(o.status.success(), "{}", text(&o.stderr));

    let env = &env;
    let create = |password: &'static str, extra: &'static [&'static str]| {
        let mut args = vec!["user", "create", "alice", "--password", password];
        args.extend(extra);
        async move { jwtd(dir, env, &args, None).await }
    };
    refused(
        &create("alice", &["--email", "alice@example.com"]).await,
        &[
            "The password is too similar to the username.",
            short,
            "This password is too common.",
        ],
        "user alice not created",
    );
    refused(
        &create("12345678", &[]).await,
        &[
            "This password is too common.",
            "This password is entirely numeric.",
        ],
        "user alice not created",
    );
    refused(
        &create("Josephine!!", &["--first-name", "Josephine"]).await,
        &["The password is too similar to the first name."],
        "user alice not created",
    );
    refused(
        &create("wonderland!", &["--email", "alice.w@wonderland.example"]).await,
        &["The password is too similar to the email address."],
        "user alice not created",
    );
    let list = text(&jwtd(dir, env, &["user", "list"], None).await.stdout);
    assert_eq!(list.lines().count(), 1, "only the header: {list}");

    let o = jwtd(
        dir,
        env,
        &[
            "user",
            "create",
            "alice",
            "--password-stdin",
            "--email",
            "alice@example.com",
        ],
        Some("correct-horse-battery\n"),
    )
    .await;
    ok(&o);
    let o = jwtd(
        dir,
        env,
        &["user", "passwd", "alice", "--password-stdin"],
        Some("Alice-1\n"),
    )
    .await;
    refused(
        &o,
        &["The password is too similar to the username.", short],
        "password of alice not changed",
    );
    let s = TestServer::start_on(storage.clone(), "database_cache_ttl = 0").await;
    s.login("alice", "correct-horse-battery").await;

    let skip = "--skip-password-validation";
    ok(&jwtd(
        dir,
        env,
        &["user", "passwd", "alice", "--password", "alice", skip],
        None,
    )
    .await);
    s.login("alice", "alice").await;
    ok(&jwtd(
        dir,
        env,
        &["user", "create", "bob", "--password", "1", skip],
        None,
    )
    .await);
    s.login("bob", "1").await;
}

#[tokio::test]
async fn configuration_errors_stop_start_up_with_one_line() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("typo.toml"), "acess_token_lifetime = \"5m\"\n").unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "access_token_lifetime = \"5 parsecs\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("short.toml"), "signing_key = \"too-short\"\n").unwrap();
    std::fs::write(
        dir.path().join("ring.toml"),
        "[[keys]]\nkid = \"a\"\nalgorithm = \"ES256\"\nsigning_key = \"file:no-such-key.pem\"\n",
    )
    .unwrap();
    for (args, env, needle) in [
        (
            vec!["--config", "typo.toml", "migrate"],
            vec![],
            "unknown setting `acess_token_lifetime`",
        ),
        (
            vec!["--config", "bad.toml", "migrate"],
            vec![],
            "access_token_lifetime",
        ),
        (
            vec!["migrate"],
            vec![("JWTD__ROTATE_REFRESH_TOKENS", "perhaps")],
            "rotate_refresh_tokens",
        ),
        (
            vec!["migrate"],
            vec![("JWTD_CONFIG", "missing.toml")],
            "missing.toml",
        ),
        (vec!["migrate"], vec![("JWTD__ALGORITHM", "HS1024")], "algorithm"),
        (
            vec!["migrate"],
            vec![("JWTD__DATABASE_URL", "mysql://x")],
            "database_url",
        ),
        // A `file:` value that cannot be read, before anything starts: a container secret
        // the service's user may not read must not leave it restarting with exit status 1.
        (
            vec!["migrate"],
            vec![("JWTD__SIGNING_KEY", "file:no-such-key.pem")],
            "`signing_key`: cannot read no-such-key.pem",
        ),
        (
            vec!["serve"],
            vec![
                ("JWTD__BIND", "127.0.0.1:0"),
                ("JWTD__ALGORITHM", "ES256"),
                ("JWTD__SIGNING_KEY", "file:."),
            ],
            "`signing_key`: cannot read .",
        ),
        (
            vec!["--config", "ring.toml", "serve"],
            vec![("JWTD__BIND", "127.0.0.1:0")],
            "`keys[0].signing_key`: cannot read no-such-key.pem",
        ),
        (
            vec!["migrate"],
            vec![("JWTD__DATABASE_URL", "file:no-such-url")],
            "`database_url`: cannot read no-such-url",
        ),
    ] {
        let o = jwtd(dir.path(), &env, &args, None).await;
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // A short signing key is refused when the server starts.
    let o = jwtd(
        dir.path(),
        &[("JWTD__BIND", "127.0.0.1:0")],
        &["--config", "short.toml"],
        None,
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("signing_key") && err.contains("at least 32 bytes"),
        "{err}"
    );
}

/// `jwtd` with nothing configured: SQLite and a development key under ./data, said in the
/// log; the key is kept, so tokens survive a restart.
#[tokio::test]
async fn starts_with_the_embedded_defaults() {
    let dir = TempDir::new();
    let (addr, mut child, log) = start_binary(dir.path(), &[]).await;
    assert!(
        log.contains("using the embedded SQLite database ./data/jwtd.db"),
        "{log}"
    );
    assert!(log.contains("development HS256 key"), "{log}");
    let key_file = dir.path().join("data/dev-signing-key.HS256");
    let mode = std::fs::metadata(&key_file).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
    assert!(dir.path().join("data/jwtd.db").exists());

    let o = jwtd(
        dir.path(),
        &[],
        &["user", "create", "alice", "--password", "pw-alice-1"],
        None,
    )
    .await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    let client = reqwest::Client::new();
    let r = client
        .post(format!("http://{addr}/api/token/"))
        .json(&json!({"username": "alice", "password": "pw-alice-1"}))
        .send()
        .await
        .unwrap();
    let pair: serde_json::Value = r.json().await.unwrap();
    child.kill().await.unwrap();

    let (addr, mut child, log) = start_binary(dir.path(), &[]).await;
    assert!(log.contains("signing with the development key kept in"), "{log}");
    let r = client
        .post(format!("http://{addr}/api/token/verify/"))
        .json(&json!({"token": pair["access"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.kill().await.unwrap();
}

/// Runs `jwtd` as an unprivileged user when the tests run as root, for whom no file is
/// read-only; `None` when that is not possible here.
async fn jwtd_unprivileged(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Option<Output> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(jwtd(dir, env, args, None).await);
    }
    let mut cmd = tokio::process::Command::new("setpriv");
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(args)
        .stdin(Stdio::null());
    let o = cmd.output().await.ok()?;
    // setpriv missing or refused: nothing to learn here.
    (o.status.code() != Some(127) && !text(&o.stderr).starts_with("setpriv:")).then_some(o)
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}

/// What an operator meets in the first hour, each said with what to do about it.
#[tokio::test]
async fn first_hour_mistakes_are_explained() {
    let dir = TempDir::new();
    let d = dir.path();
    std::fs::write(d.join("upper.toml"), "ACCESS_TOKEN_LIFETIME = \"10m\"\n").unwrap();
    std::fs::write(d.join("yes.toml"), "rotate_refresh_tokens = \"yes\"\n").unwrap();
    for (args, env, needles) in [
        (
            vec!["migrate"],
            vec![("JWTD__ALGORITHM", "HS257")],
            vec!["algorithm", "HS256, HS384, HS512", "did you mean \"HS256\"?"],
        ),
        (
            vec!["migrate"],
            vec![("JWTD__PORT", "8001")],
            vec!["unknown setting `port`", "`bind`", "--bind"],
        ),
        (
            vec!["migrate"],
            vec![("JWTD__BIND", ":18005")],
            vec!["`bind`", "\":18005\" is not HOST:PORT"],
        ),
        (
            vec!["serve", "--bind", "localhost"],
            vec![],
            vec!["`bind`", "\"localhost\" is not HOST:PORT"],
        ),
        (
            vec!["--config", "upper.toml", "migrate"],
            vec![],
            vec!["`ACCESS_TOKEN_LIFETIME`", "`access_token_lifetime`"],
        ),
        (
            vec!["--config", "yes.toml", "migrate"],
            vec![],
            vec!["rotate_refresh_tokens", "\"yes\" is not a boolean"],
        ),
        (
            vec!["migrate"],
            vec![("JWTD__METRICS", "on")],
            vec!["metrics", "\"on\" is not a boolean"],
        ),
    ] {
        let o = jwtd(d, &env, &args, None).await;
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        for needle in needles {
            assert!(err.contains(needle), "{args:?} {env:?}: {needle} not in {err}");
        }
    }
    // A setting written with one underscore, as JWTD_CONFIG is: warned about, not ignored.
    std::fs::write(d.join("given.toml"), "").unwrap();
    let o = jwtd(
        d,
        &[
            ("JWTD_ACCESS_TOKEN_LIFETIME", "600"),
            ("JWTD_CONFIG", "given.toml"),
        ],
        &["migrate"],
        None,
    )
    .await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("JWTD_ACCESS_TOKEN_LIFETIME") && err.contains("JWTD__ACCESS_TOKEN_LIFETIME"),
        "{err}"
    );
    // An e-mail address Django would refuse.
    let o = jwtd(
        d,
        &[("JWTD__SIGNING_KEY", KEY)],
        &[
            "user",
            "create",
            "erin",
            "--password",
            "x",
            "--email",
            "erin@example",
        ],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("Enter a valid email address."),
        "{}",
        text(&o.stderr)
    );
}

/// `jwtd.toml` in the working directory is read when no file is named; the log names the
/// files read; a file's path shows in messages as it was given.
#[tokio::test]
async fn configuration_files_are_found_and_named() {
    let dir = TempDir::new();
    let d = dir.path();
    std::fs::write(d.join("jwtd.toml"), "access_token_lifetime = \"5 parsecs\"\n").unwrap();
    let o = jwtd(d, &[], &["migrate"], None).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("jwtd.toml"), "{}", text(&o.stderr));
    std::fs::write(d.join("jwtd.toml"), "access_token_lifetime = \"10m\"\n").unwrap();
    let (_, mut child, log) = start_binary(d, &[]).await;
    child.kill().await.unwrap();
    assert!(log.contains("configuration read from jwtd.toml"), "{log}");

    let elsewhere = TempDir::new();
    let typo = elsewhere.path().join("typo.toml");
    std::fs::write(&typo, "acess_token_lifetime = 5\n").unwrap();
    let o = jwtd(d, &[], &["--config", typo.to_str().unwrap(), "migrate"], None).await;
    let err = text(&o.stderr);
    assert!(err.contains(&format!("(set in {})", typo.display())), "{err}");
}

/// The address: `serve --bind` over the setting, and a busy port names the setting.
#[tokio::test]
async fn the_listening_address_is_chosen_with_bind() {
    let dir = TempDir::new();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let env = [("JWTD__SIGNING_KEY", KEY), ("JWTD__BIND", busy_addr.as_str())];
    let o = jwtd(dir.path(), &env, &["serve"], None).await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains(&busy_addr) && last.contains("JWTD__BIND") && last.contains("--bind"),
        "{err}"
    );
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .envs(env)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("listening on http://127.0.0.1:") {
                return line;
            }
        }
        panic!("jwtd exited");
    })
    .await
    .unwrap();
    assert!(!listening.contains(&busy_addr), "{listening}");
    child.kill().await.unwrap();
}

/// An unreachable Postgres: its address and the system's reason, at once, without the
/// password of the URL.
#[tokio::test]
async fn an_unreachable_postgres_is_named_with_the_reason() {
    let dir = TempDir::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://jwtd:s3cret-pw@127.0.0.1:{port}/jwtd");
    let env = [("JWTD__DATABASE_URL", url.as_str()), ("JWTD__SIGNING_KEY", KEY)];
    let started = std::time::Instant::now();
    let o = jwtd(dir.path(), &env, &["migrate"], None).await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(!err.contains("s3cret-pw"), "{err}");
}

/// Files that cannot be written: the path and the cause, exit status 1.
#[tokio::test]
async fn unwritable_data_is_named_with_the_cause() {
    let dir = TempDir::new();
    let d = dir.path();
    chmod(d, 0o755);
    let ro = d.join("ro");
    std::fs::create_dir(&ro).unwrap();
    chmod(&ro, 0o555);
    let rodb = d.join("rodb");
    std::fs::create_dir(&rodb).unwrap();
    let o = jwtd(d, &[("JWTD__DATA_DIR", "rodb")], &["migrate"], None).await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    chmod(&rodb, 0o777);
    chmod(&rodb.join("jwtd.db"), 0o444);
    for name in ["jwtd.db-wal", "jwtd.db-shm"] {
        let _ = std::fs::remove_file(rodb.join(name));
    }
    for (env, args, needles) in [
        (
            vec![("JWTD__DATA_DIR", "ro"), ("JWTD__BIND", "127.0.0.1:0")],
            vec!["serve"],
            vec![
                "ro/dev-signing-key.HS256",
                "data_dir ro is not writable",
                "ermission denied",
            ],
        ),
        (
            vec![("JWTD__DATA_DIR", "ro"), ("JWTD__SIGNING_KEY", KEY)],
            vec!["migrate"],
            vec![
                "ro/jwtd.db",
                "cannot create files in its directory ro",
                "ermission denied",
            ],
        ),
        (
            vec![("JWTD__DATA_DIR", "rodb"), ("JWTD__SIGNING_KEY", KEY)],
            vec!["user", "create", "bob", "--password", "x"],
            vec!["rodb/jwtd.db", "the file cannot be written", "ermission denied"],
        ),
    ] {
        let Some(o) = jwtd_unprivileged(d, &env, &args).await else {
            eprintln!("no unprivileged user to run as: read-only files not tested");
            return;
        };
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            !err.contains("configuration error") && !err.contains("signing_key`"),
            "{err}"
        );
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: {needle} not in {err}");
        }
    }
}
