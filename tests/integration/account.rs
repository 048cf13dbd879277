//! Self-service (issue 19): `PATCH`/`PUT /api/me/` and `POST /api/me/password/`.

use jwtd::store::{EventFilter, EventType, Page};
use serde_json::{Value, json};

use crate::both_databases;
use crate::common::*;

both_databases!(
    the_profile_changes_with_django_messages,
    the_username_changes_only_when_allowed,
    impersonation_tokens_cannot_write,
    a_password_change_checks_the_old_and_the_new_password,
    a_password_change_ends_the_other_sessions_and_answers_a_fresh_pair,
    wrong_old_passwords_are_throttled_as_logins
);

const DENIED: &str = "You do not have permission to perform this action.";
const OLD_WRONG: &str = "Your old password was entered incorrectly. Please enter it again.";
const REQUIRED: &str = "This field is required.";
/// No address rate: these tests make more requests than a minute's logins.
const NO_RATE: &str = "throttle_login_rate = \"\"";

async fn call(s: &TestServer, method: &str, path: &str, access: Option<&str>, body: Value) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.client.request(method, s.url(path)).json(&body);
    if let Some(a) = access {
        req = req.bearer_auth(a);
    }
    Reply::from(req.send().await.unwrap()).await
}

async fn patch(s: &TestServer, access: &str, body: Value) -> Reply {
    call(s, "PATCH", "/api/me/", Some(access), body).await
}

async fn change(s: &TestServer, access: &str, body: Value) -> Reply {
    call(s, "POST", "/api/me/password/", Some(access), body).await
}

async fn events(s: &TestServer, user_id: i64, kind: EventType) -> Vec<jwtd::store::Event> {
    let filter = EventFilter {
        user_id: Some(user_id),
        kind: Some(kind),
        ..Default::default()
    };
    let page = Page {
        offset: 0,
        limit: 100,
    };
    s.state().store.events(&filter, page).await.unwrap().0
}

