//! Simple JWT's blacklist app, rotation and sliding tokens, and what jwtd adds: tokens kept
//! by hash only, reuse detection, logging out everywhere, housekeeping.

use serde_json::json;

use crate::both_databases;
use crate::common::*;

const ROTATE: &str = "rotate_refresh_tokens = true\nblacklist_after_rotation = true";

both_databases!(
    outstanding_rows_hold_the_jti_never_the_token,
    blacklist_endpoint_answers_as_simple_jwt,
    rotation_without_blacklisting_keeps_the_old_token_usable,
    rotation_with_blacklisting_refuses_the_old_token,
    reuse_detection_revokes_the_whole_family,
    reuse_interval_tolerates_a_retry,
    a_revoked_family_gets_no_retry,
    sliding_tokens_obtain_refresh_and_authenticate,
    auth_token_classes_choose_what_me_accepts,
    operator_commands_revoke_and_flush,
    deleting_a_user_detaches_its_tokens,
    flush_runs_periodically_in_the_server,
);

async fn outstanding_rows_hold_the_jti_never_the_token(db: Db) {
    let s = TestServer::start(db, ROTATE).await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let rows = s.storage.outstanding().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].jti, jti(&refresh));
    assert_eq!(rows[0].family.as_deref(), Some(jti(&refresh).as_str()));
    assert_eq!(rows[0].user_id, Some(1));
    assert_ne!(
        rows[0].jti,
        jti(&access),
        "access tokens are not recorded, as in Simple JWT"
    );
    let rotated = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    let new_refresh = rotated.str("refresh");
    let row = s
        .storage
        .outstanding_jti(&jti(&new_refresh))
        .await
        .expect("rotated token recorded");
    assert_eq!(
        row.family.as_deref(),
        Some(jti(&refresh).as_str()),
        "same family as the login"
    );
    let (sliding, _) = (
        s.post(
            "/api/token/sliding/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await,
        (),
    );
    assert!(
        s.storage
            .outstanding_jti(&jti(&sliding.str("token")))
            .await
            .is_some()
    );
    // A row holds the 16 bytes of its jti, no token and no digest of one.
    for row in s.storage.outstanding().await {
        assert_eq!(row.jti.len(), 32, "{row:?}");
    }
}

async fn blacklist_endpoint_answers_as_simple_jwt(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let blacklist = |t: String| {
        let s = &s;
        async move { s.post("/api/token/blacklist/", json!({"refresh": t})).await }
    };
    blacklist("garbage".into())
        .await
        .expect_401(invalid("Token is invalid"));
    blacklist(access.clone())
        .await
        .expect_401(invalid("Token has wrong type"));
    blacklist(forge(
        &with(sj_claims("refresh", "1"), json!({"exp": now() - 5})),
        KEY,
    ))
    .await
    .expect_401(invalid("Token is expired"));
    blacklist(refresh.clone()).await.expect(200, json!({}));
    blacklist(refresh.clone())
        .await
        .expect_401(invalid("Token is blacklisted"));
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    // Verify consults the blacklist only with blacklist_after_rotation, as Simple JWT.
    s.post("/api/token/verify/", json!({"token": refresh}))
        .await
        .expect(200, json!({}));
    assert_eq!(
        s.storage
            .outstanding_jti(&jti(&refresh))
            .await
            .unwrap()
            .blacklist_reason
            .as_deref(),
        Some("blacklist")
    );
    // A refresh token jwtd did not issue is recorded and blacklisted all the same.
    let foreign = forge(&sj_claims("refresh", "1"), KEY);
    blacklist(foreign.clone()).await.expect(200, json!({}));
    s.post("/api/token/refresh/", json!({"refresh": foreign}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    s.post("/api/token/blacklist/", json!({}))
        .await
        .expect(400, json!({"refresh": ["This field is required."]}));
}

async fn rotation_without_blacklisting_keeps_the_old_token_usable(db: Db) {
    let s = TestServer::start(db, "rotate_refresh_tokens = true").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200);
    let keys: Vec<_> = r.body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["access", "refresh"]);
    let new = claims(&r.str("refresh"));
    assert_eq!(
        new["exp"].as_i64().unwrap() - new["iat"].as_i64().unwrap(),
        86_400,
        "a full lifetime from now"
    );
    assert!((new["iat"].as_i64().unwrap() - now()).abs() <= 2);
    assert_ne!(new["jti"], claims(&refresh)["jti"]);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
    assert!(s.storage.outstanding_jti(&jti(&r.str("refresh"))).await.is_some());
}

