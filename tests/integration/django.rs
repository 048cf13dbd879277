//! Moving users from Django: `jwtd user import-django` with a `dumpdata` file made by a real
//! Django 5.2 (tests/fixtures/django/), then logins over HTTP with each hash format.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::both_databases;
use crate::cli::{db_env, jwtd, text};
use crate::common::*;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/django/users.json");

/// The users of the fixture that can log in, with the passwords make_fixture.py gave them.
const LOGINS: &[(&str, &str, &str)] = &[
    ("pbkdf2_user", "pbkdf2 pässwörd ✓", "pbkdf2_sha256$"),
    ("pbkdf2_sha1_user", "pbkdf2-sha1-password", "pbkdf2_sha1$"),
    ("argon2_user", "argon2id-password", "argon2$argon2id$"),
    ("argon2i_user", "argon2i-password", "argon2$argon2i$"),
    (
        "bcrypt_sha256_user",
        "bcrypt-sha256-password",
        "bcrypt_sha256$$2b$",
    ),
    ("bcrypt_user", "bcrypt-password", "bcrypt$$2b$"),
    ("scrypt_user", "scrypt-password", "scrypt$"),
    ("admin", "admin-password", "pbkdf2_sha256$"),
];

/// These tests create users in jwtd with short passwords: the password policy is not what
/// they test.
const SKIP: &str = "--skip-password-validation";
const JWTD_ARGON2: &str = "$argon2id$v=19$m=19456,t=2,p=1$";
const FIRST_IMPORT: &str =
    "imported 11 users: 11 created, 0 updated, 0 skipped; 1 record of other models skipped (auth.group)";
/// Logins without the throttles, which would count the wrong passwords tried here.
const SERVER: &str = "database_cache_ttl = 0\nthrottle_login_rate = \"\"\nmax_failed_logins = 0";

fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap()
}

/// `jwtd` run against a storage's database.
struct Cli<'a> {
    dir: &'a Path,
    env: Vec<(&'static str, String)>,
}

impl Cli<'_> {
    fn new(storage: &Storage) -> Cli<'_> {
        Cli {
            dir: storage.dir.path(),
            env: db_env(storage),
        }
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        jwtd(self.dir, &env, args, stdin).await
    }

    /// Imports `dump` (from standard input) and returns the line printed; panics on failure.
    async fn import(&self, dump: &Value) -> String {
        let o = self.import_result(dump).await;
        assert!(o.status.success(), "stderr: {}", text(&o.stderr));
        text(&o.stdout).trim().to_string()
    }

    async fn import_result(&self, dump: &Value) -> Output {
        self.run(&["user", "import-django", "-"], Some(&dump.to_string()))
            .await
    }
}

async fn password_of(s: &TestServer, username: &str) -> String {
    s.state()
        .store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{username} exists"))
        .password
}

fn no_active_account() -> Value {
    json!({"detail": "No active account found with the given credentials"})
}

