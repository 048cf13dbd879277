//! RFC 7009 revocation and RFC 7662 introspection.

use base64::Engine;
use serde_json::json;

use crate::both_databases;
use crate::common::*;

both_databases!(revocation_follows_rfc_7009, introspection_follows_rfc_7662);

async fn revocation_follows_rfc_7009(db: Db) {
    let s = TestServer::start(
        db,
        "rotate_refresh_tokens = true\nblacklist_after_rotation = true",
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    // Form-encoded, as the RFC says; a refresh token's login goes with it.
    let rotated = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .str("refresh");
    let r = Reply::from(
        s.client
            .post(s.url("/api/token/revoke/"))
            .form(&[("token", refresh.as_str()), ("token_type_hint", "refresh_token")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.expect(200, json!({}));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    s.post("/api/token/refresh/", json!({"refresh": rotated}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    // Access tokens are recorded as revoked: introspection and verify (with the blacklist
    // consulted) refuse them; stateless checks accept them until they expire.
    s.post("/api/token/revoke/", json!({"token": access}))
        .await
        .expect(200, json!({}));
    s.post("/api/token/verify/", json!({"token": access}))
        .await
        .expect(400, json!({"non_field_errors": ["Token is blacklisted"]}));
    // Invalid, expired and unknown tokens: 200 all the same (RFC 7009 §2.2).
    for token in [
        "garbage".to_string(),
        forge(&with(sj_claims("refresh", "1"), json!({"exp": now() - 5})), KEY),
    ] {
        s.post("/api/token/revoke/", json!({"token": token}))
            .await
            .expect(200, json!({}));
    }
    s.post("/api/token/revoke/", json!({})).await.expect(
        400,
        json!({"error": "invalid_request", "error_description": "the token parameter is required"}),
    );
    let r = Reply::from(s.client.get(s.url("/api/token/revoke/")).send().await.unwrap()).await;
    assert_eq!(r.status, 405);
}

async fn introspection_follows_rfc_7662(db: Db) {
    let hash = jwtd::passwords::PasswordHasher::new(1)
        .hash("gateway-secret")
        .await
        .unwrap();
    let s = TestServer::start(
        db,
        &format!("[[introspection_clients]]\nclient_id = \"gateway\"\nsecret_hash = \"{hash}\""),
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let bob = s.user("bob", "pw-bob-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let (_, bob_access) = s.login("bob", "pw-bob-1").await;
    let basic = |id: &str, secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    let introspect = |token: String, auth: Option<String>| {
        let s = &s;
        async move {
            let mut req = s
                .client
                .post(s.url("/api/token/introspect/"))
                .form(&[("token", token)]);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            Reply::from(req.send().await.unwrap()).await
        }
    };
    let credentials = basic("gateway", "gateway-secret");
    let good = Some(credentials.clone());
    for auth in [
        None,
        Some(basic("gateway", "wrong")),
        Some(basic("nobody", "gateway-secret")),
        Some("Bearer x".into()),
    ] {
        let r = introspect(access.clone(), auth).await;
        r.expect(
            401,
            json!({"error": "invalid_client", "error_description": "client authentication failed"}),
        );
        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"jwtd\""));
    }
    let r = introspect(access.clone(), good.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let c = claims(&access);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["token_type"], "access");
    assert_eq!(
        (&r.body["exp"], &r.body["iat"], &r.body["jti"]),
        (&c["exp"], &c["iat"], &c["jti"])
    );
    assert_eq!(
        (r.body["sub"].as_str(), r.body["username"].as_str()),
        (Some("1"), Some("alice"))
    );
    assert_eq!(
        introspect(refresh.clone(), good.clone()).await.body["token_type"],
        "refresh"
    );
    // Cached after the first check: still right for a second call.
    assert_eq!(
        introspect(access.clone(), good.clone()).await.body["active"],
        true
    );
    let inactive = json!({"active": false});
    introspect("garbage".into(), good.clone())
        .await
        .expect(200, inactive.clone());
    introspect(
        forge(&with(sj_claims("access", "1"), json!({"exp": now() - 1})), KEY),
        good.clone(),
    )
    .await
    .expect(200, inactive.clone());
    s.post("/api/token/blacklist/", json!({"refresh": refresh}))
        .await
        .expect(200, json!({}));
    introspect(refresh, good.clone())
        .await
        .expect(200, inactive.clone());
    s.state().store.set_active(bob.id, false).await.unwrap();
    introspect(bob_access, good.clone())
        .await
        .expect(200, inactive.clone());
    introspect(forge(&sj_claims("access", "999"), KEY), good.clone())
        .await
        .expect(200, inactive);
    let r = Reply::from(
        s.client
            .post(s.url("/api/token/introspect/"))
            .header("authorization", credentials)
            .form(&[("nothing", "")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}