async fn rotation_with_blacklisting_refuses_the_old_token(db: Db) {
    let s = TestServer::start(db, ROTATE).await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200);
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    s.post("/api/token/verify/", json!({"token": refresh}))
        .await
        .expect(400, json!({"non_field_errors": ["Token is blacklisted"]}));
    // Access tokens are never blacklisted by rotation.
    s.post("/api/token/verify/", json!({"token": access}))
        .await
        .expect(200, json!({}));
    assert_eq!(
        s.storage
            .outstanding_jti(&jti(&refresh))
            .await
            .unwrap()
            .blacklist_reason
            .as_deref(),
        Some("rotation")
    );
    let next = s
        .post("/api/token/refresh/", json!({"refresh": r.str("refresh")}))
        .await;
    assert_eq!(next.status, 200);
    // Without reuse detection an old token only gets the blacklisted answer: the newest works.
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": next.str("refresh")}))
            .await
            .status,
        200
    );
}

async fn reuse_detection_revokes_the_whole_family(db: Db) {
    let s = TestServer::start(db, &format!("{ROTATE}\nrefresh_token_reuse_detection = true")).await;
    s.user("alice", "pw-alice-1").await;
    let (t1, _) = s.login("alice", "pw-alice-1").await;
    let (other_login, _) = s.login("alice", "pw-alice-1").await;
    let t2 = s
        .post("/api/token/refresh/", json!({"refresh": t1}))
        .await
        .str("refresh");
    let t3 = s
        .post("/api/token/refresh/", json!({"refresh": t2}))
        .await
        .str("refresh");
    // The thief (or the victim) presents t1 again: refused, and the family is revoked.
    s.post("/api/token/refresh/", json!({"refresh": t1}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    s.post("/api/token/refresh/", json!({"refresh": t3}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    assert_eq!(
        s.storage
            .outstanding_jti(&jti(&t3))
            .await
            .unwrap()
            .blacklist_reason
            .as_deref(),
        Some("reuse")
    );
    // Another login of the same user is another family.
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": other_login}))
            .await
            .status,
        200
    );
}

async fn reuse_interval_tolerates_a_retry(db: Db) {
    let s = TestServer::start(
        db,
        &format!("{ROTATE}\nrefresh_token_reuse_detection = true\nrefresh_token_reuse_interval = 60"),
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let (t1, _) = s.login("alice", "pw-alice-1").await;
    let first = s.post("/api/token/refresh/", json!({"refresh": t1})).await;
    assert_eq!(first.status, 200);
    // The client lost the answer and retries within the interval: it gets a pair again.
    let retry = s.post("/api/token/refresh/", json!({"refresh": t1})).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_ne!(retry.str("refresh"), first.str("refresh"));
    for t in [first.str("refresh"), retry.str("refresh")] {
        let row = s.storage.outstanding_jti(&jti(&t)).await.unwrap();
        assert_eq!(row.family.as_deref(), Some(jti(&t1).as_str()));
        assert_eq!(row.blacklist_reason, None);
    }
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": retry.str("refresh")}))
            .await
            .status,
        200
    );
    // A token blacklisted by logout is not a retry: the plain blacklisted answer.
    let (t, _) = s.login("alice", "pw-alice-1").await;
    s.post("/api/token/blacklist/", json!({"refresh": t}))
        .await
        .expect(200, json!({}));
    s.post("/api/token/refresh/", json!({"refresh": t}))
        .await
        .expect_401(invalid("Token is blacklisted"));
}

/// Once a family is revoked — by reuse detection or by RFC 7009 — a token of it rotated
/// away within the reuse interval is no longer a retry: nothing more is issued in the family.
async fn a_revoked_family_gets_no_retry(db: Db) {
    let s = TestServer::start(
        db,
        &format!("{ROTATE}\nrefresh_token_reuse_detection = true\nrefresh_token_reuse_interval = 2"),
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let refresh = |t: String| {
        let s = &s;
        async move { s.post("/api/token/refresh/", json!({"refresh": t})).await }
    };
    // The victim's t1 was rotated away longer ago than the interval; the thief's t2 just now.
    let (t1, _) = s.login("alice", "pw-alice-1").await;
    let t2 = refresh(t1.clone()).await.str("refresh");
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let t3 = refresh(t2.clone()).await.str("refresh");
    refresh(t1).await.expect_401(invalid("Token is blacklisted"));
    for t in [t2, t3] {
        refresh(t).await.expect_401(invalid("Token is blacklisted"));
    }

    // RFC 7009 revokes the family of the refresh token it is given.
    let (u1, _) = s.login("alice", "pw-alice-1").await;
    let u2 = refresh(u1.clone()).await.str("refresh");
    s.post("/api/token/revoke/", json!({"token": u2}))
        .await
        .expect(200, json!({}));
    refresh(u1.clone())
        .await
        .expect_401(invalid("Token is blacklisted"));
    let family = jti(&u1);
    for o in s.storage.outstanding().await {
        if o.family.as_deref() == Some(family.as_str()) {
            assert!(o.blacklist_reason.is_some(), "{o:?}");
        }
    }
}

async fn sliding_tokens_obtain_refresh_and_authenticate(db: Db) {
    let s = TestServer::start(db, "auth_token_classes = [\"sliding\"]").await;
    s.user("alice", "pw-alice-1").await;
    let r = s
        .post(
            "/api/token/sliding/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body.as_object().unwrap().len(), 1);
    let token = r.str("token");
    let c = claims(&token);
    let names: Vec<_> = c.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        names,
        // `sid`: jwtd's session id (issue 19), an additive claim.
        ["token_type", "exp", "iat", "jti", "refresh_exp", "user_id", "sid"]
    );
    assert_eq!(c["token_type"], "sliding");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
    assert_eq!(
        c["refresh_exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        86_400
    );
    assert_eq!(s.me(&token).await.status, 200);

    let refreshed = s
        .post("/api/token/sliding/refresh/", json!({"token": token}))
        .await;
    assert_eq!(refreshed.status, 200);
    let c2 = claims(&refreshed.str("token"));
    assert_eq!(
        (&c2["jti"], &c2["refresh_exp"]),
        (&c["jti"], &c["refresh_exp"]),
        "same token, later exp"
    );
    assert!(c2["exp"].as_i64() >= c["exp"].as_i64());

    let base = sj_claims("sliding", "1");
    let post = |claims: serde_json::Value| {
        let s = &s;
        async move {
            s.post(
                "/api/token/sliding/refresh/",
                json!({"token": forge(&claims, KEY)}),
            )
            .await
        }
    };
    post(with(base.clone(), json!({"refresh_exp": now() - 1})))
        .await
        .expect_401(invalid("Token 'refresh_exp' claim has expired"));
    post(base.clone())
        .await
        .expect_401(invalid("Token has no 'refresh_exp' claim"));
    post(with(
        base.clone(),
        json!({"refresh_exp": now() + 100, "exp": now() - 1}),
    ))
    .await
    .expect_401(invalid("Token is expired"));
    post(with(
        base,
        json!({"token_type": "access", "refresh_exp": now() + 100}),
    ))
    .await
    .expect_401(invalid("Token has wrong type"));
    // Sliding tokens cannot be blacklisted through the refresh-token endpoint (Simple JWT),
    // but they are checked against the blacklist on every request.
    s.post("/api/token/blacklist/", json!({"refresh": token}))
        .await
        .expect_401(invalid("Token has wrong type"));
    assert_eq!(
        s.post("/api/token/revoke/", json!({"token": token})).await.status,
        200
    );
    s.me(&refreshed.str("token")).await.expect_401(json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "SlidingToken", "token_type": "sliding", "message": "Token is blacklisted"}],
    }));
    s.post(
        "/api/token/sliding/refresh/",
        json!({"token": refreshed.str("token")}),
    )
    .await
    .expect_401(invalid("Token is blacklisted"));
}

async fn auth_token_classes_choose_what_me_accepts(db: Db) {
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let access_only = TestServer::start_on(storage.clone(), "").await;
    let sliding_only = TestServer::start_on(storage.clone(), "auth_token_classes = [\"sliding\"]").await;
    let both = TestServer::start_on(storage.clone(), "auth_token_classes = [\"access\", \"sliding\"]").await;
    access_only.user("alice", "pw-alice-1").await;
    let (_, access) = access_only.login("alice", "pw-alice-1").await;
    let sliding = access_only
        .post(
            "/api/token/sliding/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await
        .str("token");
    access_only
        .me(&sliding)
        .await
        .expect_401(not_valid_for_any("Token has wrong type"));
    sliding_only.me(&access).await.expect_401(json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "SlidingToken", "token_type": "sliding", "message": "Token has wrong type"}],
    }));
    assert_eq!(sliding_only.me(&sliding).await.status, 200);
    assert_eq!(both.me(&access).await.status, 200);
    assert_eq!(both.me(&sliding).await.status, 200);
    both.me("garbage").await.expect_401(json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [
            {"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid"},
            {"token_class": "SlidingToken", "token_type": "sliding", "message": "Token is invalid"},
        ],
    }));
}