fn instant(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

both_databases!(
    django_users_log_in_with_every_hash_format,
    django_import_keeps_ids_and_fields,
    django_import_is_idempotent_and_counts,
    django_import_of_a_malformed_file_writes_nothing,
    django_import_refuses_a_username_held_by_another_id,
    django_rehash_at_login_and_check_revoke_token,
    django_import_moves_usernames_between_users,
    refused_logins_take_as_long_as_the_dearest_imported_hash,
    django_import_refuses_to_replace_users_created_in_jwtd,
    django_import_revokes_the_tokens_of_ids_that_change_hands,
    django_import_into_an_empty_table_rebuilds_its_indexes_all_or_nothing,
);

async fn django_users_log_in_with_every_hash_format(db: Db) {
    let storage = Storage::new(db).await;
    let cli = Cli::new(&storage);
    let o = cli.run(&["user", "import-django", FIXTURE], None).await;
    assert!(o.status.success(), "stderr: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), FIRST_IMPORT);
    // The one user jwtd can never let in is named, with what it is.
    let warning = text(&o.stderr);
    assert!(
        warning.contains("1 imported user(s) have a password hash jwtd cannot verify: md5_user (md5)"),
        "{warning}"
    );

    let s = TestServer::start_on(Arc::new(storage), SERVER).await;
    for (username, password, format) in LOGINS {
        let django_hash = password_of(&s, username).await;
        assert!(django_hash.starts_with(format), "{username}: {django_hash}");

        let wrong = s
            .post(
                "/api/token/",
                json!({"username": username, "password": "not-the-password"}),
            )
            .await;
        wrong.expect_401(no_active_account());
        assert_eq!(
            password_of(&s, username).await,
            django_hash,
            "{username}: a failure changes nothing"
        );

        let (_, access) = s.login(username, password).await;
        let rehashed = password_of(&s, username).await;
        assert!(rehashed.starts_with(JWTD_ARGON2), "{username}: {rehashed}");
        assert_eq!(s.me(&access).await.body["username"], *username);

        // Now in jwtd's own format: the next login verifies it and changes nothing.
        s.login(username, password).await;
        assert_eq!(password_of(&s, username).await, rehashed, "{username}");
        s.post(
            "/api/token/",
            json!({"username": username, "password": "not-the-password"}),
        )
        .await
        .expect_401(no_active_account());
    }

    // Unusable, inactive, and a hash jwtd does not verify: Simple JWT's one refusal each.
    for (username, password) in [
        ("unusable_user", "anything"),
        ("inactive_user", "inactive-password"),
        ("md5_user", "md5-password"),
    ] {
        let before = password_of(&s, username).await;
        s.post("/api/token/", json!({"username": username, "password": password}))
            .await
            .expect_401(no_active_account());
        assert_eq!(
            password_of(&s, username).await,
            before,
            "{username}: not rehashed"
        );
    }
    assert!(password_of(&s, "unusable_user").await.starts_with('!'));
    // Sliding tokens go through the same check.
    let r = s
        .post(
            "/api/token/sliding/",
            json!({"username": "admin", "password": "admin-password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn django_import_keeps_ids_and_fields(db: Db) {
    let storage = Storage::new(db).await;
    let cli = Cli::new(&storage);
    assert_eq!(cli.import(&fixture()).await, FIRST_IMPORT);
    let s = TestServer::start_on(Arc::new(storage), SERVER).await;

    let users = s.state().store.list_users().await.unwrap();
    let dump = fixture();
    let records: Vec<&Value> = dump
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["model"] == "auth.user")
        .collect();
    assert_eq!(users.len(), records.len());
    for (user, record) in users.iter().zip(&records) {
        let f = &record["fields"];
        assert_eq!(user.id, record["pk"].as_i64().unwrap());
        assert_eq!(user.username, f["username"].as_str().unwrap());
        assert_eq!(user.password, f["password"].as_str().unwrap(), "kept as it is");
        assert_eq!(user.email, f["email"].as_str().unwrap());
        assert_eq!(user.first_name, f["first_name"].as_str().unwrap());
        assert_eq!(user.last_name, f["last_name"].as_str().unwrap());
        assert_eq!(user.is_active, f["is_active"].as_bool().unwrap());
        assert_eq!(user.is_staff, f["is_staff"].as_bool().unwrap());
        assert_eq!(user.is_superuser, f["is_superuser"].as_bool().unwrap());
        assert_eq!(user.date_joined, instant(f["date_joined"].as_str().unwrap()));
        assert_eq!(user.last_login, f["last_login"].as_str().map(instant));
    }

    // The ids are those of the Django project, and so are the tokens' user_id claims.
    let (refresh, access) = s.login("admin", "admin-password").await;
    assert_eq!(claims(&refresh)["user_id"], "11");
    let me = s.me(&access).await;
    assert_eq!(
        me.body,
        json!({
            "id": 11, "username": "admin", "email": "admin@example.test",
            "first_name": "Admin", "last_name": "Dumpdata",
            "is_active": true, "is_staff": true, "is_superuser": true,
            "last_login": "2024-06-10T10:00:00.123000Z",
            "date_joined": "2024-05-11T10:00:00.123000Z",
        })
    );

    // Ids handed out later come after the imported ones.
    let o = cli_for(&s)
        .run(&["user", "create", "newcomer", "--password", "pw", SKIP], None)
        .await;
    assert_eq!(
        text(&o.stdout).trim(),
        "created user newcomer (id 12)",
        "{}",
        text(&o.stderr)
    );
}

fn cli_for(s: &TestServer) -> Cli<'_> {
    Cli::new(&s.storage)
}

async fn django_import_is_idempotent_and_counts(db: Db) {
    let storage = Storage::new(db).await;
    let cli = Cli::new(&storage);
    let dump = fixture();
    assert_eq!(cli.import(&dump).await, FIRST_IMPORT);
    assert_eq!(
        cli.import(&dump).await,
        "imported 11 users: 0 created, 0 updated, 11 skipped; 1 record of other models skipped (auth.group)"
    );

    // A record changed in Django since, and one user more.
    let mut changed = dump.clone();
    let records = changed.as_array_mut().unwrap();
    records[2]["fields"]["email"] = json!("new@example.test");
    records.push(json!({"model": "auth.user", "pk": 40, "fields": {
        "username": "late", "password": "!unusable", "date_joined": "2025-01-02T03:04:05+01:00",
    }}));
    assert_eq!(
        cli.import(&changed).await,
        "imported 12 users: 1 created, 1 updated, 10 skipped; 1 record of other models skipped (auth.group)"
    );
    assert_eq!(
        cli.import(&changed).await,
        "imported 12 users: 0 created, 0 updated, 12 skipped; 1 record of other models skipped (auth.group)"
    );

    // An import through a server's store drops the user rows that store keeps.
    let s = TestServer::start_on(Arc::new(storage), "database_cache_ttl = \"1h\"").await;
    let store = &s.state().store;
    let cached = store.user_by_id(2).await.unwrap().unwrap();
    assert_eq!(cached.email, "new@example.test");
    let late = store.user_by_id(40).await.unwrap().unwrap();
    assert_eq!(late.date_joined, instant("2025-01-02T02:04:05Z"));
    assert!(late.is_active && !late.is_staff && late.last_login.is_none());
    let report = store
        .import_users(
            &[jwtd::store::ImportedUser {
                position: 1,
                id: 2,
                fields: jwtd::store::NewUser {
                    username: cached.username.clone(),
                    password: cached.password.clone(),
                    email: "newer@example.test".into(),
                    first_name: cached.first_name.clone(),
                    last_name: cached.last_name.clone(),
                    is_active: cached.is_active,
                    is_staff: cached.is_staff,
                    is_superuser: cached.is_superuser,
                },
                last_login: cached.last_login,
                date_joined: None,
            }],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            report.counts.created,
            report.counts.updated,
            report.counts.unchanged
        ),
        (0, 1, 0)
    );
    let fresh = store.user_by_id(2).await.unwrap().unwrap();
    assert_eq!(fresh.email, "newer@example.test");
    assert_eq!(
        fresh.date_joined, cached.date_joined,
        "kept when the record has none"
    );
}

async fn django_import_of_a_malformed_file_writes_nothing(db: Db) {
    let storage = Storage::new(db).await;
    let cli = Cli::new(&storage);
    let mut dump = fixture();
    // A new user first, so that a partial import would show.
    dump.as_array_mut().unwrap().insert(
        0,
        json!({"model": "auth.user", "pk": 99, "fields": {"username": "early", "password": "!x"}}),
    );

    // Record 3 is the second user of the fixture.
    let mut no_username = dump.clone();
    no_username[2]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("username");
    let mut text_pk = dump.clone();
    text_pk[2]["pk"] = json!("two");
    let mut bad_date = dump.clone();
    bad_date[2]["fields"]["date_joined"] = json!("2 May 2024");
    let mut same_pk = dump.clone();
    same_pk[4]["pk"] = json!(2);
    for (file, message) in [
        (&no_username, "record 3 (auth.user): field username: missing"),
        (
            &text_pk,
            "record 3 (auth.user): field pk: expected a positive integer, got \"two\"",
        ),
        (
            &bad_date,
            "record 3 (auth.user): field date_joined: expected a date and time",
        ),
        (&same_pk, "record 5: pk 2 is the pk of record 4 too"),
        (&json!({"users": []}), "expected a JSON array of records"),
    ] {
        let o = cli.import_result(file).await;
        assert_eq!(o.status.code(), Some(1), "{message}");
        let stderr = text(&o.stderr);
        assert!(stderr.contains(message), "{stderr}");
        assert!(stderr.trim_end().ends_with("nothing was imported"), "{stderr}");
        assert_eq!(text(&o.stdout), "");
    }
    let o = cli
        .run(&["user", "import-django", "/no/such/file.json"], None)
        .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("cannot read /no/such/file.json"));

    let list = text(&cli.run(&["user", "list"], None).await.stdout);
    assert_eq!(list.lines().count(), 1, "only the header: {list}");
}

async fn django_import_refuses_a_username_held_by_another_id(db: Db) {
    let storage = Storage::new(db).await;
    let cli = Cli::new(&storage);
    for name in ["somebody", "admin"] {
        let o = cli
            .run(&["user", "create", name, "--password", "pw", SKIP], None)
            .await;
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    // pk 1 renames "somebody" (a file may rename the users it gives); pk 11 wants "admin",
    // which id 2 holds — the file without pk 2 leaves it there.
    let mut dump = fixture();
    dump.as_array_mut()
        .unwrap()
        .retain(|r| r["pk"] != 2 || r["model"] != "auth.user");
    let o = cli.import_result(&dump).await;
    assert_eq!(o.status.code(), Some(1));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains(
            "record 11 (pk 11, \"admin\"): username \"admin\" belongs to the user with id 2, created in \
             jwtd, which the file does not change (delete or rename that user first)"
        ),
        "{stderr}"
    );
    // --replace overwrites somebody (pk 1), but nothing frees admin's name.
    let o = cli
        .run(
            &["user", "import-django", "--replace", "-"],
            Some(&dump.to_string()),
        )
        .await;
    assert_eq!(o.status.code(), Some(1));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("1 record would overwrite users it may not:\n  record 11 (pk 11, \"admin\")"),
        "{stderr}"
    );
    let list = text(&cli.run(&["user", "list"], None).await.stdout);
    let names: Vec<&str> = list
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(names, ["somebody", "admin"], "nothing written");
}

