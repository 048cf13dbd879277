//! Sessions and the audit trail (issue 19): every login kind records a session, tokens carry
//! its `sid`, the user lists and revokes their own sessions, and security events are
//! written where they happen.

use serde_json::{Value, json};

use crate::both_databases;
use crate::common::*;

const ROTATE: &str = "rotate_refresh_tokens = true\nblacklist_after_rotation = true";
const AGENT: &str = "jwtd-tests/1.0 (sessions)";

both_databases!(
    every_login_kind_is_a_session_with_its_metadata,
    without_session_metadata_nothing_about_the_client_is_kept,
    tokens_carry_the_session_id_and_stay_simple_jwt_tokens,
    a_revoked_session_stops_its_refresh_and_access_tokens,
    revoke_others_keeps_the_current_session,
    another_users_session_is_not_found,
    events_are_listed_newest_first,
    refreshes_within_a_minute_touch_the_session_at_most_once,
    a_failed_login_and_a_lock_are_recorded,
    cli_lists_and_revokes_sessions_and_shows_events,
    a_logout_ends_the_session,
    sessions_are_paged_most_recently_used_first,
);

/// The user's sessions, as `access` sees them.
async fn sessions(s: &TestServer, access: &str) -> Reply {
    s.get("/api/me/sessions/", Some(&format!("Bearer {access}")))
        .await
}

