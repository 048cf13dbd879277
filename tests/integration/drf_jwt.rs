//! drf-jwt's protocol (`drf_jwt_endpoints = true`): `/api-token-auth/`, `/api-token-refresh/`,
//! `/api-token-verify/` and `/auth/logout/`, with the answers drf-jwt 1.19.2 gives (recorded
//! from it on Django 5.2, DRF 3.x and PyJWT 2).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::both_databases;
use crate::common::*;
use crate::refresh::alg_none;

both_databases!(
    drf_jwt_endpoints_are_absent_unless_enabled,
    drf_jwt_obtain_answers_201_with_drf_jwt_claims,
    drf_jwt_obtain_refusals,
    drf_jwt_verify,
    drf_jwt_times_may_be_numeric_strings,
    drf_jwt_refresh_keeps_the_login,
    drf_jwt_refresh_refusals,
    drf_jwt_allow_refresh_false,
    drf_jwt_token_id_off,
    drf_jwt_token_id_require,
    drf_jwt_logout_from_the_header,
    drf_jwt_logout_from_the_body,
    drf_jwt_logout_refusals,
    drf_jwt_auth_header_prefix,
    drf_jwt_tokens_are_revoked_with_their_user,
    drf_jwt_logout_holds_for_the_malleated_signature,
    drf_jwt_tokens_are_revoked_by_rfc_7009,
    drf_jwt_bad_input_is_never_a_server_error,
);

const ON: &str = "drf_jwt_endpoints = true";

async fn server(db: Db, extra: &str) -> TestServer {
    let s = TestServer::start(db, &format!("{ON}\n{extra}")).await;
    s.user("alice", "pw-alice-1").await;
    s.user_with("bob", "pw-bob-1", |u| u.is_active = false).await;
    s
}

/// drf-jwt's validation error.
fn non_field(message: &str) -> Value {
    json!({"non_field_errors": [message]})
}

/// drf-jwt's claims for alice (user 1), valid for 5 minutes, issued now.
fn drf_claims() -> Value {
    let now = now();
    json!({
        "username": "alice",
        "iat": now,
        "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
        "user_id": 1,
        "orig_iat": now,
    })
}

impl TestServer {
    async fn drf_obtain_reply(&self) -> Reply {
        self.post(
            "/api-token-auth/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await
    }

    async fn drf_obtain(&self) -> String {
        let r = self.drf_obtain_reply().await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.str("token")
    }

    async fn drf_verify(&self, token: &str) -> Reply {
        self.post("/api-token-verify/", json!({"token": token})).await
    }

    async fn drf_refresh(&self, token: &str) -> Reply {
        self.post("/api-token-refresh/", json!({"token": token})).await
    }

    /// `POST /auth/logout/` with an `Authorization` header and a JSON body.
    async fn drf_logout(&self, authorization: Option<&str>, body: Value) -> Reply {
        self.drf_logout_raw(
            reqwest::Method::POST,
            authorization,
            "application/json",
            body.to_string(),
        )
        .await
    }

    async fn drf_logout_raw(
        &self,
        method: reqwest::Method,
        authorization: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, self.url("/auth/logout/"))
            .header("content-type", content_type)
            .body(body);
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        Reply::from(req.send().await.unwrap()).await
    }
}

async fn drf_jwt_endpoints_are_absent_unless_enabled(db: Db) {
    let s = TestServer::start(db, "").await;
    for path in [
        "/api-token-auth/",
        "/api-token-refresh/",
        "/api-token-verify/",
        "/auth/logout/",
    ] {
        s.post(path, json!({}))
            .await
            .expect(404, json!({"detail": "Not found."}));
    }
    let schema = s.get("/api/schema/", None).await;
    assert!(!schema.text.contains("api-token-auth"));
    let s = server(db, "").await;
    let schema = s.get("/api/schema/", None).await;
    for path in [
        "/api-token-auth/",
        "/api-token-refresh/",
        "/api-token-verify/",
        "/auth/logout/",
    ] {
        assert!(schema.body["paths"][path]["post"].is_object(), "{path}");
    }
    // Simple JWT's endpoints are still there.
    s.login("alice", "pw-alice-1").await;
}