/// A rehash is no password change: no token is blacklisted, and without check_revoke_token
/// every token lives on. With it, tokens carry the hash's fingerprint, so those issued before
/// the rehash stop at /api/me/, as they do in Django when its hasher upgrades a hash.
async fn django_rehash_at_login_and_check_revoke_token(db: Db) {
    let storage = Arc::new(Storage::new(db).await);
    assert_eq!(Cli::new(&storage).import(&fixture()).await, FIRST_IMPORT);
    let plain = TestServer::start_on(storage.clone(), SERVER).await;
    let revoking =
        TestServer::start_on(storage.clone(), &format!("{SERVER}\ncheck_revoke_token = true")).await;

    // A token from before: Simple JWT's claims over the Django hash, as Django issued it.
    let django_hash = password_of(&plain, "bcrypt_user").await;
    let fingerprint = hex::encode_upper(md5_digest(&django_hash));
    let before = forge(
        &with(sj_claims("access", "6"), json!({"hash_password": fingerprint})),
        KEY,
    );
    assert_eq!(revoking.me(&before).await.status, 200);

    revoking.login("bcrypt_user", "bcrypt-password").await;
    assert!(password_of(&plain, "bcrypt_user").await.starts_with(JWTD_ARGON2));
    assert_eq!(
        plain.me(&before).await.status,
        200,
        "no revocation without the check"
    );
    revoking
        .me(&before)
        .await
        .expect_401(json!({"detail": "The user's password has been changed.", "code": "password_changed"}));
    assert!(
        storage
            .outstanding()
            .await
            .iter()
            .all(|t| t.blacklist_reason.is_none()),
        "nothing blacklisted"
    );

    // Two first logins at once: one rehash wins, and both sessions carry its fingerprint.
    let (a, b) = tokio::join!(
        revoking.login("scrypt_user", "scrypt-password"),
        revoking.login("scrypt_user", "scrypt-password"),
    );
    assert_eq!(revoking.me(&a.1).await.status, 200);
    assert_eq!(revoking.me(&b.1).await.status, 200);
    assert_eq!(claims(&a.1)["hash_password"], claims(&b.1)["hash_password"]);
}

