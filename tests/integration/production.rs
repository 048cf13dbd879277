//! Running in production: health and readiness, metrics, log redaction, CORS, throttling,
//! limits, database faults and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_databases;
use crate::common::*;

both_databases!(health_readiness_and_metrics, throttling_answers_as_drf);

async fn health_readiness_and_metrics(db: Db) {
    let s = TestServer::start(
        db,
        "rotate_refresh_tokens = true\nblacklist_after_rotation = true",
    )
    .await;
    s.get("/healthz", None).await.expect(200, json!({"status": "ok"}));
    let kind = if db == Db::Sqlite { "sqlite" } else { "postgres" };
    s.get("/readyz", None)
        .await
        .expect(200, json!({"status": "ready", "database": kind}));
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    assert_eq!(
        s.post("/api/token/", json!({"username": "alice", "password": "nope"}))
            .await
            .status,
        401
    );
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        401
    );
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": "garbage"}))
            .await
            .status,
        401
    );
    assert_eq!(s.me(&access).await.status, 200);
    let r = s.get("/metrics", None).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let m = r.text;
    for line in [
        r#"jwtd_http_requests_total{route="/api/token/",method="POST",status="200"} 1"#,
        r#"jwtd_http_requests_total{route="/api/token/",method="POST",status="401"} 1"#,
        r#"jwtd_http_requests_total{route="/api/token/refresh/",method="POST",status="401"} 1"#,
        r#"jwtd_http_requests_total{route="/api/me/",method="GET",status="200"} 1"#,
        r#"jwtd_tokens_issued_total{type="access"} 2"#,
        r#"jwtd_tokens_issued_total{type="refresh"} 2"#,
        r#"jwtd_token_failures_total{route="/api/token/",code="no_active_account",reason="credentials"} 1"#,
        r#"jwtd_token_failures_total{route="/api/token/refresh/",code="token_not_valid",reason="blacklisted"} 1"#,
        r#"jwtd_token_failures_total{route="/api/token/verify/",code="token_not_valid",reason="invalid"} 1"#,
        "jwtd_blacklist_hits_total 1",
        r#"jwtd_http_request_duration_seconds_count{route="/api/token/"} 2"#,
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line:?} in\n{m}");
    }
    let hashes: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("jwtd_password_hash_duration_seconds_count "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(hashes >= 2, "two logins hashed: {hashes}");
    for prefix in [
        "jwtd_db_pool_connections{state=\"max\"}",
        "jwtd_process_resident_memory_bytes",
    ] {
        assert!(
            m.lines().any(|l| l.starts_with(prefix)),
            "missing {prefix} in\n{m}"
        );
    }
    // Every answer carries a request id: the client's, or one made up.
    let r = Reply::from(
        s.client
            .get(s.url("/healthz"))
            .header("x-request-id", "req-42")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("x-request-id"), Some("req-42"));
    assert_eq!(
        s.get("/healthz", None).await.header("x-request-id").map(str::len),
        Some(32)
    );
    // Switched off, /metrics is not there.
    let off = TestServer::start_on(s.storage.clone(), "metrics = false").await;
    assert_eq!(off.get("/metrics", None).await.status, 404);
}