async fn drf_jwt_obtain_answers_201_with_drf_jwt_claims(db: Db) {
    let s = server(db, "").await;
    let before = now();
    let r = s.drf_obtain_reply().await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    let keys: Vec<_> = r.body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["pk", "token"]);
    let token = r.str("token");
    let c = claims(&token);
    let names: Vec<_> = c.as_object().unwrap().keys().cloned().collect();
    assert_eq!(names, ["username", "iat", "exp", "jti", "user_id", "orig_iat"]);
    let iat = c["iat"].as_i64().unwrap();
    assert!(iat >= before && iat <= now());
    // drf-jwt's `pk` is the token's iat.
    assert_eq!(r.body["pk"], iat);
    assert_eq!(c["username"], "alice");
    assert_eq!(c["exp"], iat + 300);
    assert_eq!(c["orig_iat"], iat);
    assert_eq!(c["user_id"], 1, "a number, as user.pk");
    let jti = c["jti"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(jti).unwrap().hyphenated().to_string(), jti);
    assert_eq!(header_of(&token), json!({"typ": "JWT", "alg": "HS256"}));
    // The login is an outstanding token of alice's, under the token's id.
    let row = s.storage.outstanding_jti(jti).await.unwrap();
    assert_eq!(row.user_id, Some(1));
    assert_eq!(row.blacklist_reason, None);
    s.drf_verify(&token)
        .await
        .expect(201, json!({"pk": iat, "token": token}));

    // Form bodies too; the settings shape the claims.
    let s = server(
        db,
        "jwt_expiration_delta = \"10m\"\njwt_payload_include_user_id = false",
    )
    .await;
    let r = s
        .post_raw(
            "/api-token-auth/",
            Some("application/x-www-form-urlencoded"),
            "username=alice&password=pw-alice-1",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = claims(&r.str("token"));
    assert_eq!(c["exp"], c["iat"].as_i64().unwrap() + 600);
    assert!(c.get("user_id").is_none());
}