fn md5_digest(text: &str) -> Vec<u8> {
    use md5::Digest;
    md5::Md5::digest(text.as_bytes()).to_vec()
}

/// A later dump in which two users swapped their usernames (and a third took a freed one)
/// imports: names move between users in one transaction, whatever the order.
async fn django_import_moves_usernames_between_users(db: Db) {
    let storage = Storage::new(db).await;
    let cli = Cli::new(&storage);
    let user = |pk: i64, name: &str| {
        json!({"model": "auth.user", "pk": pk, "fields": {
            "password": "!unusable", "last_login": null, "is_superuser": false,
            "username": name, "first_name": "", "last_name": "", "email": "",
            "is_staff": false, "is_active": true, "date_joined": "2024-05-01T10:00:00Z",
            "groups": [], "user_permissions": []}})
    };
    let first = json!([user(1, "ann"), user(2, "ben"), user(3, "cid")]);
    assert_eq!(
        cli.import(&first).await,
        "imported 3 users: 3 created, 0 updated, 0 skipped"
    );
    let swapped = json!([user(1, "ben"), user(2, "ann"), user(3, "dan"), user(4, "cid")]);
    assert_eq!(
        cli.import(&swapped).await,
        "imported 4 users: 1 created, 3 updated, 0 skipped; tokens revoked for 4 users whose id or \
         username changed hands"
    );
    let list = text(&cli.run(&["user", "list"], None).await.stdout);
    let rows: Vec<(String, String)> = list
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect();
    let expected = [("1", "ben"), ("2", "ann"), ("3", "dan"), ("4", "cid")];
    assert_eq!(
        rows,
        expected.map(|(i, n)| (i.to_string(), n.to_string())),
        "{list}"
    );
}