async fn delete(s: &TestServer, path: &str, access: &str) -> Reply {
    let r = s
        .client
        .delete(s.url(path))
        .header("authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    Reply::from(r).await
}

async fn post_as(s: &TestServer, path: &str, access: &str) -> Reply {
    let r = s
        .client
        .post(s.url(path))
        .header("authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    Reply::from(r).await
}

async fn login_as(s: &TestServer, path: &str, body: Value) -> Reply {
    let r = s
        .client
        .post(s.url(path))
        .header("user-agent", AGENT)
        .json(&body)
        .send()
        .await
        .unwrap();
    Reply::from(r).await
}

fn alice() -> Value {
    json!({"username": "alice", "password": "pw-alice-1"})
}

async fn every_login_kind_is_a_session_with_its_metadata(db: Db) {
    let s = TestServer::start(db, "drf_jwt_endpoints = true").await;
    s.user("alice", "pw-alice-1").await;
    let pair = login_as(&s, "/api/token/", alice()).await;
    assert_eq!(pair.status, 200, "{}", pair.text);
    let sliding = login_as(&s, "/api/token/sliding/", alice()).await;
    assert_eq!(sliding.status, 200, "{}", sliding.text);
    let drf = login_as(&s, "/api-token-auth/", alice()).await;
    assert_eq!(drf.status, 201, "{}", drf.text);

    let r = sessions(&s, &pair.str("access")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["count"], 3);
    assert_eq!(r.body["next"], Value::Null);
    assert_eq!(r.body["previous"], Value::Null);
    let results = r.body["results"].as_array().unwrap();
    let mut ids: Vec<&str> = results.iter().map(|x| x["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![
        claims(&pair.str("refresh"))["jti"].as_str().unwrap().to_string(),
        claims(&sliding.str("token"))["jti"].as_str().unwrap().to_string(),
        claims(&drf.str("token"))["jti"].as_str().unwrap().to_string(),
    ];
    expected.sort();
    assert_eq!(ids, expected);
    for x in results {
        assert_eq!(x["user_agent"], AGENT, "{x}");
        assert_eq!(x["ip_address"], "127.0.0.1", "{x}");
        for key in ["created", "last_used", "expires"] {
            assert!(x[key].as_str().unwrap().ends_with('Z'), "{x}");
        }
        let current = x["id"] == claims(&pair.str("refresh"))["jti"];
        assert_eq!(x["current"], current, "{x}");
    }
}

async fn without_session_metadata_nothing_about_the_client_is_kept(db: Db) {
    let s = TestServer::start(db, "session_metadata = false").await;
    s.user("alice", "pw-alice-1").await;
    let pair = login_as(&s, "/api/token/", alice()).await;
    let r = sessions(&s, &pair.str("access")).await;
    assert_eq!(r.body["count"], 1, "{}", r.text);
    let x = &r.body["results"][0];
    assert_eq!((&x["user_agent"], &x["ip_address"]), (&Value::Null, &Value::Null));
    assert_eq!(x["current"], true);
    let events = s
        .get("/api/me/events/", Some(&format!("Bearer {}", pair.str("access"))))
        .await;
    let e = &events.body["results"][0];
    assert_eq!(e["type"], "login_succeeded", "{}", events.text);
    assert_eq!((&e["user_agent"], &e["ip_address"]), (&Value::Null, &Value::Null));
}

async fn tokens_carry_the_session_id_and_stay_simple_jwt_tokens(db: Db) {
    let s = TestServer::start(db, ROTATE).await;
    let user = s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let sid = claims(&refresh)["jti"].clone();
    assert_eq!(claims(&refresh)["sid"], sid);
    assert_eq!(claims(&access)["sid"], sid);
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(claims(&r.str("refresh"))["sid"], sid);
    assert_eq!(claims(&r.str("access"))["sid"], sid);
    // Stateless verifiers ignore claims they do not know: verify and /api/me/ accept it.
    s.post("/api/token/verify/", json!({"token": r.str("access")}))
        .await
        .expect(200, json!({}));
    assert_eq!(s.me(&r.str("access")).await.body["id"], user.id);
    // A token issued before sessions (no sid) is current nowhere.
    let old = forge(&sj_claims("access", &user.id.to_string()), KEY);
    let listed = sessions(&s, &old).await;
    assert_eq!(listed.body["count"], 1, "{}", listed.text);
    assert_eq!(listed.body["results"][0]["current"], false);
}

async fn a_revoked_session_stops_its_refresh_and_access_tokens(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh_a, access_a) = s.login("alice", "pw-alice-1").await;
    let (refresh_b, access_b) = s.login("alice", "pw-alice-1").await;
    // B's access token works (and its "not blacklisted" answer is cached).
    assert_eq!(s.me(&access_b).await.status, 200);
    let b = claims(&refresh_b)["jti"].as_str().unwrap().to_string();
    let one = s
        .get(
            &format!("/api/me/sessions/{b}/"),
            Some(&format!("Bearer {access_a}")),
        )
        .await;
    assert_eq!(
        (one.status, &one.body["id"], &one.body["current"]),
        (200, &json!(b), &json!(false))
    );
    let r = delete(&s, &format!("/api/me/sessions/{b}/"), &access_a).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    s.post("/api/token/refresh/", json!({"refresh": refresh_b}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    s.me(&access_b)
        .await
        .expect_401(not_valid_for_any("Token is blacklisted"));
    // A is untouched; B is gone from the list, and a second revocation finds nothing.
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh_a}))
            .await
            .status,
        200
    );
    let listed = sessions(&s, &access_a).await;
    assert_eq!(listed.body["count"], 1);
    delete(&s, &format!("/api/me/sessions/{b}/"), &access_a)
        .await
        .expect(404, json!({"detail": "Not found."}));
    s.get(
        &format!("/api/me/sessions/{b}/"),
        Some(&format!("Bearer {access_a}")),
    )
    .await
    .expect(404, json!({"detail": "Not found."}));
    let events = s
        .get("/api/me/events/", Some(&format!("Bearer {access_a}")))
        .await;
    assert_eq!(events.body["results"][0]["type"], "session_revoked");
    assert_eq!(events.body["results"][0]["session"], b.as_str());
}

async fn revoke_others_keeps_the_current_session(db: Db) {
    let s = TestServer::start(db, ROTATE).await;
    s.user("alice", "pw-alice-1").await;
    let (refresh_a, access_a) = s.login("alice", "pw-alice-1").await;
    let (refresh_b, _) = s.login("alice", "pw-alice-1").await;
    let (refresh_c, _) = s.login("alice", "pw-alice-1").await;
    post_as(&s, "/api/me/sessions/revoke-others/", &access_a)
        .await
        .expect(200, json!({"revoked": 2}));
    let listed = sessions(&s, &access_a).await;
    assert_eq!(listed.body["count"], 1);
    assert_eq!(listed.body["results"][0]["current"], true);
    for refresh in [refresh_b, refresh_c] {
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .expect_401(invalid("Token is blacklisted"));
    }
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh_a}))
            .await
            .status,
        200
    );
}

