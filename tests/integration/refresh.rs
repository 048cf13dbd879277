//! `POST /api/token/refresh/` without rotation (the default).

use serde_json::json;

use crate::both_databases;
use crate::common::*;

both_databases!(
    refresh_returns_an_access_token_carrying_the_refresh_claims,
    refresh_refuses_bad_tokens,
    refresh_refuses_users_that_cannot_log_in,
);

async fn refresh_returns_an_access_token_carrying_the_refresh_claims(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body.as_object().unwrap().len(),
        1,
        "no rotation by default: {}",
        r.body
    );
    let access = claims(&r.str("access"));
    assert_eq!(access["token_type"], "access");
    assert_eq!(access["user_id"], "1");
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        300
    );
    // Custom claims of a refresh token (made by another Simple JWT service with the same key)
    // are copied into the access token; type, exp, iat and jti are not.
    let foreign = forge(
        &with(
            sj_claims("refresh", "1"),
            json!({"tenant": "acme", "roles": ["a"]}),
        ),
        KEY,
    );
    let r = s.post("/api/token/refresh/", json!({"refresh": foreign})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = claims(&r.str("access"));
    assert_eq!(access["tenant"], "acme");
    assert_eq!(access["roles"], json!(["a"]));
    assert_eq!(access["token_type"], "access");
    assert_ne!(access["jti"], claims(&foreign)["jti"]);
    // The same refresh token may be used again without rotation.
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
}

async fn refresh_refuses_bad_tokens(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let post = |t: String| {
        let s = &s;
        async move { s.post("/api/token/refresh/", json!({"refresh": t})).await }
    };
    post(access).await.expect_401(invalid("Token has wrong type"));
    post(forge(
        &with(sj_claims("refresh", "1"), json!({"exp": now() - 5})),
        KEY,
    ))
    .await
    .expect_401(invalid("Token is expired"));
    let mut tampered = refresh.clone();
    tampered.insert(tampered.len() - 3, 'x');
    post(tampered).await.expect_401(invalid("Token is invalid"));
    post(forge(
        &sj_claims("refresh", "1"),
        "another-key-another-key-another-key!",
    ))
    .await
    .expect_401(invalid("Token is invalid"));
    post(forge_alg(
        &sj_claims("refresh", "1"),
        KEY,
        jsonwebtoken::Algorithm::HS512,
    ))
    .await
    .expect_401(invalid("Token is invalid"));
    post(alg_none(&sj_claims("refresh", "1")))
        .await
        .expect_401(invalid("Token is invalid"));
    post("garbage".into())
        .await
        .expect_401(invalid("Token is invalid"));
    post(forge(
        &with(sj_claims("refresh", "1"), json!({"token_type": null})),
        KEY,
    ))
    .await
    .expect_401(invalid("Token has no type"));
    post(forge(&with(sj_claims("refresh", "1"), json!({"jti": null})), KEY))
        .await
        .expect_401(invalid("Token has no id"));
    post(forge(&with(sj_claims("refresh", "1"), json!({"exp": null})), KEY))
        .await
        .expect_401(invalid("Token has no 'exp' claim"));
    s.post("/api/token/refresh/", json!({}))
        .await
        .expect(400, json!({"refresh": ["This field is required."]}));
    s.post("/api/token/refresh/", json!({"refresh": ""}))
        .await
        .expect(400, json!({"refresh": ["This field may not be blank."]}));
}

/// `alg: none` with the given claims.
pub fn alg_none(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    )
}

async fn refresh_refuses_users_that_cannot_log_in(db: Db) {
    let s = TestServer::start(db, "").await;
    let bob = s.user("bob", "pw-bob-1").await;
    let (refresh, _) = s.login("bob", "pw-bob-1").await;
    s.state().store.set_active(bob.id, false).await.unwrap();
    let no_account = json!({"detail": "No active account found for the given token."});
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(no_account.clone());
    s.state().store.delete_user(bob.id).await.unwrap();
    // Simple JWT answers 500 here (User.DoesNotExist); jwtd gives the same refusal.
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(no_account.clone());
    let ghost = forge(&sj_claims("refresh", "abc"), KEY);
    s.post("/api/token/refresh/", json!({"refresh": ghost}))
        .await
        .expect_401(no_account);
    // Without a user id claim there is nobody to check, as in Simple JWT.
    let anonymous = forge(&with(sj_claims("refresh", "1"), json!({"user_id": null})), KEY);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": anonymous}))
            .await
            .status,
        200
    );
}