/// A Django hash costs more than jwtd's argon2id: without padding, a wrong password for an
/// imported user not yet upgraded would take longer than one for an unknown username, and
/// timing would tell which usernames exist. Every refusal lasts at least as long as the
/// dearest imported hash (learnt at start-up, as the server does).
async fn refused_logins_take_as_long_as_the_dearest_imported_hash(db: Db) {
    let storage = Storage::new(db).await;
    assert_eq!(Cli::new(&storage).import(&fixture()).await, FIRST_IMPORT);
    let s = TestServer::start_on(Arc::new(storage), SERVER).await;
    assert_eq!(s.state().hasher.failure_floor(), std::time::Duration::ZERO);
    s.state().learn_legacy_hash_costs().await;
    let floor = s.state().hasher.failure_floor();
    assert!(
        floor > std::time::Duration::from_millis(20),
        "a million PBKDF2 rounds: {floor:?}"
    );

    s.user("native", "pw-native-1").await;
    let refused = |username: &'static str| {
        let s = &s;
        async move {
            let started = std::time::Instant::now();
            let r = s
                .post("/api/token/", json!({"username": username, "password": "wrong"}))
                .await;
            r.expect_401(no_active_account());
            started.elapsed()
        }
    };
    let imported = refused("pbkdf2_user").await;
    let unknown = refused("nobody-at-all").await;
    let native = refused("native").await;
    assert!(
        unknown >= floor && native >= floor,
        "{unknown:?} {native:?} < {floor:?}"
    );
    assert!(
        unknown.as_secs_f64() >= 0.7 * imported.as_secs_f64(),
        "unknown {unknown:?} vs imported {imported:?}"
    );
}

