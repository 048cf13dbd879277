//! `GET /api/me/`: DRF's JWTAuthentication + IsAuthenticated.

use serde_json::json;

use crate::both_databases;
use crate::common::*;
use crate::refresh::alg_none;

both_databases!(
    me_returns_the_user,
    me_refuses_missing_and_malformed_headers,
    me_refuses_bad_tokens_and_users
);

async fn me_returns_the_user(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user_with("alice", "pw-alice-1", |u| {
        u.first_name = "Alice".into();
        u.last_name = "Liddell".into();
        u.is_staff = true;
    })
    .await;
    let (_, access) = s.login("alice", "pw-alice-1").await;
    let r = s.me(&access).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("allow"), Some("GET, PUT, PATCH, HEAD, OPTIONS"));
    let b = &r.body;
    assert_eq!(b["id"], 1);
    assert_eq!(b["username"], "alice");
    assert_eq!(b["email"], "alice@example.test");
    assert_eq!(
        (b["first_name"].as_str(), b["last_name"].as_str()),
        (Some("Alice"), Some("Liddell"))
    );
    assert_eq!(
        (
            b["is_active"].as_bool(),
            b["is_staff"].as_bool(),
            b["is_superuser"].as_bool()
        ),
        (Some(true), Some(true), Some(false))
    );
    assert!(b["date_joined"].as_str().unwrap().ends_with('Z'));
    // An integer user id (older Simple JWT) works as well as the string form.
    let older = forge(&with(sj_claims("access", "1"), json!({"user_id": 1})), KEY);
    assert_eq!(s.me(&older).await.body["username"], "alice");
    // HEAD answers like GET, without a body.
    let head = s
        .client
        .head(s.url("/api/me/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    // Other methods: authentication first, then 405, as DRF's dispatch does.
    let del = Reply::from(
        s.client
            .delete(s.url("/api/me/"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    del.expect(405, json!({"detail": "Method \"DELETE\" not allowed."}));
    let del = Reply::from(s.client.delete(s.url("/api/me/")).send().await.unwrap()).await;
    del.expect_401(json!({"detail": "Authentication credentials were not provided."}));
}

async fn me_refuses_missing_and_malformed_headers(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;
    let not_provided = json!({"detail": "Authentication credentials were not provided."});
    let two_values = json!({
        "detail": "Authorization header must contain two space-delimited values",
        "code": "bad_authorization_header",
    });
    s.get("/api/me/", None).await.expect_401(not_provided.clone());
    for header in [
        "",
        "   ",
        "Basic abc",
        &format!("bearer {access}"),
        &format!("JWT {access}"),
        &access,
    ] {
        s.get("/api/me/", Some(header))
            .await
            .expect_401(not_provided.clone());
    }
    for header in ["Bearer", &format!("Bearer {access} extra"), "Bearer a b c"] {
        s.get("/api/me/", Some(header))
            .await
            .expect_401(two_values.clone());
    }
    // Any ASCII white space separates, as Python's bytes.split() does.
    assert_eq!(
        s.get("/api/me/", Some(&format!("Bearer\t  {access} ")))
            .await
            .status,
        200
    );
}

async fn me_refuses_bad_tokens_and_users(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let bob = s.user("bob", "pw-bob-1").await;
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    let (_, bob_access) = s.login("bob", "pw-bob-1").await;
    s.me(&refresh)
        .await
        .expect_401(not_valid_for_any("Token has wrong type"));
    s.me(&forge(
        &with(sj_claims("access", "1"), json!({"exp": now() - 1})),
        KEY,
    ))
    .await
    .expect_401(not_valid_for_any("Token is expired"));
    s.me(&forge(
        &sj_claims("access", "1"),
        "wrong-key-wrong-key-wrong-key-wrong-key",
    ))
    .await
    .expect_401(not_valid_for_any("Token is invalid"));
    s.me(&alg_none(&sj_claims("access", "1")))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    s.me("garbage")
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    s.me(&forge(&with(sj_claims("access", "1"), json!({"jti": null})), KEY))
        .await
        .expect_401(not_valid_for_any("Token has no id"));
    s.me(&forge(
        &with(sj_claims("access", "1"), json!({"user_id": null})),
        KEY,
    ))
    .await
    .expect_401(invalid("Token contained no recognizable user identification"));
    let not_found = json!({"detail": "User not found", "code": "user_not_found"});
    s.me(&forge(&sj_claims("access", "999"), KEY))
        .await
        .expect_401(not_found.clone());
    // Simple JWT answers 500 for a non-numeric id; jwtd finds no such user.
    s.me(&forge(&sj_claims("access", "abc"), KEY))
        .await
        .expect_401(not_found);
    s.state().store.set_active(bob.id, false).await.unwrap();
    s.me(&bob_access)
        .await
        .expect_401(json!({"detail": "User is inactive", "code": "user_inactive"}));
}
