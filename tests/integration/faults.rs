//! Issue 17's hardening: deactivated users' sliding tokens, revoked access tokens at jwtd's
//! own endpoints, owner-only SQLite files, and storage faults (disk full, read-only, I/O
//! errors) answered with 503 and reflected by `/readyz`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

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