/// A user created in jwtd is never overwritten by surprise: the import refuses, naming the
/// conflict, and writes nothing; `--dry-run` shows the plan; `--replace` overwrites on
/// purpose and voids every token of the replaced user, access tokens included, so that no
/// token ever names a different person.
async fn django_import_refuses_to_replace_users_created_in_jwtd(db: Db) {
    let storage = Arc::new(Storage::new(db).await);
    let cli = Cli::new(&storage);
    let o = cli
        .run(&["user", "create", "alice", "--password", "alice-pw", SKIP], None)
        .await;
    assert_eq!(
        text(&o.stdout).trim(),
        "created user alice (id 1)",
        "{}",
        text(&o.stderr)
    );
    let s = TestServer::start_on(storage.clone(), SERVER).await;
    let (refresh, access) = s.login("alice", "alice-pw").await;
    let alice_me = s.me(&access).await;
    assert_eq!(alice_me.body["username"], "alice");

    // Refused: pk 1 is alice's, created in jwtd. Nothing is written.
    let o = cli.import_result(&fixture()).await;
    let stderr = text(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout {} stderr {stderr}",
        text(&o.stdout)
    );
    assert!(
        stderr
            .contains("record 2 (pk 1, \"pbkdf2_user\"): pk 1 belongs to \"alice\", a user created in jwtd"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert!(stderr.contains("--replace"), "{stderr}");
    assert_eq!(s.me(&access).await.body, alice_me.body);
    s.login("alice", "alice-pw").await;
    assert!(s.state().store.user_by_username("admin").await.unwrap().is_none());

    // A username held by a user of jwtd's own is a conflict as well.
    let newcomer = json!([{"model": "auth.user", "pk": 7, "fields": {
        "username": "alice", "password": "!x", "date_joined": "2024-05-01T10:00:00Z"}}]);
    let o = cli.import_result(&newcomer).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains(
            "record 1 (pk 7, \"alice\"): username \"alice\" belongs to the user with id 1, created in jwtd"
        ),
        "{}",
        text(&o.stderr)
    );

    // The plan, by id and username, and nothing written; exit 1 for the conflict.
    let o = cli
        .run(
            &["user", "import-django", "--dry-run", "-"],
            Some(&fixture().to_string()),
        )
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let plan = text(&o.stdout);
    assert!(plan.contains("conflicting 1 pbkdf2_user:"), "{plan}");
    assert!(plan.contains("created 11 admin"), "{plan}");
    assert!(
        plan.trim_end().ends_with(
            "dry run: 11 users: 10 created, 0 updated, 0 skipped, 1 conflicting; nothing was written"
        ),
        "{plan}"
    );
    assert_eq!(s.me(&access).await.body, alice_me.body);

    // On purpose: alice is replaced, and none of her tokens names pbkdf2_user.
    let o = cli
        .run(
            &["user", "import-django", "--replace", "-"],
            Some(&fixture().to_string()),
        )
        .await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout).trim(),
        "imported 11 users: 10 created, 1 updated, 0 skipped; 1 record of other models skipped \
         (auth.group); tokens revoked for 1 user whose id or username changed hands"
    );
    s.post(
        "/api/token/",
        json!({"username": "alice", "password": "alice-pw"}),
    )
    .await
    .expect_401(no_active_account());
    s.me(&access)
        .await
        .expect_401(json!({"detail": "User not found", "code": "user_not_found"}));
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(
        storage
            .outstanding()
            .await
            .iter()
            .all(|t| t.blacklist_reason.as_deref() == Some("revoke")),
        "alice's refresh token is blacklisted"
    );
    // Tokens issued after the replacement (from the next second on) work.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, access) = s.login("pbkdf2_user", "pbkdf2 pässwörd ✓").await;
    assert_eq!(s.me(&access).await.body["username"], "pbkdf2_user");

    // The replaced user now counts as imported: importing again is idempotent.
    assert_eq!(
        cli.import(&fixture()).await,
        "imported 11 users: 0 created, 1 updated, 10 skipped; 1 record of other models skipped (auth.group)",
        "the login rehashed pbkdf2_user's password, which the file sets back"
    );
    let o = cli
        .run(
            &["user", "import-django", "--dry-run", "-"],
            Some(&fixture().to_string()),
        )
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).trim_end().ends_with(
            "dry run: 11 users: 0 created, 0 updated, 11 skipped, 0 conflicting; nothing was written"
        ),
        "{}",
        text(&o.stdout)
    );
}

/// Re-importing an imported user under the same id and username keeps its tokens; a row
/// whose id now carries another username (or a username now held by another id) loses them.
async fn django_import_revokes_the_tokens_of_ids_that_change_hands(db: Db) {
    let storage = Arc::new(Storage::new(db).await);
    let cli = Cli::new(&storage);
    let user = |pk: i64, name: &str, email: &str| {
        json!({"model": "auth.user", "pk": pk, "fields": {
            "password": "!unusable", "username": name, "email": email,
            "date_joined": "2024-05-01T10:00:00Z"}})
    };
    assert_eq!(
        cli.import(&json!([
            user(1, "ann", ""),
            user(2, "ben", ""),
            user(3, "cid", "")
        ]))
        .await,
        "imported 3 users: 3 created, 0 updated, 0 skipped"
    );
    let s = TestServer::start_on(storage.clone(), SERVER).await;
    let access = |id: &str| forge(&sj_claims("access", id), KEY);
    let (ann, ben, cid) = (access("1"), access("2"), access("3"));
    for token in [&ann, &ben, &cid] {
        assert_eq!(s.me(token).await.status, 200);
    }
    // The next second, so that the tokens above were issued before the import.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // ann's email changes (same person); ben is renamed; cid's name goes to a new id.
    assert_eq!(
        cli.import(&json!([
            user(1, "ann", "ann@example.test"),
            user(2, "bob", ""),
            user(3, "dan", ""),
            user(4, "cid", ""),
        ]))
        .await,
        "imported 4 users: 1 created, 3 updated, 0 skipped; tokens revoked for 3 users whose id or \
         username changed hands"
    );
    let me = s.me(&ann).await;
    assert_eq!(
        (me.status, me.body["email"].clone()),
        (200, json!("ann@example.test"))
    );
    for token in [&ben, &cid] {
        s.me(token)
            .await
            .expect_401(json!({"detail": "User not found", "code": "user_not_found"}));
    }
    // cid's token names id 3 (now dan); one by username would name id 4 (now cid): both void.
    let by_name = TestServer::start_on(
        storage.clone(),
        &format!("{SERVER}\nuser_id_field = \"username\"\nuser_id_claim = \"username\""),
    )
    .await;
    let old_cid = forge(
        &with(
            sj_claims("access", "3"),
            json!({"username": "cid", "iat": now() - 5}),
        ),
        KEY,
    );
    by_name
        .me(&old_cid)
        .await
        .expect_401(json!({"detail": "User not found", "code": "user_not_found"}));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let new_cid = forge(&with(sj_claims("access", "4"), json!({"username": "cid"})), KEY);
    assert_eq!(by_name.me(&new_cid).await.body["id"], 4);
}

