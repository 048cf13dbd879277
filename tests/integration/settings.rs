//! Simple JWT's settings as they change the answers: audience, issuer, leeway, lifetimes,
//! header name and types, user id field and claim, revocation by password change,
//! last login, inactive users.

use serde_json::json;

use crate::both_databases;
use crate::common::*;

both_databases!(
    audience_and_issuer_are_written_and_required,
    leeway_tolerates_clock_skew,
    lifetimes_and_claim_names_follow_the_settings,
    header_name_and_types_follow_the_settings,
    user_id_field_can_be_the_username,
    check_revoke_token_refuses_tokens_from_before_a_password_change,
    update_last_login_records_logins,
    inactive_users_may_be_let_in,
);

async fn audience_and_issuer_are_written_and_required(db: Db) {
    let s = TestServer::start(db, "audience = \"my-api\"\nissuer = \"https://issuer.example\"").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    for token in [&refresh, &access] {
        let c = claims(token);
        assert_eq!(
            (c["aud"].as_str(), c["iss"].as_str()),
            (Some("my-api"), Some("https://issuer.example"))
        );
    }
    assert_eq!(s.me(&access).await.status, 200);
    let refreshed = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(claims(&refreshed.str("access"))["aud"], "my-api");
    let base = sj_claims("access", "1");
    let good = json!({"aud": "my-api", "iss": "https://issuer.example"});
    for (name, changes) in [
        ("no audience", json!({"iss": "https://issuer.example"})),
        (
            "other audience",
            json!({"aud": "other", "iss": "https://issuer.example"}),
        ),
        ("no issuer", json!({"aud": "my-api"})),
        (
            "other issuer",
            json!({"aud": "my-api", "iss": "https://evil.example"}),
        ),
    ] {
        let t = forge(&with(base.clone(), changes), KEY);
        let r = s.post("/api/token/verify/", json!({"token": t})).await;
        assert_eq!((r.status, &r.body), (401, &invalid("Token is invalid")), "{name}");
    }
    let listed = forge(
        &with(with(base.clone(), good.clone()), json!({"aud": ["x", "my-api"]})),
        KEY,
    );
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": listed}))
            .await
            .status,
        200
    );
    let t = forge(&with(base, good), KEY);
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": t})).await.status,
        200
    );
}

async fn leeway_tolerates_clock_skew(db: Db) {
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let strict = TestServer::start_on(storage.clone(), "").await;
    let lenient = TestServer::start_on(storage.clone(), "leeway = 30").await;
    strict.user("alice", "pw-alice-1").await;
    let late = forge(&with(sj_claims("access", "1"), json!({"exp": now() - 10})), KEY);
    let early = forge(
        &with(
            sj_claims("access", "1"),
            json!({"iat": now() + 10, "nbf": now() + 10}),
        ),
        KEY,
    );
    for token in [&late, &early] {
        assert_eq!(
            strict
                .post("/api/token/verify/", json!({"token": token}))
                .await
                .status,
            401
        );
        assert_eq!(
            lenient
                .post("/api/token/verify/", json!({"token": token}))
                .await
                .status,
            200
        );
    }
    assert_eq!(lenient.me(&late).await.status, 200);
    let too_late = forge(&with(sj_claims("access", "1"), json!({"exp": now() - 40})), KEY);
    lenient
        .post("/api/token/verify/", json!({"token": too_late}))
        .await
        .expect_401(invalid("Token is expired"));
}

async fn lifetimes_and_claim_names_follow_the_settings(db: Db) {
    let s = TestServer::start(
        db,
        "access_token_lifetime = \"10m\"\nrefresh_token_lifetime = 3600\nuser_id_claim = \"uid\"\n\
         token_type_claim = \"typ\"\njti_claim = \"id\"",
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let (r, a) = (claims(&refresh), claims(&access));
    assert_eq!(r["exp"].as_i64().unwrap() - r["iat"].as_i64().unwrap(), 3600);
    assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 600);
    assert_eq!(
        (a["typ"].as_str(), a["uid"].as_str()),
        (Some("access"), Some("1"))
    );
    assert!(a["id"].is_string() && a.get("jti").is_none() && a.get("token_type").is_none());
    assert_eq!(s.me(&access).await.status, 200);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
}

async fn header_name_and_types_follow_the_settings(db: Db) {
    let s = TestServer::start(
        db,
        "auth_header_types = [\"JWT\", \"Token\"]\nauth_header_name = \"HTTP_X_ACCESS_TOKEN\"",
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;
    let get = |header: &'static str, value: String| {
        let s = &s;
        async move {
            Reply::from(
                s.client
                    .get(s.url("/api/me/"))
                    .header(header, value)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(get("x-access-token", format!("JWT {access}")).await.status, 200);
    assert_eq!(get("x-access-token", format!("Token {access}")).await.status, 200);
    let r = get("x-access-token", format!("Bearer {access}")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("JWT realm=\"api\""));
    assert_eq!(get("authorization", format!("JWT {access}")).await.status, 401);
}

async fn user_id_field_can_be_the_username(db: Db) {
    let s = TestServer::start(db, "user_id_field = \"username\"").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    assert_eq!(claims(&access)["user_id"], "alice");
    assert_eq!(s.me(&access).await.body["id"], 1);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
    s.me(&forge(&sj_claims("access", "1"), KEY))
        .await
        .expect_401(json!({"detail": "User not found", "code": "user_not_found"}));
}

async fn check_revoke_token_refuses_tokens_from_before_a_password_change(db: Db) {
    let s = TestServer::start(db, "check_revoke_token = true").await;
    let alice = s.user("alice", "pw-alice-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;
    let fingerprint = claims(&access)["hash_password"].as_str().unwrap().to_string();
    assert_eq!(fingerprint.len(), 32);
    assert!(
        fingerprint
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    assert_eq!(s.me(&access).await.status, 200);
    let hash = s.state().hasher.hash("pw-alice-2").await.unwrap();
    s.state().store.set_password(alice.id, &hash).await.unwrap();
    s.me(&access)
        .await
        .expect_401(json!({"detail": "The user's password has been changed.", "code": "password_changed"}));
    let (_, fresh) = s.login("alice", "pw-alice-2").await;
    assert_eq!(s.me(&fresh).await.status, 200);
}

async fn update_last_login_records_logins(db: Db) {
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let off = TestServer::start_on(storage.clone(), "").await;
    let on = TestServer::start_on(storage.clone(), "update_last_login = true").await;
    off.user("alice", "pw-alice-1").await;
    off.login("alice", "pw-alice-1").await;
    assert_eq!(
        off.state().store.user_by_id(1).await.unwrap().unwrap().last_login,
        None
    );
    on.login("alice", "pw-alice-1").await;
    let when = on
        .state()
        .store
        .user_by_id(1)
        .await
        .unwrap()
        .unwrap()
        .last_login
        .expect("last_login set");
    assert!((when.unix_timestamp() - now()).abs() <= 2);
}

async fn inactive_users_may_be_let_in(db: Db) {
    let s = TestServer::start(db, "check_user_is_active = false").await;
    let bob = s.user("bob", "pw-bob-1").await;
    let (refresh, access) = s.login("bob", "pw-bob-1").await;
    s.state().store.set_active(bob.id, false).await.unwrap();
    assert_eq!(s.me(&access).await.status, 200);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
    // Django's authentication backend still refuses inactive users at login.
    assert_eq!(
        s.post("/api/token/", json!({"username": "bob", "password": "pw-bob-1"}))
            .await
            .status,
        401
    );
}
