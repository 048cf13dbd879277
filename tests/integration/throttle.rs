//! The login guards (issue 17): counters shared by every instance on one database (or one
//! Redis), locks per (username, address) under a per-username ceiling, and introspection's
//! client checks throttled with the logins.

use std::io::Write;

use base64::Engine;
use serde_json::json;

use crate::both_databases;
use crate::common::*;

both_databases!(
    introspection_client_checks_are_throttled_with_logins,
    instances_share_the_counters,
    one_address_cannot_lock_a_user_out_of_another,
    failures_from_many_addresses_meet_a_ceiling,
    expired_counters_are_pruned,
);

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn introspect(s: &TestServer, authorization: &str) -> Reply {
    Reply::from(
        s.client
            .post(s.url("/api/token/introspect/"))
            .header("authorization", authorization)
            .form(&[("token", "x")])
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The checks the password hasher made so far, as /metrics counts them.
async fn hashes(s: &TestServer) -> u64 {
    let metrics = s.get("/metrics", None).await.text;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("jwtd_password_hash_duration_seconds_count "))
        .unwrap_or_else(|| panic!("no hash count in {metrics}"))
        .trim()
        .parse()
        .unwrap()
}

/// A login from `client`, as a trusted proxy on 127.0.0.1 forwards it.
async fn login_from(s: &TestServer, client: &str, username: &str, password: &str) -> Reply {
    Reply::from(
        s.client
            .post(s.url("/api/token/"))
            .header("x-forwarded-for", client)
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn expect_throttled(r: &Reply) {
    assert_eq!(r.status, 429, "{}", r.text);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(
        r.body,
        json!({"detail": format!(
            "Request was throttled. Expected available in {wait} second{}.",
            if wait == 1 { "" } else { "s" }
        )})
    );
}

async fn introspection_client_checks_are_throttled_with_logins(db: Db) {
    // No client configured (the default): refused without a password check.
    let s = TestServer::start(db, "throttle_login_rate = \"3/min\"").await;
    let before = hashes(&s).await;
    for _ in 0..5 {
        assert_eq!(introspect(&s, &basic("gateway", "guess")).await.status, 401);
    }
    assert_eq!(
        hashes(&s).await,
        before,
        "client checks hashed with no client configured"
    );

    // With a client: checks not made before count against the address's login rate, and
    // the logins' count against them — one counter.
    let hash = jwtd::passwords::PasswordHasher::new(1)
        .hash("gateway-secret")
        .await
        .unwrap();
    let clients = format!("[[introspection_clients]]\nclient_id = \"gateway\"\nsecret_hash = \"{hash}\"");
    let s = TestServer::start(db, &format!("throttle_login_rate = \"3/min\"\n{clients}")).await;
    s.user("alice", "pw-alice-1").await;
    for _ in 0..3 {
        assert_eq!(introspect(&s, &basic("gateway", "guess")).await.status, 401);
    }
    let before = hashes(&s).await;
    let r = introspect(&s, &basic("gateway", "guess")).await;
    expect_throttled(&r);
    assert_eq!(hashes(&s).await, before, "a throttled client check hashed");
    expect_throttled(
        &s.post(
            "/api/token/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await,
    );

    let s = TestServer::start(db, &format!("throttle_login_rate = \"2/min\"\n{clients}")).await;
    s.user("alice", "pw-alice-1").await;
    s.login("alice", "pw-alice-1").await;
    // A gateway's checked credentials are remembered: its calls are not throttled.
    assert_eq!(
        introspect(&s, &basic("gateway", "gateway-secret")).await.status,
        200
    );
    for _ in 0..3 {
        assert_eq!(
            introspect(&s, &basic("gateway", "gateway-secret")).await.status,
            200
        );
    }
    expect_throttled(&introspect(&s, &basic("gateway", "guess")).await);
}

async fn instances_share_the_counters(db: Db) {
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let settings = "throttle_login_rate = \"\"\nmax_failed_logins = 3";
    let a = TestServer::start_on(storage.clone(), settings).await;
    let b = TestServer::start_on(storage.clone(), settings).await;
    a.user("alice", "pw-alice-1").await;
    async fn attempt(s: &TestServer, password: &str) -> Reply {
        s.post("/api/token/", json!({"username": "alice", "password": password}))
            .await
    }
    // Failures spread over both instances lock the username after exactly three.
    assert_eq!(attempt(&a, "wrong-1").await.status, 401);
    assert_eq!(attempt(&b, "wrong-2").await.status, 401);
    assert_eq!(
        attempt(&b, "pw-alice-1").await.status,
        200,
        "a success clears the failures"
    );
    assert_eq!(attempt(&a, "wrong-3").await.status, 401);
    assert_eq!(attempt(&b, "wrong-4").await.status, 401);
    assert_eq!(attempt(&a, "wrong-5").await.status, 401);
    expect_throttled(&attempt(&a, "pw-alice-1").await);
    expect_throttled(&attempt(&b, "pw-alice-1").await);

    // The address rate too: four per minute over both instances.
    let settings = "throttle_login_rate = \"4/min\"\nmax_failed_logins = 0";
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let a = TestServer::start_on(storage.clone(), settings).await;
    let b = TestServer::start_on(storage.clone(), settings).await;
    a.user("alice", "pw-alice-1").await;
    for s in [&a, &b, &a, &b] {
        assert_eq!(attempt(s, "pw-alice-1").await.status, 200);
    }
    expect_throttled(&attempt(&a, "pw-alice-1").await);
    expect_throttled(&attempt(&b, "pw-alice-1").await);
}

async fn one_address_cannot_lock_a_user_out_of_another(db: Db) {
    let s = TestServer::start(
        db,
        "throttle_login_rate = \"\"\nmax_failed_logins = 3\ntrusted_proxies = [\"127.0.0.0/8\"]",
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let attacker = "203.0.113.66";
    for i in 0..3 {
        let r = login_from(&s, attacker, "alice", &format!("guess-{i}")).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    // The attacker's address is locked, the right password included…
    expect_throttled(&login_from(&s, attacker, "alice", "pw-alice-1").await);
    // …and alice, from her own address, is not.
    let r = login_from(&s, "198.51.100.7", "alice", "pw-alice-1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Unknown usernames lock the same way: nothing tells which ones exist.
    for i in 0..3 {
        assert_eq!(
            login_from(&s, attacker, "ghost", &format!("guess-{i}"))
                .await
                .status,
            401
        );
    }
    expect_throttled(&login_from(&s, attacker, "ghost", "guess").await);
}

async fn failures_from_many_addresses_meet_a_ceiling(db: Db) {
    let s = TestServer::start(
        db,
        "throttle_login_rate = \"\"\nmax_failed_logins = 2\nmax_failed_logins_per_username = 5\n\
         trusted_proxies = [\"127.0.0.0/8\"]\nlockout_time = \"3s\"",
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    s.user("bob", "pw-bob-1").await;
    for (client, guesses) in [("203.0.113.1", 2), ("203.0.113.2", 2), ("203.0.113.3", 1)] {
        for i in 0..guesses {
            assert_eq!(
                login_from(&s, client, "alice", &format!("guess-{i}"))
                    .await
                    .status,
                401
            );
        }
    }
    // The fifth failure locked alice for every address, for lockout_time; bob is not locked.
    let r = login_from(&s, "198.51.100.7", "alice", "pw-alice-1").await;
    expect_throttled(&r);
    assert_eq!(r.header("retry-after"), Some("3"));
    assert_eq!(
        login_from(&s, "198.51.100.7", "bob", "pw-bob-1").await.status,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(
        login_from(&s, "198.51.100.7", "alice", "pw-alice-1").await.status,
        200
    );
}

async fn expired_counters_are_pruned(db: Db) {
    let s = TestServer::start(
        db,
        "throttle_login_rate = \"100/s\"\nmax_failed_logins = 1\nfailed_login_window = \"1s\"\n\
         lockout_time = \"1s\"",
    )
    .await;
    // The server's periodic flush (`flush_expired_interval`, started by `jwtd serve`).
    let http = s.http.clone();
    let flush = tokio::spawn(async move {
        http.app
            .flush_expired_periodically(std::time::Duration::from_secs(1))
            .await
    });
    let attempt = || s.post("/api/token/", json!({"username": "alice", "password": "x"}));
    assert_eq!(attempt().await.status, 401);
    assert_eq!(attempt().await.status, 429);
    let rows = || async { throttle_rows(&s.storage).await };
    assert!(rows().await > 0);
    // Every row expires within a second; the periodic flush deletes them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rows().await > 0 {
        assert!(std::time::Instant::now() < deadline, "expired counters stayed");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    flush.abort();
}

fn redis_url() -> Option<String> {
    std::env::var("JWTD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Two instances on two databases, sharing one Redis: the counters can only meet there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_counters_are_shared_by_instances() {
    let Some(url) = redis_url() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED throttle::redis_counters_are_shared_by_instances: JWTD_TEST_REDIS_URL is not set, so this Redis test checked nothing"
        );
        return;
    };
    let settings = format!(
        "throttle_url = \"{url}\"\nthrottle_login_rate = \"4/min\"\nmax_failed_logins = 3\n\
         max_failed_logins_per_username = 5\ntrusted_proxies = [\"127.0.0.0/8\"]"
    );
    let a = TestServer::start(Db::Sqlite, &settings).await;
    let b = TestServer::start(Db::Sqlite, &settings).await;
    // Redis outlives the test: names and addresses of this run only.
    let run = uuid::Uuid::new_v4();
    let name = format!("alice-{}", run.simple());
    let [x, y, ..] = *run.as_bytes();
    let client = |n: u8| format!("10.{x}.{y}.{n}");
    a.user(&name, "pw-alice-1").await;
    b.user(&name, "pw-alice-1").await;
    // Failures from one address, spread over both instances, lock after exactly three.
    assert_eq!(login_from(&a, &client(1), &name, "wrong-1").await.status, 401);
    assert_eq!(login_from(&b, &client(1), &name, "wrong-2").await.status, 401);
    assert_eq!(login_from(&a, &client(1), &name, "wrong-3").await.status, 401);
    expect_throttled(&login_from(&b, &client(1), &name, "pw-alice-1").await);
    // Another address may still log in; two more failures from elsewhere reach the ceiling.
    assert_eq!(login_from(&b, &client(2), &name, "pw-alice-1").await.status, 200);
    assert_eq!(login_from(&a, &client(3), &name, "wrong-4").await.status, 401);
    assert_eq!(login_from(&b, &client(3), &name, "wrong-5").await.status, 401);
    expect_throttled(&login_from(&a, &client(4), &name, "pw-alice-1").await);
    // The address rate: four per minute over both instances (client 1 used four already).
    let nobody = |k: u8| format!("nobody-{}-{k}", run.simple());
    expect_throttled(&login_from(&a, &client(1), &nobody(0), "x").await);
    for (s, k) in [(&a, 1), (&b, 2), (&a, 3), (&b, 4)] {
        assert_eq!(login_from(s, &client(5), &nobody(k), "x").await.status, 401);
    }
    expect_throttled(&login_from(&b, &client(5), &nobody(5), "x").await);
}

/// With Redis unreachable, logins get the database's 503 — never a login unguarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503() {
    let s = TestServer::start(
        Db::Sqlite,
        "throttle_url = \"redis://127.0.0.1:1/\"\ndatabase_timeout = \"1s\"",
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let started = std::time::Instant::now();
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

async fn throttle_rows(storage: &Storage) -> i64 {
    const SQL: &str = "SELECT count(*) FROM login_throttle";
    match &storage.pg {
        Some(pg) => {
            let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
            let n = sqlx::query_scalar(SQL).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        None => {
            let pool = sqlx::SqlitePool::connect(&storage.database_url()).await.unwrap();
            let n = sqlx::query_scalar(SQL).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

/// What the guards add to a login (the address rate, the lock check; a success after no
/// failure writes nothing more), measured on the database directly:
/// `cargo test --test integration bookkeeping_cost -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bookkeeping_cost() {
    let mut dbs = vec![Db::Sqlite];
    if postgres_url().is_some() {
        dbs.push(Db::Postgres);
    }
    for db in dbs {
        let s = TestServer::start(db, "throttle_login_rate = \"1000000/min\"").await;
        let throttle = &s.http.throttle;
        let store = &s.state().store;
        let mut times = Vec::new();
        for i in 0..2000u32 {
            let ip: std::net::IpAddr = std::net::Ipv4Addr::from(0x0a00_0000 + i % 50).into();
            let started = std::time::Instant::now();
            throttle.check_address(store, ip).await.unwrap();
            let attempt = throttle
                .check_login(store, &format!("user{i}"), Some(ip))
                .await
                .unwrap();
            throttle.record_success(store, attempt.as_ref().unwrap()).await;
            times.push(started.elapsed());
        }
        times.sort();
        let at = |q: f64| times[(times.len() as f64 * q) as usize].as_micros();
        println!(
            "{db:?}: login bookkeeping p50 {} µs, p90 {} µs, p99 {} µs",
            at(0.5),
            at(0.9),
            at(0.99)
        );
    }
}