async fn another_users_session_is_not_found(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    s.user("bob", "pw-bob-1").await;
    let (_, access_a) = s.login("alice", "pw-alice-1").await;
    let (refresh_b, access_b) = s.login("bob", "pw-bob-1").await;
    let b = claims(&refresh_b)["jti"].as_str().unwrap().to_string();
    for id in [b.as_str(), "no-such-session"] {
        delete(&s, &format!("/api/me/sessions/{id}/"), &access_a)
            .await
            .expect(404, json!({"detail": "Not found."}));
    }
    // Bob's session is intact, and Alice sees only her own.
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh_b}))
            .await
            .status,
        200
    );
    assert_eq!(sessions(&s, &access_b).await.body["count"], 1);
    assert_eq!(sessions(&s, &access_a).await.body["count"], 1);
    // Anonymous: DRF's 401.
    assert_eq!(s.get("/api/me/sessions/", None).await.status, 401);
    assert_eq!(s.get("/api/me/events/", None).await.status, 401);
}

async fn events_are_listed_newest_first(db: Db) {
    let s = TestServer::start(db, "audit_token_refreshed = true").await;
    let user = s.user("alice", "pw-alice-1").await;
    let failed = login_as(
        &s,
        "/api/token/",
        json!({"username": "alice", "password": "wrong"}),
    )
    .await;
    assert_eq!(failed.status, 401);
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    // The logout ends that session and its access tokens: the list is read with a token of
    // no session, which records no event.
    let access = forge(&sj_claims("access", &user.id.to_string()), KEY);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
    s.post("/api/token/logout/", json!({"refresh": refresh}))
        .await
        .expect(200, json!({}));
    let r = s.get("/api/me/events/", Some(&format!("Bearer {access}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let types: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["logout", "token_refreshed", "login_succeeded", "login_failed"]
    );
    assert_eq!(r.body["count"], 4);
    let sid = claims(&refresh)["jti"].clone();
    for e in r.body["results"].as_array().unwrap() {
        assert_eq!(e["user"], user.id, "{e}");
        assert_eq!(e["actor"], Value::Null, "{e}");
        if e["type"] != "login_failed" {
            assert_eq!(e["session"], sid, "{e}");
        }
    }
    assert_eq!(r.body["results"][3]["username"], "alice");
    assert_eq!(r.body["results"][3]["user_agent"], AGENT);
    // Pages as DRF's: size 2, then the second page, then one past the last.
    let page = s
        .get("/api/me/events/?page_size=2", Some(&format!("Bearer {access}")))
        .await;
    assert_eq!(page.body["results"].as_array().unwrap().len(), 2);
    assert!(
        page.body["next"]
            .as_str()
            .unwrap()
            .ends_with("/api/me/events/?page=2&page_size=2")
    );
    let second = s
        .get(
            "/api/me/events/?page=2&page_size=2",
            Some(&format!("Bearer {access}")),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["results"][0], r.body["results"][2], "{}", second.text);
    assert_eq!(second.body["results"][1], r.body["results"][3], "{}", second.text);
    s.get("/api/me/events/?page=9", Some(&format!("Bearer {access}")))
        .await
        .expect(404, json!({"detail": "Invalid page."}));
    // Counted in the metrics by type.
    let metrics = s.get("/metrics", None).await.text;
    for t in ["login_failed", "login_succeeded", "token_refreshed", "logout"] {
        assert!(
            metrics.contains(&format!("jwtd_audit_events_total{{type=\"{t}\"}} 1")),
            "{t}: {metrics}"
        );
    }
}

/// `jwtd_db_queries_total` from /metrics.
async fn queries(s: &TestServer) -> u64 {
    let text = s.get("/metrics", None).await.text;
    text.lines()
        .find_map(|l| l.strip_prefix("jwtd_db_queries_total "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn refreshes_within_a_minute_touch_the_session_at_most_once(db: Db) {
    const N: u64 = 10;
    let s = TestServer::start(db, "database_cache_ttl = 0").await;
    let user = s.user("alice", "pw-alice-1").await;
    let refresh_all = async |token: &str| {
        let before = queries(&s).await;
        for _ in 0..N {
            let r = s.post("/api/token/refresh/", json!({"refresh": token})).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        queries(&s).await - before
    };
    // What a refresh costs without a session: a token from before sessions.
    let old = forge(&sj_claims("refresh", &user.id.to_string()), KEY);
    let without = refresh_all(&old).await;
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    let with = refresh_all(&refresh).await;
    assert!(
        with <= without + 1,
        "{N} refreshes: {with} statements with a session, {without} without"
    );
}

async fn a_failed_login_and_a_lock_are_recorded(db: Db) {
    let s = TestServer::start(db, "max_failed_logins = 2").await;
    let user = s.user("alice", "pw-alice-1").await;
    let long = "x".repeat(200);
    for name in ["alice", "alice", long.as_str()] {
        let r = login_as(&s, "/api/token/", json!({"username": name, "password": "wrong"})).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let store = &s.state().store;
    let page = jwtd::store::Page { offset: 0, limit: 10 };
    let (events, _) = store
        .events(&jwtd::store::EventFilter::default(), page)
        .await
        .unwrap();
    let seen: Vec<(&str, Option<&str>, Option<i64>)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.username.as_deref(), e.user_id))
        .collect();
    let cut = "x".repeat(150);
    assert_eq!(
        seen,
        [
            ("login_failed", Some(cut.as_str()), None),
            ("locked_out", Some("alice"), None),
            ("login_failed", Some("alice"), Some(user.id)),
            ("login_failed", Some("alice"), Some(user.id)),
        ]
    );
}

async fn cli_lists_and_revokes_sessions_and_shows_events(db: Db) {
    use crate::cli::{db_env, jwtd, text};
    let s = TestServer::start(db, "database_cache_ttl = 0").await;
    let dir = s.storage.dir.path();
    let env = db_env(&s.storage);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = async |args: &[&str]| {
        let o = jwtd(dir, &env, args, None).await;
        assert!(
            o.status.success(),
            "{args:?}: {} {}",
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    };
    run(&[
        "user",
        "create",
        "alice",
        "--password",
        "pw-alice-1",
        "--skip-password-validation",
    ])
    .await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let sid = claims(&refresh)["jti"].as_str().unwrap().to_string();

    let listed = run(&["user", "sessions", "alice"]).await;
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{listed}");
    assert!(rows[0].starts_with(&sid), "{listed}");
    assert!(rows[0].contains("127.0.0.1"), "{listed}");

    let revoked = run(&["session", "revoke", &sid]).await;
    assert_eq!(
        revoked.trim(),
        format!("revoked session {sid}; 1 token(s) blacklisted")
    );
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    s.me(&access)
        .await
        .expect_401(not_valid_for_any("Token is blacklisted"));
    let again = jwtd(dir, &env, &["session", "revoke", &sid], None).await;
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("no active session"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(run(&["user", "sessions", "alice"]).await.lines().count(), 1);

    run(&["user", "deactivate", "alice"]).await;
    let lines = run(&["events", "--user", "alice", "--since", "1h"]).await;
    let events: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "user_updated",
            "session_revoked",
            "login_succeeded",
            "user_created"
        ]
    );
    assert_eq!(events[0]["detail"], json!({"is_active": false}));
    assert_eq!(events[1]["session"], sid.as_str());
    let only = run(&["events", "--type", "login_succeeded"]).await;
    assert_eq!(only.lines().count(), 1, "{only}");
    let bad = jwtd(dir, &env, &["events", "--type", "nonsense"], None).await;
    assert!(
        text(&bad.stderr).contains("unknown event type"),
        "{}",
        text(&bad.stderr)
    );
}

/// Two instances on one Postgres database: a session revoked through one stops its refresh
/// token on the other at once (rotation asks the database, never a cache), and its access
/// tokens within `database_cache_ttl`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_revoked_on_one_instance_stops_on_another() {
    if postgres_url().is_none() {
        skipped("sessions::a_session_revoked_on_one_instance_stops_on_another");
        return;
    }
    let storage = std::sync::Arc::new(Storage::new(Db::Postgres).await);
    let a = TestServer::start_on(storage.clone(), ROTATE).await;
    let b = TestServer::start_on(storage.clone(), &format!("{ROTATE}\ndatabase_cache_ttl = 0")).await;
    a.user("alice", "pw-alice-1").await;
    let (_, access_1) = a.login("alice", "pw-alice-1").await;
    let (refresh_2, access_2) = b.login("alice", "pw-alice-1").await;
    let r = b.post("/api/token/refresh/", json!({"refresh": refresh_2})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refresh_2 = r.str("refresh");
    assert_eq!(b.me(&access_2).await.status, 200);
    let sid = claims(&refresh_2)["sid"].as_str().unwrap().to_string();
    let r = delete(&a, &format!("/api/me/sessions/{sid}/"), &access_1).await;
    assert_eq!(r.status, 204, "{}", r.text);
    b.post("/api/token/refresh/", json!({"refresh": refresh_2}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    b.me(&access_2)
        .await
        .expect_401(not_valid_for_any("Token is blacklisted"));
}

/// Every logout — Simple JWT's blacklist view, the cookie-aware logout and drf-jwt's — ends
/// the session: it is no longer listed, its access tokens are refused by jwtd, and the
/// event names it.
async fn a_logout_ends_the_session(db: Db) {
    let s = TestServer::start(db, &format!("{ROTATE}\ndrf_jwt_endpoints = true")).await;
    s.user("alice", "pw-alice-1").await;
    let (_, access_kept) = s.login("alice", "pw-alice-1").await;
    let kept = claims(&access_kept)["sid"].clone();

    let (refresh_b, access_b) = s.login("alice", "pw-alice-1").await;
    // A rotated session: the newest token logs out, the older one is in the same family.
    let rotated = s.post("/api/token/refresh/", json!({"refresh": refresh_b})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    s.post(
        "/api/token/blacklist/",
        json!({"refresh": rotated.str("refresh")}),
    )
    .await
    .expect(200, json!({}));
    let (refresh_c, _) = s.login("alice", "pw-alice-1").await;
    s.post("/api/token/logout/", json!({"refresh": refresh_c}))
        .await
        .expect(200, json!({}));
    let drf = login_as(&s, "/api-token-auth/", alice()).await;
    let r = s
        .client
        .post(s.url("/auth/logout/"))
        .header("authorization", format!("Bearer {}", drf.str("token")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(Reply::from(r).await.status, 201);

    let listed = sessions(&s, &access_kept).await;
    assert_eq!(listed.body["count"], 1, "{}", listed.text);
    assert_eq!(listed.body["results"][0]["id"], kept);
    // The ended session's access tokens stop at once; a second logout is refused.
    s.me(&access_b)
        .await
        .expect_401(not_valid_for_any("Token is blacklisted"));
    s.post(
        "/api/token/blacklist/",
        json!({"refresh": rotated.str("refresh")}),
    )
    .await
    .expect_401(invalid("Token is blacklisted"));
    let events = s
        .get(
            "/api/me/events/?page_size=100",
            Some(&format!("Bearer {access_kept}")),
        )
        .await;
    let named = |kind: &str| -> Vec<Value> {
        events.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == kind)
            .map(|e| e["session"].clone())
            .collect()
    };
    assert_eq!(named("token_blacklisted"), [claims(&refresh_b)["sid"].clone()]);
    let mut logouts = named("logout");
    logouts.sort_by_key(|v| v.to_string());
    let mut expected = vec![
        claims(&refresh_c)["sid"].clone(),
        claims(&drf.str("token"))["jti"].clone(),
    ];
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(logouts, expected, "{}", events.text);
}

/// DRF's page-number pagination over the sessions: the first page (read without an OFFSET)
/// and the later ones (with one) together give each session once, most recently used first.
async fn sessions_are_paged_most_recently_used_first(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let mut logins = Vec::new();
    for _ in 0..5 {
        let pair = login_as(&s, "/api/token/", alice()).await;
        assert_eq!(pair.status, 200, "{}", pair.text);
        logins.push(pair);
    }
    let access = logins[0].str("access");
    let ids = |r: &Reply| -> Vec<String> {
        r.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = s
        .get(
            "/api/me/sessions/?page_size=100",
            Some(&format!("Bearer {access}")),
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    let newest_first: Vec<String> = logins
        .iter()
        .rev()
        .map(|p| claims(&p.str("refresh"))["jti"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids(&all), newest_first);
    let mut paged = Vec::new();
    for page in 1..=3 {
        let r = s
            .get(
                &format!("/api/me/sessions/?page_size=2&page={page}"),
                Some(&format!("Bearer {access}")),
            )
            .await;
        assert_eq!(r.status, 200, "page {page}: {}", r.text);
        assert_eq!(r.body["count"], 5, "page {page}");
        assert_eq!(r.body["next"].is_null(), page == 3, "page {page}: {}", r.text);
        assert_eq!(r.body["previous"].is_null(), page == 1, "page {page}: {}", r.text);
        paged.extend(ids(&r));
    }
    assert_eq!(paged, newest_first);
    let past = s
        .get(
            "/api/me/sessions/?page_size=2&page=4",
            Some(&format!("Bearer {access}")),
        )
        .await;
    assert_eq!(past.status, 404, "{}", past.text);
    let last = s
        .get(
            "/api/me/sessions/?page_size=2&page=last",
            Some(&format!("Bearer {access}")),
        )
        .await;
    assert_eq!(ids(&last), newest_first[4..].to_vec(), "{}", last.text);
}
