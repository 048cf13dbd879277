//! `POST /api/token/`: every success and failure class, answered as Simple JWT 5.5.1 does.

use serde_json::json;

use crate::both_databases;
use crate::common::*;

both_databases!(
    returns_a_pair_with_simple_jwt_claims,
    refuses_bad_credentials_with_one_answer,
    validates_fields_as_drf,
    reads_form_and_multipart_bodies,
    answers_bad_bodies_and_methods_as_drf,
    serves_paths_without_the_trailing_slash,
);

async fn returns_a_pair_with_simple_jwt_claims(db: Db) {
    let s = TestServer::start(db, "").await;
    let alice = s.user("alice", "alice-password-1").await;
    assert_eq!(alice.id, 1, "ids count from 1, as Django's auth_user");
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-password-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    let keys: Vec<_> = r.body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["refresh", "access"]);

    let refresh = claims(&r.str("refresh"));
    let access = claims(&r.str("access"));
    for (token, kind, lifetime) in [(&refresh, "refresh", 86_400), (&access, "access", 300)] {
        let names: Vec<_> = token.as_object().unwrap().keys().cloned().collect();
        // `sid`: jwtd's session id (issue 19), an additive claim.
        assert_eq!(
            names,
            ["token_type", "exp", "iat", "jti", "user_id", "sid"],
            "{kind}"
        );
        assert_eq!(token["token_type"], kind);
        assert_eq!(token["user_id"], "1", "Simple JWT 5.5 writes the id as a string");
        assert_eq!(
            token["exp"].as_i64().unwrap() - token["iat"].as_i64().unwrap(),
            lifetime
        );
        let jti = token["jti"].as_str().unwrap();
        assert!(
            jti.len() == 32 && jti.bytes().all(|b| b.is_ascii_hexdigit()),
            "uuid4 hex: {jti}"
        );
        assert!((token["iat"].as_i64().unwrap() - now()).abs() <= 2);
    }
    assert_ne!(refresh["jti"], access["jti"]);
    assert_eq!(header_of(&r.str("access")), json!({"alg": "HS256", "typ": "JWT"}));
    // Both tokens are good for what they are meant for.
    assert_eq!(s.me(&r.str("access")).await.status, 200);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": r.str("refresh")}))
            .await
            .status,
        200
    );
}

async fn refuses_bad_credentials_with_one_answer(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "alice-password-1").await;
    s.user_with("bob", "bob-password-1", |u| u.is_active = false)
        .await;
    let refused = json!({"detail": "No active account found with the given credentials"});
    for (username, password) in [
        ("alice", "wrong"),
        ("nobody", "alice-password-1"),
        ("bob", "bob-password-1"),
        ("ALICE", "alice-password-1"),
        ("alice", "Alice-password-1"),
    ] {
        let r = s
            .post("/api/token/", json!({"username": username, "password": password}))
            .await;
        r.expect_401(refused.clone());
    }
    // DRF trims CharFields, passwords included.
    let r = s
        .post(
            "/api/token/",
            json!({"username": " alice ", "password": " alice-password-1  "}),
        )
        .await;
    assert_eq!(r.status, 200);
    // Extra fields are ignored.
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-password-1", "extra": 1}),
        )
        .await;
    assert_eq!(r.status, 200);
}