fn numbered_user(id: i64) -> jwtd::store::ImportedUser {
    jwtd::store::ImportedUser {
        position: id as usize,
        id,
        fields: jwtd::store::NewUser {
            username: format!("user{id:05}"),
            password: "!unusable".into(),
            email: format!("user{id:05}@example.test"),
            // The characters COPY's text format escapes.
            first_name: "tab\there, back\\slash".into(),
            last_name: "line\nbreak\rreturn".into(),
            is_active: id % 2 == 0,
            is_staff: false,
            is_superuser: id == 1,
        },
        last_login: (id % 3 == 0).then(|| instant("1999-12-31T23:59:59.123456Z")),
        date_joined: Some(instant("2024-05-06T07:08:09.654321+02:00")),
    }
}

/// Into an empty table the import drops the indexes that serve reads (and SQLite's search
/// triggers) and builds them at the end: stopped halfway — an error or the process dying —
/// it leaves the table empty with every index as before; done, the same indexes are back
/// and find the new users.
async fn django_import_into_an_empty_table_rebuilds_its_indexes_all_or_nothing(db: Db) {
    let storage = Storage::new(db).await;
    let s = TestServer::start_on(Arc::new(storage), SERVER).await;
    let store = &s.state().store;
    let schema = s.storage.users_schema().await;
    assert!(schema.len() >= 5, "{schema:?}");
    let users: Vec<_> = (1..=2500).map(numbered_user).collect();

    let mut import = store
        .begin_import(Default::default(), users.iter().map(|u| u.id).collect(), true)
        .await
        .unwrap();
    import.batch(&users[..1000]).await.unwrap();
    import.batch(&users[1000..2000]).await.unwrap();
    drop(import);
    assert_eq!(store.user_by_id(1).await.unwrap(), None);
    assert_eq!(s.storage.users_schema().await, schema);

    let report = store.import_users(&users, Default::default()).await.unwrap();
    assert_eq!((report.counts.created, report.counts.unchanged), (2500, 0));
    assert_eq!(s.storage.users_schema().await, schema);
    for id in [1, 999, 1000, 2500] {
        let u = store.user_by_id(id).await.unwrap().unwrap();
        let expected = numbered_user(id);
        assert_eq!(u.username, expected.fields.username);
        assert_eq!(
            (u.first_name.as_str(), u.last_name.as_str()),
            (
                expected.fields.first_name.as_str(),
                expected.fields.last_name.as_str()
            )
        );
        assert_eq!(
            (u.is_active, u.is_superuser),
            (expected.fields.is_active, id == 1)
        );
        assert_eq!(u.last_login, expected.last_login);
        assert_eq!(Some(u.date_joined), expected.date_joined);
    }
    let query = |search: &str| jwtd::store::UserQuery {
        terms: vec![search.into()],
        limit: 10,
        ..Default::default()
    };
    let (found, count) = store.search_users(&query("user01234")).await.unwrap();
    assert_eq!((found.len(), count, found[0].id), (1, 1, 1234));
    let (_, count) = store.search_users(&query("back\\slash")).await.unwrap();
    assert_eq!(count, 2500);

    // Into a table with users the indexes stay: a second import changes one user.
    let mut changed = users[..1].to_vec();
    changed[0].fields.email = "new@example.test".into();
    let report = store.import_users(&changed, Default::default()).await.unwrap();
    assert_eq!(report.counts.updated, 1);
    let (found, _) = store.search_users(&query("new@example")).await.unwrap();
    assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), [1]);
    assert_eq!(s.storage.users_schema().await, schema);
}
