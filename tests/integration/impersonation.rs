//! `POST /api/token/impersonate/`: drf-jwt's impersonation, on Simple JWT's tokens.

use serde_json::{Value, json};

use crate::both_databases;
use crate::common::*;

both_databases!(
    a_superuser_impersonates_with_a_short_unrefreshable_token,
    impersonation_is_refused_to_whom_it_should_be,
    impersonation_fields_are_checked_as_drf_checks_them,
    staff_may_impersonate_when_configured_and_only_superusers_impersonate_superusers,
    impersonation_by_cookie_needs_the_csrf_token_and_drf_jwt_refuses_its_tokens
);

async fn impersonate(s: &TestServer, access: &str, body: Value) -> Reply {
    let r = s
        .client
        .post(s.url("/api/token/impersonate/"))
        .header("authorization", format!("Bearer {access}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    Reply::from(r).await
}

async fn admin_and_bob(s: &TestServer) -> (i64, i64, String) {
    let admin = s
        .user_with("admin", "pw-admin-1", |u| {
            u.is_superuser = true;
            u.is_staff = true;
        })
        .await;
    let bob = s.user("bob", "pw-bob-1").await;
    let (_, access) = s.login("admin", "pw-admin-1").await;
    (admin.id, bob.id, access)
}

async fn a_superuser_impersonates_with_a_short_unrefreshable_token(db: Db) {
    let s = TestServer::start(db, "impersonation_token_lifetime = \"2m\"").await;
    let (admin, bob, access) = admin_and_bob(&s).await;

    let r = impersonate(&s, &access, json!({"user": bob})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.str("access");
    let c = claims(&token);
    assert_eq!(c["token_type"], "access");
    assert_eq!(c["user_id"], bob.to_string());
    assert_eq!(c["impersonator"], admin.to_string());
    let lifetime = c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 120, "impersonation_token_lifetime");

    // The token acts as bob, and says who is behind it.
    let me = s.me(&token).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], "bob");
    assert_eq!(me.body["impersonator"], admin.to_string());
    // Bob's own tokens say nothing of the kind.
    let (_, own) = s.login("bob", "pw-bob-1").await;
    assert!(s.me(&own).await.body.get("impersonator").is_none());

    // By username too.
    let r = impersonate(&s, &access, json!({"username": "bob"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(claims(&r.str("access"))["user_id"], bob.to_string());

    // Nothing refreshes it.
    let r = s.post("/api/token/refresh/", json!({"refresh": token})).await;
    r.expect_401(invalid("Token has wrong type"));
    let r = s
        .post("/api/token/sliding/refresh/", json!({"token": token}))
        .await;
    r.expect_401(invalid("Token has wrong type"));
    // It cannot start another impersonation (no chains).
    let r = impersonate(&s, &token, json!({"user": admin})).await;
    r.expect(
        403,
        json!({"detail": "An impersonation token cannot impersonate."}),
    );
}

async fn impersonation_is_refused_to_whom_it_should_be(db: Db) {
    let s = TestServer::start(db, "").await;
    let (_, bob, _) = admin_and_bob(&s).await;
    s.user_with("staff", "pw-staff-1", |u| u.is_staff = true).await;
    let carol = s.user("carol", "pw-carol-1").await;

    // No credentials: DRF's 401 before anything else.
    let r = s.post("/api/token/impersonate/", json!({"user": bob})).await;
    r.expect_401(json!({"detail": "Authentication credentials were not provided."}));
    let r = impersonate(&s, "garbage", json!({"user": bob})).await;
    assert_eq!(r.status, 401, "{}", r.text);

    // Neither a plain user nor staff (by default) may impersonate.
    let denied = json!({"detail": "You do not have permission to perform this action."});
    let (_, bob_access) = s.login("bob", "pw-bob-1").await;
    impersonate(&s, &bob_access, json!({"user": carol.id}))
        .await
        .expect(403, denied.clone());
    let (_, staff_access) = s.login("staff", "pw-staff-1").await;
    impersonate(&s, &staff_access, json!({"user": carol.id}))
        .await
        .expect(403, denied.clone());
    // The permission comes before the body: no field errors leak to the unprivileged.
    impersonate(&s, &bob_access, json!({})).await.expect(403, denied);

    // Superusers are not impersonated unless allowed.
    let root = s
        .user_with("root", "pw-root-1", |u| {
            u.is_superuser = true;
            u.is_staff = true;
        })
        .await;
    let (_, admin_access) = s.login("admin", "pw-admin-1").await;
    impersonate(&s, &admin_access, json!({"user": root.id}))
        .await
        .expect(403, json!({"detail": "Superusers cannot be impersonated."}));

    // Only POST.
    let r = s
        .get("/api/token/impersonate/", Some(&format!("Bearer {admin_access}")))
        .await;
    assert_eq!(r.status, 405);

    // Off: not there at all.
    let off = TestServer::start(Db::Sqlite, "impersonation = \"off\"").await;
    let (_, _, access) = admin_and_bob(&off).await;
    let r = impersonate(&off, &access, json!({"user": 2})).await;
    r.expect(404, json!({"detail": "Not found."}));
}

async fn impersonation_fields_are_checked_as_drf_checks_them(db: Db) {
    let s = TestServer::start(db, "").await;
    let (_, _, access) = admin_and_bob(&s).await;
    s.user_with("gone", "pw-gone-1", |u| u.is_active = false).await;
    let cases = [
        (json!({}), json!({"user": ["This field is required."]})),
        (
            json!({"user": null}),
            json!({"user": ["This field may not be null."]}),
        ),
        (
            json!({"user": 999}),
            json!({"user": ["Invalid pk \"999\" - object does not exist."]}),
        ),
        (
            json!({"user": "abc"}),
            json!({"user": ["Incorrect type. Expected pk value, received str."]}),
        ),
        (
            json!({"user": true}),
            json!({"user": ["Incorrect type. Expected pk value, received bool."]}),
        ),
        (
            json!({"username": "nobody"}),
            json!({"username": ["Object with username=nobody does not exist."]}),
        ),
        (
            json!({"username": ""}),
            json!({"username": ["This field may not be blank."]}),
        ),
        (
            json!({"user": 2, "username": "bob"}),
            json!({"non_field_errors": ["Give either user or username, not both."]}),
        ),
        (
            json!({"username": "gone"}),
            json!({"non_field_errors": ["User account is disabled."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = impersonate(&s, &access, body.clone()).await;
        assert_eq!((r.status, &r.body), (400, &expected), "{body}");
    }
    // A numeric string is a primary key, as Django reads it.
    let r = impersonate(&s, &access, json!({"user": "2"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A key out of i64's range is refused as a field error; a body that is not JSON is DRF's parse error.
    for (body, status) in [(r#"{"user": 99999999999999999999}"#, 400), ("{", 400)] {
        let r = s
            .client
            .post(s.url("/api/token/impersonate/"))
            .header("authorization", format!("Bearer {access}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let r = Reply::from(r).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert!(r.body.get("user").is_some() || body == "{", "{}", r.text);
    }
}

async fn staff_may_impersonate_when_configured_and_only_superusers_impersonate_superusers(db: Db) {
    let s = TestServer::start(db, "impersonation = \"staff\"\nimpersonate_superusers = true").await;
    let (admin, bob, _) = admin_and_bob(&s).await;
    s.user_with("staff", "pw-staff-1", |u| u.is_staff = true).await;
    let (_, staff_access) = s.login("staff", "pw-staff-1").await;
    let r = impersonate(&s, &staff_access, json!({"user": bob})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Staff never become a superuser this way.
    impersonate(&s, &staff_access, json!({"user": admin}))
        .await
        .expect(403, json!({"detail": "Superusers cannot be impersonated."}));
    // A superuser may impersonate another one, since the setting allows it.
    let root = s
        .user_with("root", "pw-root-1", |u| {
            u.is_superuser = true;
            u.is_staff = true;
        })
        .await;
    let (_, admin_access) = s.login("admin", "pw-admin-1").await;
    let r = impersonate(&s, &admin_access, json!({"user": root.id})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(claims(&r.str("access"))["user_id"], root.id.to_string());
}

/// Every impersonation is logged at warn level with both users.
#[tokio::test]
async fn impersonation_is_logged_with_both_ids() {
    let dir = TempDir::new();
    for (name, extra) in [("admin", "--superuser"), ("bob", "--staff")] {
        let o = tokio::process::Command::new(BIN)
            .current_dir(dir.path())
            .env_clear()
            .env("JWTD__SIGNING_KEY", KEY)
            .args(["user", "create", name, "--password", "pw-long-enough-1", extra])
            .output()
            .await
            .unwrap();
        assert!(o.status.success(), "{o:?}");
    }
    let (addr, _child, log) = start_binary_logged(
        dir.path(),
        &[("JWTD__SIGNING_KEY", KEY), ("JWTD__LOG_FORMAT", "json")],
    )
    .await;
    let client = reqwest::Client::new();
    let pair: Value = client
        .post(format!("http://{addr}/api/token/"))
        .json(&json!({"username": "admin", "password": "pw-long-enough-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = client
        .post(format!("http://{addr}/api/token/impersonate/"))
        .bearer_auth(pair["access"].as_str().unwrap())
        .json(&json!({"username": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut line = None;
    for _ in 0..50 {
        line = log
            .lock()
            .unwrap()
            .lines()
            .find(|l| l.contains("impersonation token issued"))
            .map(str::to_string);
        if line.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let line: Value = serde_json::from_str(&line.expect("the impersonation is logged")).unwrap();
    assert_eq!(line["level"], "WARN", "{line}");
    assert_eq!(
        (&line["impersonator"], &line["user"]),
        (&json!(1), &json!(2)),
        "{line}"
    );
}

/// With the access token in a cookie, impersonating is an unsafe cookie-authenticated
/// request: the CSRF token is required. drf-jwt's endpoints (same keys) take neither
/// impersonation tokens nor Simple JWT's, even when those carry a `username` claim.
async fn impersonation_by_cookie_needs_the_csrf_token_and_drf_jwt_refuses_its_tokens(db: Db) {
    let s = TestServer::start(
        db,
        "auth_cookie = \"refresh\"\nauth_cookie_access = \"access\"\ndrf_jwt_endpoints = true\nuser_id_claim = \"username\"\nuser_id_field = \"username\"",
    )
    .await;
    let (_, bob, access) = admin_and_bob(&s).await;
    let cookie = format!("access={access}; csrftoken=abcdefghijklmnopqrstuvwxyz012345");
    let post = |csrf: Option<&'static str>| {
        let mut req = s
            .client
            .post(s.url("/api/token/impersonate/"))
            .header("cookie", cookie.clone())
            .json(&json!({"username": "bob"}));
        if let Some(token) = csrf {
            req = req.header("x-csrftoken", token);
        }
        async move { Reply::from(req.send().await.unwrap()).await }
    };
    post(None)
        .await
        .expect(403, json!({"detail": "CSRF Failed: CSRF token missing."}));
    let r = post(Some("abcdefghijklmnopqrstuvwxyz012345")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.str("access");
    assert_eq!(claims(&token)["username"], "bob", "user_id_claim = username");
    assert_eq!(claims(&token)["impersonator"], "admin", "ids are usernames here");
    let _ = bob;

    // drf-jwt's endpoints: neither this token nor the admin's own Simple JWT token, though
    // both carry a `username` claim here.
    for t in [&token, &access] {
        assert!(claims(t).get("username").is_some());
        for path in ["/api-token-verify/", "/api-token-refresh/"] {
            let r = s.post(path, json!({"token": t})).await;
            r.expect(400, json!({"non_field_errors": ["Invalid token."]}));
        }
    }
}