async fn throttling_answers_as_drf(db: Db) {
    let s = TestServer::start(db, "throttle_login_rate = \"3/s\"\nmax_failed_logins = 0").await;
    s.user("alice", "pw-alice-1").await;
    let login = || {
        s.post(
            "/api/token/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
    };
    // The rate counts every request, as DRF's throttles run before the view: three quick
    // refusals use it up.
    for _ in 0..3 {
        assert_eq!(s.post("/api/token/", json!({})).await.status, 400);
    }
    let r = login().await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(
        r.body["detail"],
        "Request was throttled. Expected available in 1 second."
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    // Refused requests do not count; after the window, logins pass again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(login().await.status, 200);
    // Only the login endpoints are throttled.
    for _ in 0..5 {
        assert_eq!(
            s.post("/api/token/verify/", json!({"token": "x"})).await.status,
            401
        );
    }

    // The per-username lock: after two failures, even the right password waits.
    let locking = TestServer::start_on(
        s.storage.clone(),
        "throttle_login_rate = \"\"\nmax_failed_logins = 2\nfailed_login_window = \"1m\"\nlockout_time = \"2s\"",
    )
    .await;
    let attempt = |password: &'static str| {
        locking.post("/api/token/", json!({"username": "alice", "password": password}))
    };
    assert_eq!(attempt("wrong").await.status, 401);
    assert_eq!(attempt("wrong").await.status, 401);
    let r = attempt("pw-alice-1").await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.body["detail"],
        "Request was throttled. Expected available in 2 seconds."
    );
    assert_eq!(r.header("retry-after"), Some("2"));
    // Unknown usernames lock the same way: nothing tells which ones exist.
    let ghost = |password: &'static str| {
        locking.post("/api/token/", json!({"username": "ghost", "password": password}))
    };
    assert_eq!(ghost("a").await.status, 401);
    assert_eq!(ghost("b").await.status, 401);
    assert_eq!(ghost("c").await.status, 429);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(attempt("pw-alice-1").await.status, 200);

    // X-Forwarded-For counts only from a trusted proxy.
    let behind = TestServer::start_on(
        s.storage.clone(),
        "throttle_login_rate = \"1/min\"\nmax_failed_logins = 0\ntrusted_proxies = [\"127.0.0.0/8\"]",
    )
    .await;
    // On a database of its own: instances on one database share their counters, and the
    // first server's logins from 127.0.0.1 would count here.
    let direct = TestServer::start(db, "throttle_login_rate = \"1/min\"\nmax_failed_logins = 0").await;
    direct.user("alice", "pw-alice-1").await;
    let from = |server: &TestServer, client: &'static str| {
        let req = server
            .client
            .post(server.url("/api/token/"))
            .header("x-forwarded-for", format!("198.51.100.7, {client}"))
            .json(&json!({"username": "alice", "password": "pw-alice-1"}));
        async move { Reply::from(req.send().await.unwrap()).await.status }
    };
    assert_eq!(from(&behind, "203.0.113.1").await, 200);
    assert_eq!(
        from(&behind, "203.0.113.2").await,
        200,
        "another client behind the proxy"
    );
    assert_eq!(from(&behind, "203.0.113.1").await, 429);
    assert_eq!(from(&direct, "203.0.113.1").await, 200);
    assert_eq!(
        from(&direct, "203.0.113.2").await,
        429,
        "untrusted: the peer address counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_for_browser_frontends() {
    let s = TestServer::start(
        Db::Sqlite,
        "cors_allowed_origins = [\"https://app.example.com\"]\ncors_allow_credentials = true\ncors_max_age = \"10m\"",
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let preflight = Reply::from(
        s.client
            .request(reqwest::Method::OPTIONS, s.url("/api/token/"))
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, authorization")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(preflight.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(preflight.header("access-control-max-age"), Some("600"));
    let methods = preflight
        .header("access-control-allow-methods")
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let headers = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    let simple = Reply::from(
        s.client
            .post(s.url("/api/token/"))
            .header("origin", "https://app.example.com")
            .json(&json!({"username": "alice", "password": "pw-alice-1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(simple.status, 200);
    assert_eq!(
        simple.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    // Another origin gets no grant.
    let other = Reply::from(
        s.client
            .request(reqwest::Method::OPTIONS, s.url("/api/token/"))
            .header("origin", "https://evil.example.com")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(
        other.header("access-control-allow-origin"),
        Some("https://evil.example.com")
    );
    // Without cors_allowed_origins there are no CORS headers at all, and OPTIONS is DRF's.
    let plain = TestServer::start_on(s.storage.clone(), "").await;
    let r = Reply::from(
        plain
            .client
            .request(reqwest::Method::OPTIONS, plain.url("/api/token/"))
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(r.body["name"], "Token Obtain Pair");
}

/// Pages read `WWW-Authenticate` and `Retry-After` only when CORS exposes them; an origin
/// written with a path or a trailing slash would never match what browsers send, so it
/// stops start-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_exposes_auth_headers_and_refuses_origins_that_never_match() {
    let app = "https://app.example.com";
    let s = TestServer::start(
        Db::Sqlite,
        &format!("cors_allowed_origins = [\"{app}\"]\nthrottle_login_rate = \"1/min\""),
    )
    .await;
    let from_app = |path: &str, body: serde_json::Value| {
        let req = s.client.post(s.url(path)).header("origin", app).json(&body);
        async move { Reply::from(req.send().await.unwrap()).await }
    };
    let exposed = |r: &Reply| {
        r.header("access-control-expose-headers")
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let r = from_app("/api/token/verify/", json!({"token": "garbage"})).await;
    assert_eq!(r.status, 401);
    assert!(exposed(&r).contains("www-authenticate"), "{:?}", r.headers);
    assert!(exposed(&r).contains("x-request-id"), "{:?}", r.headers);
    from_app("/api/token/", json!({})).await;
    let r = from_app("/api/token/", json!({})).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(exposed(&r).contains("retry-after"), "{:?}", r.headers);

    let dir = TempDir::new();
    for (origin, fixed) in [
        ("http://app.example/", "http://app.example"),
        ("https://app.example.com/spa", "https://app.example.com"),
        ("https://app.example.com:8443/", "https://app.example.com:8443"),
    ] {
        let o = tokio::process::Command::new(BIN)
            .current_dir(dir.path())
            .env_clear()
            .env("JWTD__CORS_ALLOWED_ORIGINS", origin)
            .arg("migrate")
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{origin}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("cors_allowed_origins"), "{err}");
        assert!(err.contains(&format!("\"{fixed}\"")), "{origin}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_on_bodies_tokens_and_slow_clients() {
    let s = TestServer::start(Db::Sqlite, "max_body_size = 2048\nclient_timeout = \"1s\"").await;
    let big = json!({"token": "x".repeat(4000)});
    let r = s.post("/api/token/verify/", big.clone()).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.body["detail"], "Request body exceeds 2048 bytes.");
    // Without a Content-Length (chunked), the limit holds as well.
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big.to_string().into_bytes())]);
    let r = Reply::from(
        s.client
            .post(s.url("/api/token/verify/"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 413);
    // A token over max_token_length is refused as invalid, before any crypto.
    let s2 = TestServer::start_on(s.storage.clone(), "max_token_length = 300").await;
    s2.user("alice", "pw-alice-1").await;
    let (_, access) = s2.login("alice", "pw-alice-1").await;
    assert!(access.len() < 300);
    let long = forge(
        &with(sj_claims("access", "1"), json!({"padding": "p".repeat(400)})),
        KEY,
    );
    s2.post("/api/token/verify/", json!({"token": long}))
        .await
        .expect_401(invalid("Token is invalid"));
    s2.me(&long)
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    assert_eq!(s2.me(&access).await.status, 200);
    // A client that stops sending its body is cut off.
    let addr: SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"POST /api/token/verify/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"tok")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "cut off in time");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

/// Logs of a full obtain/refresh/verify/me/blacklist run, at debug level, text and JSON,
/// hold no token, password, key or authorization header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_hold_secrets() {
    for format in ["text", "json"] {
        let dir = TempDir::new();
        let password = "correct-horse-battery-staple";
        let o = tokio::process::Command::new(BIN)
            .current_dir(dir.path())
            .env_clear()
            .env("JWTD__SIGNING_KEY", KEY)
            .args(["user", "create", "alice", "--password", password])
            .output()
            .await
            .unwrap();
        assert!(o.status.success());
        let (addr, mut child, log) = start_binary_logged(
            dir.path(),
            &[
                ("JWTD__SIGNING_KEY", KEY),
                ("RUST_LOG", "debug"),
                ("JWTD__LOG_FORMAT", format),
                ("JWTD__ROTATE_REFRESH_TOKENS", "true"),
            ],
        )
        .await;
        let client = reqwest::Client::new();
        let url = |p: &str| format!("http://{addr}{p}");
        let pair: serde_json::Value = client
            .post(url("/api/token/"))
            .json(&json!({"username": "alice", "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (refresh, access) = (
            pair["refresh"].as_str().unwrap().to_string(),
            pair["access"].as_str().unwrap().to_string(),
        );
        let rotated: serde_json::Value = client
            .post(url("/api/token/refresh/"))
            .json(&json!({"refresh": refresh}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        client
            .post(url("/api/token/verify/"))
            .json(&json!({"token": access}))
            .send()
            .await
            .unwrap();
        client
            .get(url("/api/me/"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        client
            .get(url("/api/me/"))
            .header("authorization", "Bearer not-a-token-but-secret-looking")
            .send()
            .await
            .unwrap();
        client
            .post(url("/api/token/blacklist/"))
            .json(&json!({"refresh": rotated["refresh"]}))
            .send()
            .await
            .unwrap();
        client
            .post(url("/api/token/"))
            .form(&[("username", "alice"), ("password", "a-wrong-secret-pass")])
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        child.kill().await.unwrap();
        let log = log.lock().unwrap().clone();
        assert!(
            log.contains("/api/token/refresh/"),
            "the requests were logged:\n{log}"
        );
        let new_refresh = rotated["refresh"].as_str().unwrap();
        let secrets = [
            password,
            "a-wrong-secret-pass",
            KEY,
            &access,
            &refresh,
            new_refresh,
            access.rsplit('.').next().unwrap(),
            refresh.rsplit('.').next().unwrap(),
            access.split('.').nth(1).unwrap(),
            "not-a-token-but-secret-looking",
            "Bearer",
        ];
        for secret in secrets {
            assert!(!log.contains(secret), "{format} log holds {secret:?}:\n{log}");
        }
    }
}

/// A stand-in for the network path to Postgres that can be cut and restored.
struct Link {
    listen: SocketAddr,
    target: SocketAddr,
    up: Arc<AtomicBool>,
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Link {
    async fn new(target: SocketAddr) -> Arc<Link> {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = probe.local_addr().unwrap();
        drop(probe);
        let link = Arc::new(Link {
            listen,
            target,
            up: Arc::new(AtomicBool::new(false)),
            tasks: Default::default(),
        });
        link.clone().restore().await;
        link
    }

    /// Listens again and forwards connections.
    async fn restore(self: Arc<Link>) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.listen).unwrap();
        let listener = socket.listen(128).unwrap();
        self.up.store(true, Ordering::SeqCst);
        let link = self.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = link.target;
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                link.tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Stops listening and drops every connection: the database is gone.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Postgres goes away under load and comes back: no 500s, no request hangs, endpoints that
/// need no database keep answering, readiness says 503, recovery without a restart, and
/// every refresh token handed out is recorded exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_database_restart() {
    let Some(admin) = postgres_url() else {
        skipped("production::survives_a_database_restart");
        return;
    };
    let storage = Arc::new(Storage::new(Db::Postgres).await);
    let pg_url = storage.pg.as_ref().unwrap().url.clone();
    let target: SocketAddr = tokio::net::lookup_host(host_port(&admin))
        .await
        .unwrap()
        .next()
        .unwrap();
    let link = Link::new(target).await;
    let via_link = pg_url.replacen(&host_port(&admin), &link.listen.to_string(), 1);
    // Rotation records every refresh; without blacklist_after_rotation, verify needs no
    // database and must keep answering.
    let extra = "database_timeout = \"2s\"\nthrottle_login_rate = \"\"\nmax_failed_logins = 0\nrotate_refresh_tokens = true";
    let s = Arc::new(TestServer::start_on_url(storage.clone(), &via_link, extra).await);
    s.user("alice", "pw-alice-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;

    let stop = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let statuses = Arc::new(std::sync::Mutex::new(Vec::<(u16, Duration)>::new()));
    let mut load = Vec::new();
    for worker in 0..4 {
        let (s, stop, issued, statuses, access) = (
            s.clone(),
            stop.clone(),
            issued.clone(),
            statuses.clone(),
            access.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut refresh: Option<String> = None;
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let r = match (worker, &refresh) {
                    (0, _) => s.post("/api/token/verify/", json!({"token": access})).await,
                    (_, Some(t)) => s.post("/api/token/refresh/", json!({"refresh": t})).await,
                    (_, None) => {
                        s.post(
                            "/api/token/",
                            json!({"username": "alice", "password": "pw-alice-1"}),
                        )
                        .await
                    }
                };
                statuses.lock().unwrap().push((r.status, started.elapsed()));
                if r.status == 200 && worker > 0 {
                    let t = r.str("refresh");
                    issued.lock().unwrap().push(t.clone());
                    refresh = Some(t);
                } else if r.status != 200 {
                    refresh = None;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    link.cut();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = s.get("/readyz", None).await;
    assert_eq!(during.status, 503, "{}", during.text);
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(
        r.body["detail"],
        "Service temporarily unavailable, try again later."
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    s.post("/api/token/verify/", json!({"token": access}))
        .await
        .expect(200, json!({}));
    assert_eq!(s.get("/.well-known/jwks.json", None).await.status, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    link.clone().restore().await;
    let restored = Instant::now();
    loop {
        if s.get("/readyz", None).await.status == 200
            && s.post(
                "/api/token/",
                json!({"username": "alice", "password": "pw-alice-1"}),
            )
            .await
            .status
                == 200
        {
            break;
        }
        assert!(
            restored.elapsed() < Duration::from_secs(10),
            "jwtd did not recover within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    let statuses = statuses.lock().unwrap().clone();
    assert!(
        statuses
            .iter()
            .all(|(status, _)| [200, 401, 503].contains(status)),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|(status, _)| *status == 503),
        "the outage was seen"
    );
    assert!(
        statuses.iter().all(|(_, took)| *took < Duration::from_secs(5)),
        "no request hung"
    );
    // Every refresh token handed out is recorded, once.
    let rows = storage.outstanding().await;
    let issued = issued.lock().unwrap().clone();
    for token in &issued {
        let n = rows.iter().filter(|r| r.jti == jti(token)).count();
        assert_eq!(n, 1, "refresh token {} recorded {n} times", jti(token));
    }
}

fn host_port(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    }
}

/// SIGTERM: no new connections, the request in flight finishes, exit status 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_cleanly() {
    let dir = TempDir::new();
    let (addr, mut child, log) = start_binary_logged(dir.path(), &[("JWTD__SIGNING_KEY", KEY)]).await;
    let addr: SocketAddr = addr.parse().unwrap();
    // A request in flight: the head and half the body sent.
    let body = br#"{"token":"a.b.c"}"#;
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(
        format!("POST /api/token/verify/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len())
            .as_bytes(),
    )
    .await
    .unwrap();
    conn.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = child.id().unwrap() as i32;
    assert_eq!(unsafe_kill(pid), 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // New connections are refused while the old one is served.
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after SIGTERM"
    );
    conn.write_all(&body[5..]).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the request in flight was answered: {answer}"
    );
    drop(conn);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{}", log.lock().unwrap());
    // The log is read by another task: give it the last lines.
    for _ in 0..30 {
        if log.lock().unwrap().contains("jwtd stopped") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        log.lock().unwrap().contains("jwtd stopped"),
        "{}",
        log.lock().unwrap()
    );
}

/// SIGTERM by way of the `kill` command (the test avoids a libc dependency).
fn unsafe_kill(pid: i32) -> i32 {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .code()
        .unwrap_or(-1)
}

/// Every path of the schema, with and without its slash, is a route of its own: it answers
/// with its `Allow` header and is counted under its own label, never as `unmatched`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_has_its_label_and_allow_header() {
    let s = TestServer::start(Db::Sqlite, "drf_jwt_endpoints = true\nimpersonation = \"staff\"").await;
    let schema = s.get("/api/schema/", None).await;
    let mut paths: Vec<String> = schema.body["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(paths.len() >= 19, "{paths:?}");
    let mut forms: Vec<String> = paths
        .iter()
        .flat_map(|p| [p.clone(), p.trim_end_matches('/').to_string()])
        .collect();
    forms.dedup();
    // Not in the schema, and at one path only: the schema itself, the metrics and the
    // discovery document's alias.
    let others = [
        "/api/schema/",
        "/metrics",
        "/.well-known/oauth-authorization-server",
    ];
    paths.extend(others.map(String::from));
    forms.extend(others.map(String::from));
    for form in &forms {
        let r = Reply::from(s.client.put(s.url(form)).send().await.unwrap()).await;
        assert!(r.status == 405 || r.status == 401, "{form}: {}", r.status);
        let allow = r.header("allow").unwrap_or_else(|| panic!("{form} has no Allow"));
        assert!(allow.contains("POST") || allow.contains("GET"), "{form}: {allow}");
    }
    assert_eq!(s.get("/api/nowhere/", None).await.header("allow"), None);
    let metrics = s.get("/metrics", None).await.text;
    for path in &paths {
        assert!(
            metrics.contains(&format!("route=\"{path}\",method=\"PUT\"")),
            "{path}"
        );
    }
    let unmatched: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("jwtd_http_requests_total{route=\"unmatched\""))
        .collect();
    assert_eq!(
        unmatched,
        ["jwtd_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"]
    );
}