async fn drf_jwt_obtain_refusals(db: Db) {
    let s = server(db, "").await;
    let obtain = |body: Value| {
        let s = &s;
        async move { s.post("/api-token-auth/", body).await }
    };
    for body in [
        json!({"username": "alice", "password": "wrong"}),
        json!({"username": "bob", "password": "pw-bob-1"}),
        json!({"username": "nobody", "password": "pw-alice-1"}),
    ] {
        obtain(body)
            .await
            .expect(400, non_field("Unable to log in with provided credentials."));
    }
    // drf-jwt's fields: password first, then the username field it adds.
    let r = obtain(json!({})).await;
    assert_eq!(
        r.text,
        r#"{"password":["This field is required."],"username":["This field is required."]}"#
    );
    let r = obtain(json!({"username": "", "password": null})).await;
    assert_eq!(
        r.text,
        r#"{"password":["This field may not be null."],"username":["This field may not be blank."]}"#
    );
    obtain(json!([1])).await.expect(
        400,
        non_field("Invalid data. Expected a dictionary, but got list."),
    );
    s.post_raw("/api-token-auth/", Some("application/json"), "{x")
        .await
        .expect(
            400,
            json!({"detail": "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"}),
        );
    s.post_raw("/api-token-auth/", Some("text/plain"), "x")
        .await
        .expect(
            415,
            json!({"detail": "Unsupported media type \"text/plain\" in request."}),
        );
    let r = s.get("/api-token-auth/", None).await;
    r.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
    let r = Reply::from(
        s.client
            .request(reqwest::Method::OPTIONS, s.url("/api-token-auth/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text,
        concat!(
            r#"{"name":"Obtain Json Web Token","description":"API View that receives a POST with a user's username and password.\n\nReturns a JSON Web Token that can be used for authenticated requests.","#,
            r#""renders":["application/json"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"],"#,
            r#""actions":{"POST":{"password":{"type":"string","required":true,"read_only":false,"label":"Password"},"#,
            r#""token":{"type":"string","required":false,"read_only":true,"label":"Token"},"#,
            r#""username":{"type":"string","required":true,"read_only":false,"label":"Username"}}}}"#
        )
    );
    // The same path without its slash.
    assert_eq!(
        s.post(
            "/api-token-auth",
            json!({"username": "alice", "password": "pw-alice-1"})
        )
        .await
        .status,
        201
    );
}

async fn drf_jwt_verify(db: Db) {
    let s = server(db, "").await;
    let token = s.drf_obtain().await;
    let iat = claims(&token)["iat"].clone();
    // The token is trimmed, as DRF's CharField does.
    s.drf_verify(&format!("  {token} "))
        .await
        .expect(201, json!({"pk": iat, "token": token}));
    let no_iat = forge(&with(drf_claims(), json!({"iat": null})), KEY);
    s.drf_verify(&no_iat)
        .await
        .expect(201, json!({"pk": null, "token": no_iat}));
    // A token without exp, orig_iat or jti is still a drf-jwt token under "include".
    for changes in [
        json!({"exp": null}),
        json!({"orig_iat": null}),
        json!({"jti": null}),
    ] {
        let t = forge(&with(drf_claims(), changes), KEY);
        assert_eq!(s.drf_verify(&t).await.status, 201);
    }
    let refused = [
        (
            with(drf_claims(), json!({"exp": now() - 1})),
            "Token has expired.",
        ),
        (
            with(drf_claims(), json!({"exp": "soon"})),
            "Error decoding token.",
        ),
        (with(drf_claims(), json!({"nbf": "x"})), "Error decoding token."),
        (with(drf_claims(), json!({"iat": now() + 60})), "Invalid token."),
        (with(drf_claims(), json!({"iat": "x"})), "Invalid token."),
        (with(drf_claims(), json!({"nbf": now() + 60})), "Invalid token."),
        (with(drf_claims(), json!({"aud": "x"})), "Invalid token."),
        (with(drf_claims(), json!({"sub": 5})), "Invalid token."),
        (with(drf_claims(), json!({"username": null})), "Invalid token."),
        (with(drf_claims(), json!({"username": ""})), "Invalid token."),
        (
            with(drf_claims(), json!({"username": "zed"})),
            "User doesn't exist.",
        ),
        (
            with(drf_claims(), json!({"username": "bob"})),
            "User account is disabled.",
        ),
        (
            with(drf_claims(), json!({"jti": "abc"})),
            "\u{201c}abc\u{201d} is not a valid UUID.",
        ),
        // Simple JWT's tokens share the keys but name no username.
        (sj_claims("access", "1"), "Invalid token."),
    ];
    for (claims, message) in refused {
        s.drf_verify(&forge(&claims, KEY))
            .await
            .expect(400, non_field(message));
    }
    for garbage in [
        "garbage".to_string(),
        "x.y.z".into(),
        forge(&drf_claims(), "another-key-another-key-another-key!"),
        format!("{}.bm90anNvbg.xx", token.split('.').next().unwrap()),
    ] {
        s.drf_verify(&garbage)
            .await
            .expect(400, non_field("Error decoding token."));
    }
    for other_alg in [
        alg_none(&drf_claims()),
        forge_alg(&drf_claims(), KEY, jsonwebtoken::Algorithm::HS512),
    ] {
        s.drf_verify(&other_alg)
            .await
            .expect(400, non_field("Invalid token."));
    }
    s.post("/api-token-verify/", json!({}))
        .await
        .expect(400, json!({"token": ["This field is required."]}));
    s.post("/api-token-verify/", json!({"token": " "}))
        .await
        .expect(400, json!({"token": ["This field may not be blank."]}));
}

/// PyJWT reads `exp`, `iat` and `nbf` with Python's `int()`: drf-jwt takes `"1796451329"`.
async fn drf_jwt_times_may_be_numeric_strings(db: Db) {
    let s = server(db, "").await;
    let (issued, later) = (now().to_string(), (now() + 300).to_string());
    let t = forge(
        &with(
            drf_claims(),
            json!({"exp": later, "iat": issued, "nbf": format!(" {issued} ")}),
        ),
        KEY,
    );
    s.drf_verify(&t)
        .await
        .expect(201, json!({"pk": issued, "token": t}));
    s.drf_logout(Some(&format!("Bearer {t}")), json!({}))
        .await
        .expect(201, json!({"token": t}));
    for (claims, message) in [
        (json!({"exp": (now() - 1).to_string()}), "Token has expired."),
        (json!({"exp": "1.5e9"}), "Error decoding token."),
        (json!({"nbf": "1_0_"}), "Error decoding token."),
        (json!({"iat": format!("{}.5", now())}), "Invalid token."),
        (json!({"iat": (now() + 60).to_string()}), "Invalid token."),
    ] {
        s.drf_verify(&forge(&with(drf_claims(), claims.clone()), KEY))
            .await
            .expect(400, non_field(message));
    }
    // Simple JWT's endpoints refuse them: Simple JWT itself fails on them after PyJWT.
    let sj = forge(&with(sj_claims("access", "1"), json!({"exp": later})), KEY);
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": sj})).await.status,
        401
    );
}

async fn drf_jwt_refresh_keeps_the_login(db: Db) {
    let s = server(db, "jwt_expiration_delta = \"10m\"").await;
    let first = s.drf_obtain().await;
    let c1 = claims(&first);
    // A token issued a minute ago, so that the new exp shows.
    let older = forge(
        &with(
            c1.clone(),
            json!({"iat": now() - 60, "exp": now() + 540, "orig_iat": now() - 60}),
        ),
        KEY,
    );
    let r = s.drf_refresh(&older).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let second = r.str("token");
    let c2 = claims(&second);
    assert_eq!(r.body["pk"], c2["iat"]);
    let iat = c2["iat"].as_i64().unwrap();
    assert!(iat >= now() - 1);
    assert_eq!(c2["exp"], iat + 600);
    assert_eq!(c2["orig_iat"], claims(&older)["orig_iat"]);
    assert_ne!(c2["jti"], c1["jti"]);
    assert_eq!(c2["orig_jti"], c1["jti"]);
    let names: Vec<_> = c2.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        names,
        ["username", "iat", "exp", "jti", "user_id", "orig_iat", "orig_jti"]
    );
    // A refreshed token refreshes again, still as the first login.
    let r = s.drf_refresh(&second).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c3 = claims(&r.str("token"));
    assert_eq!(c3["orig_jti"], c1["jti"]);
    assert_eq!(c3["orig_iat"], c2["orig_iat"]);
    // One outstanding row for the whole login.
    let rows = s.storage.outstanding().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].jti, stored_id(c1["jti"].as_str().unwrap()));
    // A float orig_iat is copied as it is.
    let float = forge(&with(drf_claims(), json!({"orig_iat": now() as f64 + 0.5})), KEY);
    let r = s.drf_refresh(&float).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(claims(&r.str("token"))["orig_iat"], claims(&float)["orig_iat"]);
}

