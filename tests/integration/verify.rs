//! `POST /api/token/verify/`

use serde_json::json;

use crate::both_databases;
use crate::common::*;
use crate::refresh::alg_none;

both_databases!(verify_accepts_any_valid_token, verify_refuses_bad_tokens);

async fn verify_accepts_any_valid_token(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    for token in [access, refresh, forge(&sj_claims("sliding", "1"), KEY)] {
        s.post("/api/token/verify/", json!({"token": token}))
            .await
            .expect(200, json!({}));
    }
    // Verify says nothing of the user or the type, only of the token itself.
    for claims in [
        with(sj_claims("access", "999"), json!({})),
        with(sj_claims("access", "1"), json!({"token_type": null})),
        with(sj_claims("access", "1"), json!({"user_id": null})),
        with(sj_claims("access", "1"), json!({"exp": now() + 100})),
    ] {
        s.post("/api/token/verify/", json!({"token": forge(&claims, KEY)}))
            .await
            .expect(200, json!({}));
    }
}

async fn verify_refuses_bad_tokens(db: Db) {
    let s = TestServer::start(db, "").await;
    let verify = |t: String| {
        let s = &s;
        async move { s.post("/api/token/verify/", json!({"token": t})).await }
    };
    verify(forge(
        &with(sj_claims("access", "1"), json!({"exp": now() - 1})),
        KEY,
    ))
    .await
    .expect_401(invalid("Token is expired"));
    verify(forge(
        &sj_claims("access", "1"),
        "wrong-key-wrong-key-wrong-key-wrong-key",
    ))
    .await
    .expect_401(invalid("Token is invalid"));
    verify(alg_none(&sj_claims("access", "1")))
        .await
        .expect_401(invalid("Token is invalid"));
    verify("x.y.z".into())
        .await
        .expect_401(invalid("Token is invalid"));
    verify("a".repeat(500))
        .await
        .expect_401(invalid("Token is invalid"));
    verify(forge(
        &with(sj_claims("access", "1"), json!({"iat": now() + 60})),
        KEY,
    ))
    .await
    .expect_401(invalid("Token is invalid"));
    verify(forge(
        &with(sj_claims("access", "1"), json!({"nbf": now() + 60})),
        KEY,
    ))
    .await
    .expect_401(invalid("Token is invalid"));
    verify(forge(&with(sj_claims("access", "1"), json!({"jti": 5})), KEY))
        .await
        .expect_401(invalid("Token is invalid"));
    verify(forge(&with(sj_claims("access", "1"), json!({"jti": null})), KEY))
        .await
        .expect_401(invalid("Token has no id"));
    verify(forge(
        &with(sj_claims("access", "1"), json!({"exp": "soon"})),
        KEY,
    ))
    .await
    .expect_401(invalid("Token is invalid"));
    verify(forge(&with(sj_claims("access", "1"), json!({"exp": null})), KEY))
        .await
        .expect_401(invalid("Token has no 'exp' claim"));
    s.post("/api/token/verify/", json!({"token": ""}))
        .await
        .expect(400, json!({"token": ["This field may not be blank."]}));
    s.post("/api/token/verify/", json!({}))
        .await
        .expect(400, json!({"token": ["This field is required."]}));
}