async fn validates_fields_as_drf(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("123", "456").await;
    let required = json!(["This field is required."]);
    let cases = [
        (json!({}), json!({"username": required, "password": required})),
        (json!({"username": "a"}), json!({"password": required})),
        (
            json!({"username": "", "password": null}),
            json!({"username": ["This field may not be blank."], "password": ["This field may not be null."]}),
        ),
        (
            json!({"username": "   ", "password": "x"}),
            json!({"username": ["This field may not be blank."]}),
        ),
        (
            json!({"username": true, "password": [1]}),
            json!({"username": ["Not a valid string."], "password": ["Not a valid string."]}),
        ),
        (
            json!({"username": {}, "password": 1.5}),
            json!({"username": ["Not a valid string."]}),
        ),
        (
            json!({"username": "a\u{0}b", "password": "x"}),
            json!({"username": ["Null characters are not allowed."]}),
        ),
        (
            json!([]),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ),
        (
            json!("x"),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
        ),
        (
            json!(12),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}),
        ),
        (json!(null), json!({"non_field_errors": ["No data provided"]})),
    ];
    for (body, errors) in cases {
        let r = s.post("/api/token/", body.clone()).await;
        assert_eq!((r.status, &r.body), (400, &errors), "body {body}");
        assert!(r.header("www-authenticate").is_none());
    }
    let r = s
        .post_raw(
            "/api/token/",
            Some("application/json"),
            r#"{"username":"\ud800","password":"x"}"#,
        )
        .await;
    r.expect(
        400,
        json!({"username": ["Surrogate characters are not allowed: U+D800."]}),
    );
    // Numbers pass as their text, as in DRF.
    let r = s
        .post("/api/token/", json!({"username": 123, "password": 456}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn reads_form_and_multipart_bodies(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "alice-password-1").await;
    let form = s
        .client
        .post(s.url("/api/token/"))
        .form(&[("username", "alice"), ("password", "alice-password-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(Reply::from(form).await.status, 200);
    let multipart = reqwest::multipart::Form::new()
        .text("username", "alice")
        .text("password", "alice-password-1");
    let r = Reply::from(
        s.client
            .post(s.url("/api/token/"))
            .multipart(multipart)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The last of repeated form keys wins, as in Django's QueryDict.
    let r = s
        .post_raw(
            "/api/token/",
            Some("application/x-www-form-urlencoded"),
            "username=alice&password=alice-password-1&password=x",
        )
        .await;
    assert_eq!(r.status, 401);
    let r = s
        .post_raw(
            "/api/token/",
            Some("application/x-www-form-urlencoded"),
            "username=alice",
        )
        .await;
    r.expect(400, json!({"password": ["This field is required."]}));
    let upload = reqwest::multipart::Form::new()
        .part(
            "username",
            reqwest::multipart::Part::bytes(b"alice".to_vec()).file_name("u.txt"),
        )
        .text("password", "x");
    let r = Reply::from(
        s.client
            .post(s.url("/api/token/"))
            .multipart(upload)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.expect(400, json!({"username": ["Not a valid string."]}));
}

async fn answers_bad_bodies_and_methods_as_drf(db: Db) {
    let s = TestServer::start(db, "").await;
    let required = json!({"username": ["This field is required."], "password": ["This field is required."]});
    s.post_raw("/api/token/", Some("application/json"), "")
        .await
        .expect(400, required.clone());
    s.post_raw("/api/token/", None, "")
        .await
        .expect(400, required.clone());
    s.post_raw("/api/token/", Some("text/plain"), "")
        .await
        .expect(400, required);
    s.post_raw("/api/token/", Some("text/plain"), "x").await.expect(
        415,
        json!({"detail": "Unsupported media type \"text/plain\" in request."}),
    );
    s.post_raw("/api/token/", None, "x")
        .await
        .expect(415, json!({"detail": "Unsupported media type \"\" in request."}));
    s.post_raw("/api/token/", Some("application/json"), "{bad").await.expect(
        400,
        json!({"detail": "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"}),
    );
    s.post_raw("/api/token/", Some("application/json"), "{\"username\":\"a\",}").await.expect(
        400,
        json!({"detail": "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 17 (char 16)"}),
    );
    s.post_raw("/api/token/", Some("application/json"), vec![0xffu8]).await.expect(
        400,
        json!({"detail": "JSON parse error - 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"}),
    );
    s.post_raw("/api/token/", Some("multipart/form-data"), "xx")
        .await
        .expect(
            400,
            json!({"detail": "Multipart form parse error - Invalid boundary in multipart: None"}),
        );
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        let r = Reply::from(
            s.client
                .request(method.parse().unwrap(), s.url("/api/token/"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.expect(
            405,
            json!({"detail": format!("Method \"{method}\" not allowed.")}),
        );
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    }
    let r = Reply::from(
        s.client
            .request(reqwest::Method::OPTIONS, s.url("/api/token/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "Token Obtain Pair");
    assert_eq!(r.body["actions"]["POST"]["password"]["label"], "Password");
    let r = s.get("/no/such/path/", None).await;
    r.expect(404, json!({"detail": "Not found."}));
    // Headers Django's SecurityMiddleware adds.
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("same-origin"));
}

async fn serves_paths_without_the_trailing_slash(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "alice-password-1").await;
    let r = s
        .post(
            "/api/token",
            json!({"username": "alice", "password": "alice-password-1"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let access = r.str("access");
    assert_eq!(
        s.post("/api/token/verify", json!({"token": access})).await.status,
        200
    );
    assert_eq!(
        s.post("/api/token/refresh", json!({"refresh": r.str("refresh")}))
            .await
            .status,
        200
    );
    assert_eq!(
        s.get("/api/me", Some(&format!("Bearer {access}"))).await.status,
        200
    );
}