async fn drf_jwt_refresh_refusals(db: Db) {
    let s = server(db, "jwt_refresh_expiration_delta = \"1h\"").await;
    let refresh = |claims: Value| {
        let s = &s;
        async move { s.drf_refresh(&forge(&claims, KEY)).await }
    };
    refresh(with(drf_claims(), json!({"orig_iat": now() - 3600 - 5})))
        .await
        .expect(400, non_field("Refresh has expired."));
    assert_eq!(
        refresh(with(drf_claims(), json!({"orig_iat": now() - 3500})))
            .await
            .status,
        201
    );
    refresh(with(drf_claims(), json!({"orig_iat": null})))
        .await
        .expect(400, non_field("orig_iat field not found in token."));
    refresh(with(drf_claims(), json!({"exp": now() - 1})))
        .await
        .expect(400, non_field("Token has expired."));
    refresh(with(drf_claims(), json!({"username": "bob"})))
        .await
        .expect(400, non_field("User account is disabled."));
    refresh(with(drf_claims(), json!({"username": "zed"})))
        .await
        .expect(400, non_field("User doesn't exist."));
    // drf-jwt fails with a 500 here.
    refresh(with(drf_claims(), json!({"orig_iat": "x"})))
        .await
        .expect(400, non_field("Invalid token."));
    s.drf_refresh("garbage")
        .await
        .expect(400, non_field("Error decoding token."));
    s.post("/api-token-refresh/", json!({}))
        .await
        .expect(400, json!({"token": ["This field is required."]}));

    // The default limit is 7 days.
    let s = server(db, "").await;
    let week = 7 * 86_400;
    refresh_with(&s, with(drf_claims(), json!({"orig_iat": now() - week - 5})))
        .await
        .expect(400, non_field("Refresh has expired."));
    assert_eq!(
        refresh_with(&s, with(drf_claims(), json!({"orig_iat": now() - week + 60})))
            .await
            .status,
        201
    );
}

async fn refresh_with(s: &TestServer, claims: Value) -> Reply {
    s.drf_refresh(&forge(&claims, KEY)).await
}

async fn drf_jwt_allow_refresh_false(db: Db) {
    let s = server(db, "jwt_allow_refresh = false").await;
    let token = s.drf_obtain().await;
    assert!(claims(&token).get("orig_iat").is_none());
    s.drf_refresh(&token)
        .await
        .expect(400, non_field("orig_iat field not found in token."));
    assert_eq!(s.drf_verify(&token).await.status, 201);
}