async fn the_profile_changes_with_django_messages(db: Db) {
    let s = TestServer::start(db, NO_RATE).await;
    let alice = s.user("alice", "pw-alice-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;

    let r = patch(
        &s,
        &access,
        json!({"email": "alice@example.com", "first_name": " Alice ", "last_name": "Liddell"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let me = s.me(&access).await;
    assert_eq!(r.body, me.body, "answered as GET /api/me/ shows the user");
    assert_eq!(
        (&me.body["email"], &me.body["first_name"], &me.body["last_name"]),
        (&json!("alice@example.com"), &json!("Alice"), &json!("Liddell"))
    );
    // Only the fields given change; blank is allowed.
    let r = patch(&s, &access, json!({"last_name": ""})).await;
    assert_eq!(
        (r.status, &r.body["last_name"], &r.body["first_name"]),
        (200, &json!(""), &json!("Alice"))
    );

    patch(&s, &access, json!({"email": "nope"}))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."]}));
    patch(
        &s,
        &access,
        json!({"first_name": "x".repeat(151), "last_name": null, "email": 5}),
    )
    .await
    .expect(
        400,
        json!({
            "email": ["Enter a valid email address."],
            "first_name": ["Ensure this field has no more than 150 characters."],
            "last_name": ["This field may not be null."],
        }),
    );
    patch(&s, &access, json!(["email"])).await.expect(
        400,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    );
    // Read-only fields are ignored, as DRF ignores them: the username (without
    // allow_username_change), the flags, the password.
    let r = patch(
        &s,
        &access,
        json!({"username": "mallory", "is_staff": true, "is_superuser": "yes", "is_active": false,
               "password": "x", "id": 99}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(
        (
            &b["id"],
            &b["username"],
            &b["is_staff"],
            &b["is_superuser"],
            &b["is_active"]
        ),
        (
            &json!(alice.id),
            &json!("alice"),
            &json!(false),
            &json!(false),
            &json!(true)
        )
    );
    assert!(
        s.login("alice", "pw-alice-1").await.1.len() > 10,
        "the password is unchanged"
    );
    // PUT: the same fields (none is required while the username is read-only).
    let r = call(&s, "PUT", "/api/me/", Some(&access), json!({"first_name": "Al"})).await;
    assert_eq!(
        (r.status, &r.body["first_name"]),
        (200, &json!("Al")),
        "{}",
        r.text
    );
    // A form body too.
    let r = Reply::from(
        s.client
            .patch(s.url("/api/me"))
            .bearer_auth(&access)
            .form(&[("last_name", "L")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, &r.body["last_name"]), (200, &json!("L")), "{}", r.text);
    assert_eq!(r.header("allow"), Some("GET, PUT, PATCH, HEAD, OPTIONS"));

    // Authentication first, as GET /api/me/.
    call(&s, "PATCH", "/api/me/", None, json!({"first_name": "x"}))
        .await
        .expect_401(json!({"detail": "Authentication credentials were not provided."}));
    let updated = events(&s, alice.id, EventType::UserUpdated).await;
    assert_eq!(updated.len(), 5, "one event per change that landed");
    assert!(updated.iter().all(|e| e.actor_id == Some(alice.id)));

    // Both operations are described.
    let schema = s.get("/api/schema/", None).await;
    let me = &schema.body["paths"]["/api/me/"];
    assert!(
        me["get"].is_object() && me["patch"].is_object() && me["put"].is_object(),
        "{me}"
    );
    assert!(schema.body["paths"]["/api/me/password/"]["post"].is_object());
}

async fn the_username_changes_only_when_allowed(db: Db) {
    let s = TestServer::start(db, &format!("{NO_RATE}\nallow_username_change = true")).await;
    s.user("alice", "pw-alice-1").await;
    s.user("bob", "pw-bob-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;
    // The username is a writable field, required by PUT, and OPTIONS says so.
    let r = call(&s, "OPTIONS", "/api/me/", Some(&access), json!({})).await;
    assert_eq!(
        r.body["actions"]["PUT"],
        crate::admin::me_put_fields(true),
        "{}",
        r.text
    );
    patch(&s, &access, json!({"username": "bob"})).await.expect(
        400,
        json!({"username": ["A user with that username already exists."]}),
    );
    patch(&s, &access, json!({"username": "a b", "email": "x"})).await.expect(
        400,
        json!({
            "username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."],
            "email": ["Enter a valid email address."],
        }),
    );
    patch(&s, &access, json!({"username": ""}))
        .await
        .expect(400, json!({"username": ["This field may not be blank."]}));
    // Keeping one's own name is no conflict.
    assert_eq!(patch(&s, &access, json!({"username": "alice"})).await.status, 200);
    let r = patch(&s, &access, json!({"username": "alice2"})).await;
    assert_eq!(
        (r.status, &r.body["username"]),
        (200, &json!("alice2")),
        "{}",
        r.text
    );
    assert_eq!(s.me(&access).await.body["username"], "alice2");
    assert!(!s.login("alice2", "pw-alice-1").await.0.is_empty());
    // PUT requires the username once it is writable.
    call(
        &s,
        "PUT",
        "/api/me/",
        Some(&access),
        json!({"email": "a@example.com"}),
    )
    .await
    .expect(400, json!({"username": [REQUIRED]}));
    let r = call(
        &s,
        "PUT",
        "/api/me/",
        Some(&access),
        json!({"username": "alice3", "email": "a@example.com"}),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["username"]),
        (200, &json!("alice3")),
        "{}",
        r.text
    );

    // Off (the default): the username in the body is ignored.
    let off = TestServer::start_on(s.storage.clone(), NO_RATE).await;
    let r = patch(&off, &access, json!({"username": "carol", "first_name": "A"})).await;
    assert_eq!(
        (r.status, &r.body["username"]),
        (200, &json!("alice3")),
        "{}",
        r.text
    );
    call(&off, "PUT", "/api/me/", Some(&access), json!({}))
        .await
        .expect(200, s.me(&access).await.body);
}

async fn impersonation_tokens_cannot_write(db: Db) {
    let s = TestServer::start(db, NO_RATE).await;
    s.user_with("root", "pw-root-1", |u| {
        u.is_superuser = true;
        u.is_staff = true;
    })
    .await;
    s.user("alice", "pw-alice-1").await;
    let (_, root) = s.login("root", "pw-root-1").await;
    let r = Reply::from(
        s.client
            .post(s.url("/api/token/impersonate/"))
            .bearer_auth(&root)
            .json(&json!({"username": "alice"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let imp = r.str("access");
    assert_eq!(s.me(&imp).await.status, 200, "it reads");
    patch(&s, &imp, json!({"first_name": "Eve"}))
        .await
        .expect(403, json!({"detail": DENIED}));
    change(
        &s,
        &imp,
        json!({"old_password": "pw-alice-1", "new_password": "another-long-passphrase"}),
    )
    .await
    .expect(403, json!({"detail": DENIED}));
    assert_eq!(s.me(&imp).await.body["first_name"], "");
    assert!(!s.login("alice", "pw-alice-1").await.0.is_empty());
    // DRF's metadata leaves out the actions its permission check refuses.
    let r = call(&s, "OPTIONS", "/api/me/", Some(&imp), json!({})).await;
    assert_eq!((r.status, &r.body["name"]), (200, &json!("Me")), "{}", r.text);
    assert!(r.body.get("actions").is_none(), "{}", r.text);
}

async fn a_password_change_checks_the_old_and_the_new_password(db: Db) {
    let s = TestServer::start(db, NO_RATE).await;
    s.user("marmaladecat", "pw-cat-1").await;
    let (_, access) = s.login("marmaladecat", "pw-cat-1").await;
    change(&s, &access, json!({})).await.expect(
        400,
        json!({"old_password": [REQUIRED], "new_password": [REQUIRED]}),
    );
    change(&s, &access, json!({"old_password": "", "new_password": null})).await.expect(
        400,
        json!({"old_password": ["This field may not be blank."], "new_password": ["This field may not be null."]}),
    );
    change(
        &s,
        &access,
        json!({"old_password": "pw-cat-2", "new_password": "another-long-passphrase"}),
    )
    .await
    .expect(400, json!({"old_password": [OLD_WRONG]}));
    change(
        &s,
        &access,
        json!({"old_password": "wrong", "new_password": "8675309"}),
    )
    .await
    .expect(
        400,
        json!({
            "old_password": [OLD_WRONG],
            "new_password": [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ],
        }),
    );
    // The user's own attributes count.
    change(
        &s,
        &access,
        json!({"old_password": "pw-cat-1", "new_password": "marmaladecat1"}),
    )
    .await
    .expect(
        400,
        json!({"new_password": ["The password is too similar to the username."]}),
    );
    // Nothing changed: the old password still logs in, the token still works.
    assert!(!s.login("marmaladecat", "pw-cat-1").await.0.is_empty());
    assert_eq!(s.me(&access).await.status, 200);
    // Other methods: authentication first, then 405.
    let r = call(&s, "GET", "/api/me/password/", None, json!({})).await;
    assert_eq!(r.status, 401, "{}", r.text);
    call(&s, "PUT", "/api/me/password/", Some(&access), json!({}))
        .await
        .expect(405, json!({"detail": "Method \"PUT\" not allowed."}));
}

async fn a_password_change_ends_the_other_sessions_and_answers_a_fresh_pair(db: Db) {
    let s = TestServer::start(db, &format!("{NO_RATE}\ncheck_revoke_token = true")).await;
    let alice = s.user("alice", "pw-alice-1").await;
    s.user("bob", "pw-bob-1").await;
    let (refresh_here, access_here) = s.login("alice", "pw-alice-1").await;
    let (refresh_phone, _) = s.login("alice", "pw-alice-1").await;
    let (refresh_bob, _) = s.login("bob", "pw-bob-1").await;

    let r = change(
        &s,
        &access_here,
        json!({"old_password": "pw-alice-1", "new_password": "a-long-passphrase"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["refresh", "access"]);
    let (refresh, access) = (r.str("refresh"), r.str("access"));

    // The fresh pair continues this device's session (update_session_auth_hash): the same
    // `sid`, the only session left, current.
    let sid = claims(&refresh_here)["sid"].clone();
    assert_eq!(claims(&refresh)["sid"], sid);
    assert_eq!(claims(&access)["sid"], sid);
    assert_ne!(jti(&refresh), jti(&refresh_here));
    let listed = call(&s, "GET", "/api/me/sessions/", Some(&access), json!({})).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["count"], 1, "{}", listed.text);
    assert_eq!(listed.body["results"][0]["id"], sid);
    assert_eq!(listed.body["results"][0]["current"], true);

    // The fresh pair works, issued under the new password's fingerprint, and is recorded in
    // the session.
    assert_eq!(s.me(&access).await.body["username"], "alice");
    let row = s.storage.outstanding_jti(&jti(&refresh)).await.unwrap();
    assert_eq!(row.family.as_deref(), sid.as_str());
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(claims(&r.str("access"))["sid"], sid);
    // Every other session of the user is over, and the earlier refresh token of this one,
    // issued under the old password; other users are untouched.
    for old in [&refresh_here, &refresh_phone] {
        s.post("/api/token/refresh/", json!({"refresh": old}))
            .await
            .expect_401(invalid("Token is blacklisted"));
    }
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh_bob}))
            .await
            .status,
        200
    );
    // The old access token of this session stops at once under `check_revoke_token`: the
    // password it was issued under changed.
    let r = s.me(&access_here).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let listed = call(&s, "GET", "/api/me/sessions/", Some(&access), json!({})).await;
    assert_eq!(listed.body["count"], 1, "{}", listed.text);
    // The old password no longer logs in; the new one does.
    assert_eq!(
        s.post(
            "/api/token/",
            json!({"username": "alice", "password": "pw-alice-1"})
        )
        .await
        .status,
        401
    );
    s.login("alice", "a-long-passphrase").await;

    let changed = events(&s, alice.id, EventType::PasswordChanged).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(
        (changed[0].actor_id, changed[0].username.as_deref()),
        (Some(alice.id), Some("alice"))
    );
    assert_eq!(changed[0].session.as_deref(), sid.as_str());
}

async fn wrong_old_passwords_are_throttled_as_logins(db: Db) {
    let s = TestServer::start(db, &format!("{NO_RATE}\nmax_failed_logins = 3")).await;
    s.user("alice", "pw-alice-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;
    let attempt = |old: &'static str| {
        let (s, access) = (&s, &access);
        async move {
            change(
                s,
                access,
                json!({"old_password": old, "new_password": "a-long-passphrase"}),
            )
            .await
        }
    };
    assert_eq!(attempt("guess-1").await.status, 400);
    assert_eq!(attempt("guess-2").await.status, 400);
    let r = s
        .post("/api/token/", json!({"username": "alice", "password": "guess-3"}))
        .await;
    assert_eq!(r.status, 401, "logins and password changes share the budget");
    // The third failure locked the username: the right password gets 429 here and at login.
    let r = attempt("pw-alice-1").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(s.me(&access).await.status, 200, "the session itself goes on");

    // The address rate applies as to logins.
    let s = TestServer::start(db, "throttle_login_rate = \"2/min\"\nmax_failed_logins = 0").await;
    s.user("alice", "pw-alice-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;
    let body = json!({"old_password": "guess", "new_password": "a-long-passphrase"});
    assert_eq!(change(&s, &access, body.clone()).await.status, 400);
    assert_eq!(change(&s, &access, body).await.status, 429);
}