async fn operator_commands_revoke_and_flush(db: Db) {
    let s = TestServer::start(db, "").await;
    let alice = s.user("alice", "pw-alice-1").await;
    let bob = s.user("bob", "pw-bob-1").await;
    let (a1, _) = s.login("alice", "pw-alice-1").await;
    let (a2, _) = s.login("alice", "pw-alice-1").await;
    let (b1, _) = s.login("bob", "pw-bob-1").await;
    let store = &s.state().store;
    assert_eq!(
        store
            .blacklist_user(alice.id, jwtd::store::Reason::Revoke)
            .await
            .unwrap(),
        2
    );
    for t in [&a1, &a2] {
        s.post("/api/token/refresh/", json!({"refresh": t}))
            .await
            .expect_401(invalid("Token is blacklisted"));
    }
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": b1})).await.status,
        200
    );
    assert_eq!(
        store
            .blacklist_jti(&jti(&b1), jwtd::store::Reason::Revoke)
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        store
            .blacklist_jti(&jti(&b1), jwtd::store::Reason::Revoke)
            .await
            .unwrap(),
        Some(false)
    );
    assert_eq!(
        store
            .blacklist_jti("no-such-jti", jwtd::store::Reason::Revoke)
            .await
            .unwrap(),
        None
    );
    s.post("/api/token/refresh/", json!({"refresh": b1}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    let _ = bob;
    // Nothing has expired yet; a day and a second from now everything has.
    assert_eq!(
        store
            .flush_expired(jwtd::store::now(), 100)
            .await
            .unwrap()
            .tokens
            .rows,
        0
    );
    let later = jwtd::store::now() + time::Duration::seconds(86_401);
    let flushed = store.flush_expired(later, 100).await.unwrap();
    assert_eq!((flushed.tokens.rows, flushed.blacklisted), (3, 3));
    assert!(s.storage.outstanding().await.is_empty());
}

async fn deleting_a_user_detaches_its_tokens(db: Db) {
    let s = TestServer::start(db, "").await;
    let alice = s.user("alice", "pw-alice-1").await;
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    s.post("/api/token/blacklist/", json!({"refresh": refresh}))
        .await
        .expect(200, json!({}));
    s.state().store.delete_user(alice.id).await.unwrap();
    let row = s
        .storage
        .outstanding_jti(&jti(&refresh))
        .await
        .expect("kept, as Simple JWT's SET_NULL");
    assert_eq!(row.user_id, None);
    assert_eq!(row.blacklist_reason.as_deref(), Some("blacklist"));
}

async fn flush_runs_periodically_in_the_server(db: Db) {
    let s = TestServer::start(db, "flush_expired_interval = \"1s\"").await;
    s.user("alice", "pw-alice-1").await;
    let (live, _) = s.login("alice", "pw-alice-1").await;
    let expired = jwtd::store::OutstandingToken {
        user_id: Some(1),
        jti: "expired-one".into(),
        family: None,
        created_at: jwtd::store::now() - time::Duration::hours(2),
        expires_at: jwtd::store::now() - time::Duration::hours(1),
    };
    s.state().store.add_outstanding(&expired).await.unwrap();
    // `jwtd serve` spawns this loop when flush_expired_interval is set; so does the test.
    let every = s
        .state()
        .settings
        .tokens
        .flush_expired_interval
        .expect("configured")
        .0;
    let http = s.http.clone();
    let task = tokio::spawn(async move { http.app.flush_expired_periodically(every).await });
    let mut gone = false;
    for _ in 0..50 {
        if s.storage.outstanding_jti("expired-one").await.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    task.abort();
    assert!(gone, "the expired row was flushed");
    assert!(s.storage.outstanding_jti(&jti(&live)).await.is_some());
}