async fn drf_jwt_token_id_off(db: Db) {
    let s = server(db, "jwt_token_id = \"off\"").await;
    let token = s.drf_obtain().await;
    let c = claims(&token);
    assert!(c.get("jti").is_none(), "{c}");
    let r = s.drf_refresh(&token).await;
    assert_eq!(r.status, 201);
    assert!(claims(&r.str("token")).get("orig_jti").is_none());
    // Without ids, drf-jwt blacklists the token itself; jwtd the SHA-256 of its signing input.
    let other = forge(&with(drf_claims(), json!({"jti": null, "exp": now() + 299})), KEY);
    s.drf_logout(Some(&format!("Bearer {token}")), json!({}))
        .await
        .expect(201, json!({"token": token}));
    s.drf_verify(&token)
        .await
        .expect(400, non_field("Token is blacklisted."));
    assert_eq!(s.drf_verify(&other).await.status, 201);
    let row = s
        .storage
        .outstanding_jti(&format!(
            "sha256-input:{}",
            sha256_hex(token.rsplit_once('.').unwrap().0)
        ))
        .await
        .unwrap();
    assert_eq!(row.blacklist_reason.as_deref(), Some("blacklist"));
    // Ids are not looked at: not even a malformed one.
    let odd = forge(&with(drf_claims(), json!({"jti": "abc"})), KEY);
    assert_eq!(s.drf_verify(&odd).await.status, 201);
    // Logged out by an earlier version, which keyed it by the hash of the whole token.
    let earlier = forge(&with(drf_claims(), json!({"jti": null, "exp": now() + 298})), KEY);
    let at = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let record = jwtd::store::OutstandingToken {
        user_id: Some(1),
        jti: format!("sha256:{}", sha256_hex(&earlier)),
        family: None,
        created_at: at,
        expires_at: at + time::Duration::hours(1),
    };
    assert_eq!(s.drf_verify(&earlier).await.status, 201);
    s.state()
        .store
        .blacklist(&record, jwtd::store::Reason::Blacklist)
        .await
        .unwrap();
    s.drf_verify(&earlier)
        .await
        .expect(400, non_field("Token is blacklisted."));
}

async fn drf_jwt_token_id_require(db: Db) {
    let s = server(db, "jwt_token_id = \"require\"").await;
    let without = forge(&with(drf_claims(), json!({"jti": null})), KEY);
    s.drf_verify(&without)
        .await
        .expect(400, non_field("Invalid token."));
    s.drf_refresh(&without)
        .await
        .expect(400, non_field("Invalid token."));
    let only_orig = forge(
        &with(
            drf_claims(),
            json!({"jti": null, "orig_jti": uuid::Uuid::new_v4().to_string()}),
        ),
        KEY,
    );
    s.drf_refresh(&only_orig)
        .await
        .expect(400, non_field("Invalid token."));
    let token = s.drf_obtain().await;
    assert!(claims(&token)["jti"].is_string());
    let refreshed = s.drf_refresh(&token).await.str("token");
    // drf-jwt does not echo the token when it relies on ids.
    s.drf_logout(Some(&format!("Bearer {token}")), json!({}))
        .await
        .expect(201, json!({"token": null}));
    s.drf_verify(&refreshed)
        .await
        .expect(400, non_field("Token is blacklisted."));
    let own = s.drf_obtain().await;
    s.drf_logout(Some(&format!("Bearer {own}")), json!({"token": without}))
        .await
        .expect(400, json!(["Invalid token."]));
}

