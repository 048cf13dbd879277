//! Issue 17's hardening: deactivated users' sliding tokens, revoked access tokens at jwtd's
//! own endpoints, owner-only SQLite files, and storage faults (disk full, read-only, I/O
//! errors) answered with 503 and reflected by `/readyz`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::both_databases;
use crate::common::*;

both_databases!(
    sliding_refresh_refuses_users_that_cannot_log_in,
    revoked_access_tokens_are_refused_by_jwtds_own_endpoints,
);

async fn sliding_refresh_refuses_users_that_cannot_log_in(db: Db) {
    let s = TestServer::start(db, "").await;
    let dave = s.user("dave", "pw-dave-1").await;
    let obtain = || async {
        s.post(
            "/api/token/sliding/",
            json!({"username": "dave", "password": "pw-dave-1"}),
        )
        .await
        .str("token")
    };
    let token = obtain().await;
    let r = s
        .post("/api/token/sliding/refresh/", json!({"token": token}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (refresh, _) = s.login("dave", "pw-dave-1").await;

    s.state().store.set_active(dave.id, false).await.unwrap();
    // The same answer as refresh gives.
    let no_account = json!({"detail": "No active account found for the given token."});
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(no_account.clone());
    s.post("/api/token/sliding/refresh/", json!({"token": token}))
        .await
        .expect_401(no_account.clone());
    // A user that is gone, and an id nobody has.
    s.state().store.set_active(dave.id, true).await.unwrap();
    let token = obtain().await;
    s.state().store.delete_user(dave.id).await.unwrap();
    s.post("/api/token/sliding/refresh/", json!({"token": token}))
        .await
        .expect_401(no_account.clone());
    let sliding = |user_id: Value| {
        forge(
            &with(
                sj_claims("sliding", "1"),
                json!({"user_id": user_id, "refresh_exp": now() + 600}),
            ),
            KEY,
        )
    };
    s.post(
        "/api/token/sliding/refresh/",
        json!({"token": sliding(json!("abc"))}),
    )
    .await
    .expect_401(no_account);
    // Without a user id claim there is nobody to check, as with refresh.
    let anonymous = forge(
        &with(
            sj_claims("sliding", "1"),
            json!({"user_id": null, "refresh_exp": now() + 600}),
        ),
        KEY,
    );
    let r = s
        .post("/api/token/sliding/refresh/", json!({"token": anonymous}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // With check_user_is_active off, an inactive user's token is renewed, as refresh does.
    let lax = TestServer::start(db, "check_user_is_active = false").await;
    let erin = lax.user("erin", "pw-erin-1").await;
    let token = lax
        .post(
            "/api/token/sliding/",
            json!({"username": "erin", "password": "pw-erin-1"}),
        )
        .await
        .str("token");
    lax.state().store.set_active(erin.id, false).await.unwrap();
    let r = lax
        .post("/api/token/sliding/refresh/", json!({"token": token}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn post_bearer(s: &TestServer, path: &str, access: &str, body: Value) -> Reply {
    let r = s
        .client
        .post(s.url(path))
        .header("authorization", format!("Bearer {access}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    Reply::from(r).await
}

async fn revoked_access_tokens_are_refused_by_jwtds_own_endpoints(db: Db) {
    let storage = std::sync::Arc::new(Storage::new(db).await);
    // The default database_cache_ttl (1 s): the "not blacklisted" answers are cached.
    let s = TestServer::start_on(storage.clone(), "").await;
    let other = TestServer::start_on(storage.clone(), "").await;
    s.user_with("admin", "pw-admin-1", |u| {
        u.is_superuser = true;
        u.is_staff = true;
    })
    .await;
    let bob = s.user("bob", "pw-bob-1").await;
    let blacklisted = not_valid_for_any("Token is blacklisted");

    // Revoked here: refused at once, though the token was just found not blacklisted.
    let (_, access) = s.login("admin", "pw-admin-1").await;
    assert_eq!(s.me(&access).await.status, 200);
    let r = post_bearer(&s, "/api/token/impersonate/", &access, json!({"user": bob.id})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let impersonation = r.str("access");
    assert_eq!(s.me(&impersonation).await.status, 200);
    s.post("/api/token/revoke/", json!({"token": access}))
        .await
        .expect(200, json!({}));
    s.me(&access).await.expect_401(blacklisted.clone());
    post_bearer(&s, "/api/token/impersonate/", &access, json!({"user": bob.id}))
        .await
        .expect_401(blacklisted.clone());
    // An impersonation token is revoked the same way.
    s.post("/api/token/revoke/", json!({"token": impersonation}))
        .await
        .expect(200, json!({}));
    s.me(&impersonation).await.expect_401(blacklisted.clone());

    // Revoked through another instance: refused once this one's copy of the "not
    // blacklisted" answer expires (database_cache_ttl).
    let (_, access) = s.login("admin", "pw-admin-1").await;
    assert_eq!(s.me(&access).await.status, 200);
    other
        .post("/api/token/revoke/", json!({"token": access}))
        .await
        .expect(200, json!({}));
    let revoked = Instant::now();
    loop {
        let r = s.me(&access).await;
        if r.status == 401 {
            r.expect_401(blacklisted.clone());
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            revoked.elapsed() < Duration::from_millis(2500),
            "still accepted {:?} after the revocation",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The other token classes are unaffected.
    let (_, access) = s.login("bob", "pw-bob-1").await;
    assert_eq!(s.me(&access).await.status, 200);
}

/// Runs the binary in `dir` with umask 022 and the given environment.
fn command(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .args(args)
        .kill_on_drop(true);
    // SAFETY: umask and signal are async-signal-safe. SIGXFSZ ignored: a write beyond
    // RLIMIT_FSIZE then fails with EFBIG instead of killing the process (see
    // storage_faults_answer_503).
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    cmd
}

async fn create_user(dir: &Path, env: &[(&str, &str)], name: &str, password: &str) {
    let mut child = command(dir, env, &["user", "create", name, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\n").as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `jwtd` (serve) on a free port: its address and the process.
async fn serve(dir: &Path, env: &[(&str, &str)]) -> (String, tokio::process::Child) {
    let mut child = command(dir, env, &[])
        .env("JWTD__BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest
                    .split(|c: char| c.is_whitespace() || c == '"')
                    .next()
                    .unwrap()
                    .to_string();
            }
        }
        panic!("jwtd exited: {log}");
    })
    .await
    .expect("jwtd starts within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (format!("http://{addr}"), child)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[track_caller]
fn assert_owner_only(data: &Path, files: &[&str]) {
    assert_eq!(mode(data), 0o700, "{}", data.display());
    for file in files {
        let path = data.join(file);
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[tokio::test]
async fn sqlite_files_are_owner_only_whoever_creates_them() {
    let tmp = TempDir::new();
    let env = [("JWTD__SIGNING_KEY", KEY)];
    // The CLI first: it creates data_dir and the database.
    let cli = tmp.path().join("cli");
    std::fs::create_dir(&cli).unwrap();
    create_user(&cli, &env, "alice", "pw-alice-1").await;
    assert_owner_only(&cli.join("data"), &["jwtd.db"]);
    // The server on the CLI's files, and the server first: the write-ahead log and the
    // shared-memory index, which exist while the database is open, too.
    let serve_first = tmp.path().join("serve");
    std::fs::create_dir(&serve_first).unwrap();
    for dir in [&cli, &serve_first] {
        let (base, _child) = serve(dir, &env).await;
        let client = reqwest::Client::new();
        let r = client
            .post(format!("{base}/api/token/"))
            .json(&json!({"username": "alice", "password": "pw-alice-1"}))
            .send()
            .await
            .unwrap();
        assert!(r.status() == 200 || r.status() == 401, "{}", r.status());
        assert_owner_only(&dir.join("data"), &["jwtd.db", "jwtd.db-wal", "jwtd.db-shm"]);
    }
    // A database_url naming a folder that does not exist yet.
    let url_dir = tmp.path().join("url");
    std::fs::create_dir(&url_dir).unwrap();
    let url = format!("sqlite://{}", url_dir.join("nested/db/auth.db").display());
    create_user(
        &url_dir,
        &[("JWTD__SIGNING_KEY", KEY), ("JWTD__DATABASE_URL", &url)],
        "bob",
        "pw-bob-1",
    )
    .await;
    assert_owner_only(&url_dir.join("nested/db"), &["auth.db"]);
    assert_eq!(mode(&url_dir.join("nested")), 0o700);
}

const UNAVAILABLE: &str = "Service temporarily unavailable, try again later.";

/// A 503 as every database fault gets it.
#[track_caller]
fn assert_unavailable(r: &Reply) {
    assert_eq!(
        (r.status, &r.body),
        (503, &json!({"detail": UNAVAILABLE})),
        "{}",
        r.text
    );
    assert_eq!(r.header("retry-after"), Some("1"));
}

/// `/readyz` while writes fail: 503, with a reason of jwtd's own and none of the database's
/// text (which is in the log).
#[track_caller]
fn assert_not_ready(r: &Reply, kind: &str) {
    assert_eq!(
        (r.status, &r.body),
        (
            503,
            &json!({"status": "unavailable", "database": kind, "detail": "database writes are failing"})
        ),
        "{}",
        r.text
    );
}

async fn get(client: &reqwest::Client, url: String) -> Reply {
    Reply::from(client.get(url).send().await.unwrap()).await
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Reply {
    Reply::from(client.post(url).json(&body).send().await.unwrap()).await
}

/// Sets the soft RLIMIT_FSIZE of a process: writes to its files at or beyond `bytes` fail
/// with EFBIG, as on a full or failing disk — without root, a small file system or timing.
#[cfg(target_os = "linux")]
fn limit_file_size(pid: u32, bytes: Option<u64>) {
    let limit = libc::rlimit {
        rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: valid pointers to a local rlimit, and a null old-limit pointer.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn sqlite_write_failures_answer_503_and_readiness_follows_them() {
    let tmp = TempDir::new();
    let env = [("JWTD__SIGNING_KEY", KEY)];
    create_user(tmp.path(), &env, "alice", "pw-alice-1").await;
    let (base, child) = serve(tmp.path(), &env).await;
    let client = reqwest::Client::new();
    let login = json!({"username": "alice", "password": "pw-alice-1"});
    let r = post(&client, format!("{base}/api/token/"), login.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sliding = post(&client, format!("{base}/api/token/sliding/"), login.clone())
        .await
        .str("token");
    get(&client, format!("{base}/readyz"))
        .await
        .expect(200, json!({"status": "ready", "database": "sqlite"}));

    // No write reaches the disk any more (SQLite: "disk I/O error").
    limit_file_size(child.id().unwrap(), Some(0));
    assert_unavailable(&post(&client, format!("{base}/api/token/"), login.clone()).await);
    assert_unavailable(
        &post(
            &client,
            format!("{base}/api/token/sliding/refresh/"),
            json!({"token": sliding}),
        )
        .await,
    );
    // Reads still work, but jwtd is not ready for traffic that writes: each check tries
    // a write of its own. (Only a few writes: after some, SQLite has been seen to commit
    // under this limit, for reasons not yet understood.)
    assert_not_ready(&get(&client, format!("{base}/readyz")).await, "sqlite");
    assert_not_ready(&get(&client, format!("{base}/readyz")).await, "sqlite");
    // The disk is back: ready again without a restart, by /readyz's own write.
    limit_file_size(child.id().unwrap(), None);
    get(&client, format!("{base}/readyz"))
        .await
        .expect(200, json!({"status": "ready", "database": "sqlite"}));
    let r = post(&client, format!("{base}/api/token/"), login).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

both_databases!(read_only_database_answers_503_and_readiness_follows);

/// The database turns read-only (SQLite: opened read-only; Postgres: a failover to a
/// read-only server, played by `default_transaction_read_only`).
async fn read_only_database_answers_503_and_readiness_follows(db: Db) {
    let kind = if db == Db::Sqlite { "sqlite" } else { "postgres" };
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let writable = TestServer::start_on(storage.clone(), "").await;
    writable.user("alice", "pw-alice-1").await;
    let (refresh, _) = writable.login("alice", "pw-alice-1").await;
    let read_only;
    let s = match db {
        Db::Sqlite => {
            let url = format!("{}?mode=ro", storage.database_url());
            read_only = TestServer::start_on_url(storage.clone(), &url, "").await;
            &read_only
        }
        Db::Postgres => {
            set_read_only(&storage, true).await;
            reconnect(&writable, &refresh).await;
            &writable
        }
    };
    let login = json!({"username": "alice", "password": "pw-alice-1"});
    for _ in 0..3 {
        assert_unavailable(&s.post("/api/token/", login.clone()).await);
        assert_unavailable(&s.post("/api/token/blacklist/", json!({"refresh": refresh})).await);
        assert_not_ready(&s.get("/readyz", None).await, kind);
    }
    // Reads are served all along.
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    if db == Db::Postgres {
        set_read_only(&storage, false).await;
        reconnect(s, &refresh).await;
        let since = Instant::now();
        while s.get("/readyz", None).await.status != 200 {
            assert!(since.elapsed() < Duration::from_secs(10), "not ready again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(s.post("/api/token/", login).await.status, 200);
    }
}

/// Postgres: new sessions of the test database default to read-only transactions.
async fn set_read_only(storage: &Storage, on: bool) {
    let pg = storage.pg.as_ref().unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&postgres_url().unwrap())
        .await
        .unwrap();
    let sql = if on {
        format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            pg.name
        )
    } else {
        format!("ALTER DATABASE {} RESET default_transaction_read_only", pg.name)
    };
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Postgres: ends the sessions of the test database, then reads (a refresh without
/// rotation) until the pool has replaced every broken connection by a new session.
async fn reconnect(s: &TestServer, refresh: &str) {
    let pg = s.storage.pg.as_ref().unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&postgres_url().unwrap())
        .await
        .unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&pg.name)
    .execute(&mut conn)
    .await
    .unwrap();
    let since = Instant::now();
    let mut in_a_row = 0;
    while in_a_row < 20 {
        let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
        in_a_row = if r.status == 200 { in_a_row + 1 } else { 0 };
        assert!(since.elapsed() < Duration::from_secs(10), "{}", r.text);
    }
}