async fn drf_jwt_logout_from_the_header(db: Db) {
    let s = server(db, "").await;
    let token = s.drf_obtain().await;
    let refreshed = s.drf_refresh(&token).await.str("token");
    let bearer = format!("Bearer {token}");
    s.drf_logout(Some(&bearer), json!({}))
        .await
        .expect(201, json!({"token": token}));
    // The whole login is out: the token and every token refreshed from it.
    for t in [&token, &refreshed] {
        s.drf_verify(t)
            .await
            .expect(400, non_field("Token is blacklisted."));
        s.drf_refresh(t)
            .await
            .expect(400, non_field("Token is blacklisted."));
    }
    // The caller's token is now refused by the authentication itself: 403.
    s.drf_logout(Some(&bearer), json!({}))
        .await
        .expect(403, json!({"detail": "Token is blacklisted."}));
    let row = s
        .storage
        .outstanding_jti(claims(&token)["jti"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(row.blacklist_reason.as_deref(), Some("blacklist"));
    // Other logins go on.
    let other = s.drf_obtain().await;
    assert_eq!(s.drf_verify(&other).await.status, 201);
    // Form bodies without a token log out the caller too.
    let r = s
        .drf_logout_raw(
            reqwest::Method::POST,
            Some(&format!("bearer {other}")),
            "application/x-www-form-urlencoded",
            "x=1",
        )
        .await;
    r.expect(201, json!({"token": other}));
}

async fn drf_jwt_logout_from_the_body(db: Db) {
    let s = server(db, "").await;
    let own = s.drf_obtain().await;
    let other = s.drf_obtain().await;
    let bearer = format!("Bearer {own}");
    s.drf_logout(Some(&bearer), json!({"token": other}))
        .await
        .expect(201, json!({"token": other}));
    s.drf_verify(&other)
        .await
        .expect(400, non_field("Token is blacklisted."));
    assert_eq!(s.drf_verify(&own).await.status, 201);
    // drf-jwt's get_or_create: a second time is no error.
    s.drf_logout(Some(&bearer), json!({"token": other}))
        .await
        .expect(201, json!({"token": other}));
    // A token without id is blacklisted by itself.
    let without = forge(&with(drf_claims(), json!({"jti": null})), KEY);
    s.drf_logout(Some(&bearer), json!({"token": without}))
        .await
        .expect(201, json!({"token": without}));
    s.drf_verify(&without)
        .await
        .expect(400, non_field("Token is blacklisted."));
    // The token to blacklist must be a valid token of an active user.
    for (claims, message) in [
        (
            with(drf_claims(), json!({"username": "zed"})),
            "User doesn't exist.",
        ),
        (
            with(drf_claims(), json!({"username": "bob"})),
            "User account is disabled.",
        ),
        (with(drf_claims(), json!({"username": ""})), "Invalid token."),
        // drf-jwt fails with a 500 for the next three.
        (
            with(drf_claims(), json!({"exp": now() - 1})),
            "Token has expired.",
        ),
        (with(drf_claims(), json!({"iat": now() + 60})), "Invalid token."),
        (
            with(drf_claims(), json!({"jti": "abc"})),
            "\u{201c}abc\u{201d} is not a valid UUID.",
        ),
    ] {
        s.drf_logout(Some(&bearer), json!({"token": forge(&claims, KEY)}))
            .await
            .expect(400, json!([message]));
    }
    s.drf_logout(Some(&bearer), json!({"token": "garbage"}))
        .await
        .expect(400, json!(["Error decoding token."]));
    s.drf_logout(Some(&bearer), json!({"token": ""}))
        .await
        .expect(400, json!({"token": ["This field may not be blank."]}));
    s.drf_logout(Some(&bearer), json!({"token": null}))
        .await
        .expect(400, json!({"token": ["This field may not be null."]}));
    s.drf_logout(Some(&bearer), json!([1])).await.expect(
        400,
        non_field("Invalid data. Expected a dictionary, but got list."),
    );
    assert_eq!(s.drf_verify(&own).await.status, 201);
}

async fn drf_jwt_logout_refusals(db: Db) {
    let s = server(db, "").await;
    let own = s.drf_obtain().await;
    let not_provided = json!({"detail": "Authentication credentials were not provided."});
    for authorization in [
        None,
        Some(format!("JWT {own}")),
        Some(format!("Bearer {own} x")),
        Some(format!("Bearer  {own}")),
        Some("Bearer ".to_string()),
        Some(format!("Token {own}")),
    ] {
        let r = s.drf_logout(authorization.as_deref(), json!({})).await;
        r.expect(401, not_provided.clone());
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
    let forged = |claims: Value| format!("Bearer {}", forge(&claims, KEY));
    for (authorization, message) in [
        ("Bearer garbage".to_string(), "Error decoding token."),
        (
            forged(with(drf_claims(), json!({"exp": now() - 1}))),
            "Token has expired.",
        ),
        (
            forged(with(drf_claims(), json!({"username": null}))),
            "Invalid payload.",
        ),
        (
            forged(with(drf_claims(), json!({"username": "zed"}))),
            "Invalid token.",
        ),
        (
            forged(with(drf_claims(), json!({"username": "bob"}))),
            "User account is disabled.",
        ),
        (format!("Bearer {}", alg_none(&drf_claims())), "Invalid token."),
        // A Simple JWT token names no username: drf-jwt's authentication finds none.
        (forged(sj_claims("access", "1")), "Invalid payload."),
    ] {
        let r = s.drf_logout(Some(&authorization), json!({})).await;
        r.expect(401, json!({"detail": message}));
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
    // DRF authenticates before it looks at the method or the body.
    let r = s.get("/auth/logout/", None).await;
    r.expect(401, not_provided.clone());
    let bearer = format!("Bearer {own}");
    let r = s.get("/auth/logout/", Some(&bearer)).await;
    r.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
    let r = s
        .drf_logout_raw(reqwest::Method::OPTIONS, Some(&bearer), "", "")
        .await;
    assert_eq!(
        r.text,
        concat!(
            r#"{"name":"Blacklist","description":"","renders":["application/json"],"#,
            r#""parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"],"#,
            r#""actions":{"POST":{"token":{"type":"string","required":false,"read_only":false,"label":"Token"}}}}"#
        )
    );
    let r = s
        .drf_logout_raw(reqwest::Method::POST, Some(&bearer), "application/json", "{x")
        .await;
    r.expect(
        400,
        json!({"detail": "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"}),
    );
    let r = s
        .drf_logout_raw(reqwest::Method::POST, None, "application/json", "{x")
        .await;
    r.expect(401, not_provided);
    assert_eq!(s.drf_verify(&own).await.status, 201);
}

async fn drf_jwt_auth_header_prefix(db: Db) {
    let s = server(db, "jwt_auth_header_prefix = \"JWT\"").await;
    let token = s.drf_obtain().await;
    let r = s.drf_logout(Some(&format!("Bearer {token}")), json!({})).await;
    r.expect(
        401,
        json!({"detail": "Authentication credentials were not provided."}),
    );
    assert_eq!(r.header("www-authenticate"), Some("JWT realm=\"api\""));
    s.drf_logout(Some(&format!("JWT {token}")), json!({}))
        .await
        .expect(201, json!({"token": token}));
    s.drf_verify(&token)
        .await
        .expect(400, non_field("Token is blacklisted."));
    // Simple JWT's endpoints keep their own header types.
    let (_, access) = s.login("alice", "pw-alice-1").await;
    assert_eq!(s.me(&access).await.status, 200);
}

async fn drf_jwt_tokens_are_revoked_with_their_user(db: Db) {
    let s = server(db, "").await;
    let drf = s.drf_obtain().await;
    let refreshed = s.drf_refresh(&drf).await.str("token");
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    // What `jwtd token revoke alice` and `jwtd user passwd` do.
    let revoked = s
        .state()
        .store
        .blacklist_user(1, jwtd::store::Reason::Revoke)
        .await
        .unwrap();
    assert_eq!(revoked, 2);
    for t in [&drf, &refreshed] {
        s.drf_verify(t)
            .await
            .expect(400, non_field("Token is blacklisted."));
    }
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));

    // `jwtd token blacklist JTI` with the id a drf-jwt token carries.
    let other = s.drf_obtain().await;
    let jti = claims(&other)["jti"].as_str().unwrap().to_string();
    assert_eq!(
        s.state()
            .store
            .blacklist_jti(&jti, jwtd::store::Reason::Revoke)
            .await
            .unwrap(),
        Some(true)
    );
    s.drf_verify(&other)
        .await
        .expect(400, non_field("Token is blacklisted."));

    // Tokens are signed with jwtd's key ring, kid and all.
    let dir = TempDir::new();
    let key = jwtd::keys::generate(jsonwebtoken::Algorithm::ES256).unwrap();
    let path = dir.path().join("es256.pem");
    std::fs::write(&path, &key).unwrap();
    let storage = Arc::new(Storage::new(db).await);
    let s = TestServer::start_on_without_key(
        storage,
        &format!(
            "{ON}\n[[keys]]\nkid = \"k1\"\nalgorithm = \"ES256\"\nsigning_key = \"file:{}\"\n",
            path.display()
        ),
    )
    .await;
    s.user("alice", "pw-alice-1").await;
    let token = s.drf_obtain().await;
    let header = header_of(&token);
    assert_eq!((&header["alg"], &header["kid"]), (&json!("ES256"), &json!("k1")));
    assert_eq!(s.drf_verify(&token).await.status, 201);
}

/// An ECDSA signature (r, s) has a twin (r, n − s) that verifies as well. Under
/// `jwt_token_id = "off"` a token is blacklisted by itself: its twin must be out with it.
async fn drf_jwt_logout_holds_for_the_malleated_signature(db: Db) {
    let dir = TempDir::new();
    let path = dir.path().join("es256.pem");
    std::fs::write(
        &path,
        jwtd::keys::generate(jsonwebtoken::Algorithm::ES256).unwrap(),
    )
    .unwrap();
    for token_id in ["off", "include"] {
        let s = TestServer::start_on_without_key(
            Arc::new(Storage::new(db).await),
            &format!(
                "{ON}\njwt_token_id = \"{token_id}\"\n[[keys]]\nkid = \"k1\"\nalgorithm = \"ES256\"\n\
                 signing_key = \"file:{}\"\n",
                path.display()
            ),
        )
        .await;
        s.user("alice", "pw-alice-1").await;
        let token = s.drf_obtain().await;
        let twin = with_other_s(&token);
        // High-S signatures are valid (PyJWT makes them half the time): the twin is accepted
        // as long as the token is.
        assert_eq!(s.drf_verify(&twin).await.status, 201, "{token_id}");
        s.drf_logout(Some(&format!("Bearer {token}")), json!({}))
            .await
            .expect(201, json!({"token": token}));
        for t in [&token, &twin] {
            s.drf_verify(t)
                .await
                .expect(400, non_field("Token is blacklisted."));
            s.drf_refresh(t)
                .await
                .expect(400, non_field("Token is blacklisted."));
        }
    }
}

/// The token with its ES256 signature's s replaced by n − s (n: the order of P-256).
fn with_other_s(token: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let n = hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551").unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = b64.decode(signature).unwrap();
    assert_eq!(signature.len(), 64);
    let s = &mut signature[32..];
    let mut borrow = 0;
    for i in (0..32).rev() {
        let d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        s[i] = d.rem_euclid(256) as u8;
    }
    assert_eq!(borrow, 0);
    format!("{input}.{}", b64.encode(&signature))
}

/// RFC 7009's endpoint revokes a drf-jwt token under the key drf-jwt's endpoints look up:
/// a refreshed token's whole login, a token without id by itself.
async fn drf_jwt_tokens_are_revoked_by_rfc_7009(db: Db) {
    let s = server(db, "").await;
    let first = s.drf_obtain().await;
    let refreshed = s.drf_refresh(&first).await.str("token");
    assert!(claims(&refreshed)["orig_jti"].is_string());
    s.post("/api/token/revoke/", json!({"token": refreshed}))
        .await
        .expect(200, json!({}));
    for t in [&first, &refreshed] {
        s.drf_verify(t)
            .await
            .expect(400, non_field("Token is blacklisted."));
        s.drf_refresh(t)
            .await
            .expect(400, non_field("Token is blacklisted."));
    }
    let other = s.drf_obtain().await;
    assert_eq!(s.drf_verify(&other).await.status, 201);

    let s = server(db, "jwt_token_id = \"off\"").await;
    let token = s.drf_obtain().await;
    s.post("/api/token/revoke/", json!({"token": token}))
        .await
        .expect(200, json!({}));
    s.drf_verify(&token)
        .await
        .expect(400, non_field("Token is blacklisted."));
    // (A token obtained in the same second would be the same token: no id tells them apart.)
    let other = forge(&with(drf_claims(), json!({"jti": null, "exp": now() + 299})), KEY);
    assert_eq!(s.drf_verify(&other).await.status, 201);
}

async fn drf_jwt_bad_input_is_never_a_server_error(db: Db) {
    let s = server(db, "").await;
    let own = s.drf_obtain().await;
    let bodies = [
        json!({"token": 5}),
        json!({"token": 1.5}),
        json!({"token": true}),
        json!({"token": [own.clone()]}),
        json!({"token": {"a": 1}}),
        json!({"token": "a".repeat(10_000)}),
        json!({"token": "\u{0}"}),
        json!({"username": 5, "password": 5}),
        json!(null),
        json!("x"),
        json!({"token": forge(&json!({"username": ["alice"]}), KEY)}),
        json!({"token": forge(&json!({"username": {"a": 1}}), KEY)}),
        json!({"token": forge(&json!({"username": "alice", "orig_iat": true}), KEY)}),
        json!({"token": forge(&json!({"username": "alice", "orig_jti": 1.5}), KEY)}),
        json!({"token": forge(&json!({"username": "alice", "orig_jti": 7}), KEY)}),
        json!({"token": forge(&json!({"username": "alice", "exp": 1e300}), KEY)}),
        json!({"token": forge(&json!([1, 2]), KEY)}),
    ];
    for path in [
        "/api-token-auth/",
        "/api-token-refresh/",
        "/api-token-verify/",
        "/auth/logout/",
    ] {
        for body in &bodies {
            let r = s.drf_logout(Some(&format!("Bearer {own}")), body.clone()).await;
            assert!(r.status < 500, "logout {body}: {} {}", r.status, r.text);
            let r = s.post(path, body.clone()).await;
            assert!(r.status < 500, "{path} {body}: {} {}", r.status, r.text);
        }
        let r = s
            .post_raw(
                path,
                Some("multipart/form-data; boundary=zz"),
                "--zz\r\nContent-Disposition: form-data; name=\"token\"; filename=\"t\"\r\n\r\nx\r\n--zz--\r\n",
            )
            .await;
        assert!(r.status < 500, "{path}: {} {}", r.status, r.text);
    }
}
