//! The admin API (`/api/admin/users/…`, its session and event twins) and registration
//! (`/api/register/`), issue 19.

use base64::Engine;
use serde_json::{Value, json};

use crate::both_databases;
use crate::common::*;

both_databases!(
    who_may_call_the_admin_api,
    staff_mode_keeps_staff_away_from_superusers_and_flags,
    service_clients_need_the_admin_scope,
    users_are_created_changed_and_listed_with_django_messages,
    pages_search_and_ordering_as_drf_gives_them,
    deleting_or_resetting_a_user_stops_their_refresh_tokens,
    registration_is_off_by_default_and_validates_when_on,
    two_admins_changing_one_user_at_once_both_succeed,
    the_routes_do_not_exist_when_the_api_is_off,
    admins_list_and_revoke_any_users_sessions,
    admins_read_the_audit_trail_with_filters,
    options_answers_drf_metadata_on_every_account_route
);

const DENIED: &str = "You do not have permission to perform this action.";
const NO_USER: &str = "No User matches the given query.";

/// The PUT action of `OPTIONS /api/me/`: a `ModelSerializer` over Django's `User`, the
/// flags and dates read-only, and the username too unless it is `writable`.
pub fn me_put_fields(writable: bool) -> Value {
    const USERNAME_HELP: &str = "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.";
    let username = if writable {
        json!({"type": "string", "required": true, "read_only": false, "label": "Username",
               "help_text": USERNAME_HELP, "max_length": 150})
    } else {
        json!({"type": "string", "required": false, "read_only": true, "label": "Username",
               "help_text": USERNAME_HELP})
    };
    json!({
        "id": {"type": "integer", "required": false, "read_only": true, "label": "ID"},
        "username": username,
        "email": {"type": "email", "required": false, "read_only": false,
                  "label": "Email address", "max_length": 254},
        "first_name": {"type": "string", "required": false, "read_only": false,
                       "label": "First name", "max_length": 150},
        "last_name": {"type": "string", "required": false, "read_only": false,
                      "label": "Last name", "max_length": 150},
        "is_active": {"type": "boolean", "required": false, "read_only": true, "label": "Active",
                      "help_text": "Designates whether this user should be treated as active. Unselect this instead of deleting accounts."},
        "is_staff": {"type": "boolean", "required": false, "read_only": true, "label": "Staff status",
                     "help_text": "Designates whether the user can log into this admin site."},
        "is_superuser": {"type": "boolean", "required": false, "read_only": true,
                         "label": "Superuser status",
                         "help_text": "Designates that this user has all permissions without explicitly assigning them."},
        "last_login": {"type": "datetime", "required": false, "read_only": true, "label": "Last login"},
        "date_joined": {"type": "datetime", "required": false, "read_only": true, "label": "Date joined"},
    })
}

async fn call(s: &TestServer, method: &str, path: &str, auth: Option<&str>, body: Option<Value>) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.client.request(method, s.url(path));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    Reply::from(req.send().await.unwrap()).await
}

fn bearer(access: &str) -> String {
    format!("Bearer {access}")
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A superuser, a staff member and an ordinary user, with their access tokens.
async fn people(s: &TestServer) -> (String, String, String, i64) {
    s.user_with("root", "pw-root-1", |u| {
        u.is_superuser = true;
        u.is_staff = true;
    })
    .await;
    s.user_with("staffer", "pw-staff-1", |u| u.is_staff = true).await;
    let bob = s.user("bob", "pw-bob-1").await;
    let (_, root) = s.login("root", "pw-root-1").await;
    let (_, staff) = s.login("staffer", "pw-staff-1").await;
    let (_, user) = s.login("bob", "pw-bob-1").await;
    (bearer(&root), bearer(&staff), bearer(&user), bob.id)
}

async fn who_may_call_the_admin_api(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, staff, user, bob) = people(&s).await;
    let r = call(&s, "GET", "/api/admin/users/", None, None).await;
    r.expect_401(json!({"detail": "Authentication credentials were not provided."}));
    let r = call(
        &s,
        "POST",
        "/api/admin/users/",
        None,
        Some(json!({"username": "x"})),
    )
    .await;
    assert_eq!(r.status, 401);
    for auth in [&user, &staff] {
        call(&s, "GET", "/api/admin/users/", Some(auth), None)
            .await
            .expect(403, json!({"detail": DENIED}));
        call(
            &s,
            "DELETE",
            &format!("/api/admin/users/{bob}/"),
            Some(auth),
            None,
        )
        .await
        .expect(403, json!({"detail": DENIED}));
    }
    let r = call(&s, "GET", "/api/admin/users/", Some(&root), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["count"], 3);
    let r = call(&s, "GET", &format!("/api/admin/users/{bob}/"), Some(&root), None).await;
    assert_eq!(r.body["username"], "bob");
    assert_eq!(r.body["has_usable_password"], true);
    assert!(r.body.get("password").is_none());
    call(&s, "GET", "/api/admin/users/999999/", Some(&root), None)
        .await
        .expect(404, json!({"detail": NO_USER}));
    call(&s, "GET", "/api/admin/users/abc/", Some(&root), None)
        .await
        .expect(404, json!({"detail": "Not found."}));
    let r = call(
        &s,
        "PUT",
        &format!("/api/admin/users/{bob}/"),
        Some(&root),
        Some(json!({})),
    )
    .await;
    r.expect(405, json!({"detail": "Method \"PUT\" not allowed."}));

    // An impersonation token reads but never writes.
    let r = s
        .client
        .post(s.url("/api/token/impersonate/"))
        .header("authorization", &root)
        .json(&json!({"username": "staffer"}))
        .send()
        .await
        .unwrap();
    let imp = Reply::from(r).await;
    assert_eq!(imp.status, 200, "{}", imp.text);
    let s2 = TestServer::start_on(s.storage.clone(), "admin_api = \"staff\"").await;
    let imp = bearer(&imp.str("access"));
    assert_eq!(
        call(&s2, "GET", "/api/admin/users/", Some(&imp), None)
            .await
            .status,
        200
    );
    call(
        &s2,
        "PATCH",
        &format!("/api/admin/users/{bob}/"),
        Some(&imp),
        Some(json!({"first_name": "B"})),
    )
    .await
    .expect(403, json!({"detail": DENIED}));
}

async fn staff_mode_keeps_staff_away_from_superusers_and_flags(db: Db) {
    let s = TestServer::start(db, "admin_api = \"staff\"").await;
    let (root, staff, user, bob) = people(&s).await;
    let root_id = s
        .state()
        .store
        .user_by_username("root")
        .await
        .unwrap()
        .unwrap()
        .id;
    call(&s, "GET", "/api/admin/users/", Some(&user), None)
        .await
        .expect(403, json!({"detail": DENIED}));
    let r = call(
        &s,
        "PATCH",
        &format!("/api/admin/users/{bob}/"),
        Some(&staff),
        Some(json!({"last_name": "Builder"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["last_name"]),
        (200, &json!("Builder")),
        "{}",
        r.text
    );
    for (method, path, body) in [
        (
            "PATCH",
            format!("/api/admin/users/{root_id}/"),
            Some(json!({"first_name": "x"})),
        ),
        ("DELETE", format!("/api/admin/users/{root_id}/"), None),
        (
            "POST",
            format!("/api/admin/users/{root_id}/password/"),
            Some(json!({"password": "a-new-long-pw-42"})),
        ),
        (
            "POST",
            format!("/api/admin/users/{root_id}/set-unusable-password/"),
            None,
        ),
        (
            "PATCH",
            format!("/api/admin/users/{bob}/"),
            Some(json!({"is_staff": true})),
        ),
        (
            "PATCH",
            format!("/api/admin/users/{bob}/"),
            Some(json!({"is_superuser": true})),
        ),
        (
            "POST",
            "/api/admin/users/".to_string(),
            Some(json!({"username": "boss", "is_superuser": true})),
        ),
        (
            "POST",
            "/api/admin/users/".to_string(),
            Some(json!({"username": "boss", "is_staff": "true"})),
        ),
    ] {
        call(&s, method, &path, Some(&staff), body)
            .await
            .expect(403, json!({"detail": DENIED}));
    }
    // A staff member still reads a superuser; a superuser grants flags.
    assert_eq!(
        call(
            &s,
            "GET",
            &format!("/api/admin/users/{root_id}/"),
            Some(&staff),
            None
        )
        .await
        .status,
        200
    );
    let r = call(
        &s,
        "PATCH",
        &format!("/api/admin/users/{bob}/"),
        Some(&root),
        Some(json!({"is_staff": true})),
    )
    .await;
    assert_eq!(r.body["is_staff"], true, "{}", r.text);
}

async fn service_clients_need_the_admin_scope(db: Db) {
    let hasher = jwtd::passwords::PasswordHasher::new(1);
    let hash = hasher.hash("svc-secret").await.unwrap();
    let s = TestServer::start(
        db,
        &format!(
            "[[introspection_clients]]\nclient_id = \"gw\"\nsecret_hash = \"{hash}\"\n\
             [[introspection_clients]]\nclient_id = \"ops\"\nsecret_hash = \"{hash}\"\nscopes = [\"admin\"]\n"
        ),
    )
    .await;
    let bob = s.user("bob", "pw-bob-1").await;
    call(
        &s,
        "GET",
        "/api/admin/users/",
        Some(&basic("gw", "svc-secret")),
        None,
    )
    .await
    .expect(403, json!({"detail": DENIED}));
    let r = call(&s, "GET", "/api/admin/users/", Some(&basic("ops", "wrong")), None).await;
    r.expect_401(json!({"detail": "Invalid username/password."}));
    let ops = basic("ops", "svc-secret");
    let r = call(&s, "GET", "/api/admin/users/", Some(&ops), None).await;
    assert_eq!((r.status, &r.body["count"]), (200, &json!(1)), "{}", r.text);
    let r = call(
        &s,
        "PATCH",
        &format!("/api/admin/users/{}/", bob.id),
        Some(&ops),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(r.body["is_active"], false, "{}", r.text);
    // The admin-only client may not introspect.
    let r = Reply::from(
        s.client
            .post(s.url("/api/token/introspect/"))
            .header("authorization", &ops)
            .form(&[("token", "x")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

async fn users_are_created_changed_and_listed_with_django_messages(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, _, _, bob) = people(&s).await;
    let create = |body: Value| call(&s, "POST", "/api/admin/users/", Some(&root), Some(body));
    let r = create(json!({"username": "carol", "password": "a-fine-passphrase-9", "email": "carol@example.com", "first_name": "Carol"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["username"], "carol");
    assert_eq!(r.body["is_active"], true);
    assert_eq!(r.body["has_usable_password"], true);
    s.login("carol", "a-fine-passphrase-9").await;
    let r = create(json!({"username": "dave"})).await;
    assert_eq!(r.body["has_usable_password"], false, "{}", r.text);

    create(json!({"username": "carol"})).await.expect(
        400,
        json!({"username": ["A user with that username already exists."]}),
    );
    create(json!({}))
        .await
        .expect(400, json!({"username": ["This field is required."]}));
    create(json!({"username": "a b", "email": "nope", "first_name": "x".repeat(151)}))
        .await
        .expect(
            400,
            json!({
                "username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."],
                "email": ["Enter a valid email address."],
                "first_name": ["Ensure this field has no more than 150 characters."],
            }),
        );
    create(json!({"username": "x".repeat(151)})).await.expect(
        400,
        json!({"username": ["Ensure this field has no more than 150 characters."]}),
    );
    create(json!({"username": "erin", "is_active": "maybe"}))
        .await
        .expect(400, json!({"is_active": ["Must be a valid boolean."]}));
    create(json!({"username": "erin", "password": "12345678"}))
        .await
        .expect(
            400,
            json!({"password": ["This password is too common.", "This password is entirely numeric."]}),
        );
    create(json!({"username": "erin", "password": "erin-x"}))
        .await
        .expect(
            400,
            json!({"password": [
                "The password is too similar to the username.",
                "This password is too short. It must contain at least 8 characters."
            ]}),
        );

    let path = format!("/api/admin/users/{bob}/");
    let r = call(
        &s,
        "PATCH",
        &path,
        Some(&root),
        Some(json!({"email": "b@example.org", "is_active": "false"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["email"], &r.body["is_active"]),
        (200, &json!("b@example.org"), &json!(false)),
        "{}",
        r.text
    );
    call(
        &s,
        "PATCH",
        &path,
        Some(&root),
        Some(json!({"username": "carol"})),
    )
    .await
    .expect(
        400,
        json!({"username": ["A user with that username already exists."]}),
    );
    let r = call(&s, "PATCH", &path, Some(&root), Some(json!({"username": "bob"}))).await;
    assert_eq!(r.status, 200, "keeping one's own name: {}", r.text);

    call(
        &s,
        "POST",
        &format!("{path}password/"),
        Some(&root),
        Some(json!({})),
    )
    .await
    .expect(400, json!({"password": ["This field is required."]}));
    call(
        &s,
        "POST",
        &format!("{path}password/"),
        Some(&root),
        Some(json!({"password": "short"})),
    )
    .await
    .expect(
        400,
        json!({"password": ["This password is too short. It must contain at least 8 characters."]}),
    );
    call(
        &s,
        "POST",
        "/api/admin/users/999999/password/",
        Some(&root),
        Some(json!({"password": "a-new-long-pw-42"})),
    )
    .await
    .expect(404, json!({"detail": NO_USER}));
}

async fn pages_search_and_ordering_as_drf_gives_them(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, _, _, _) = people(&s).await;
    for i in 0..7 {
        s.user_with(&format!("member{i}"), "pw-m-1", |u| {
            u.first_name = if i % 2 == 0 { "Even".into() } else { "Odd".into() };
        })
        .await;
    }
    let get = |q: &str| {
        let path = format!("/api/admin/users/{q}");
        let (s, root) = (&s, &root);
        async move { call(s, "GET", &path, Some(root), None).await }
    };
    // A NUL is refused as DRF's CharField refuses it (Postgres refused the parameter: a 500).
    get("?search=ab%00c")
        .await
        .expect(400, json!(["Null characters are not allowed."]));
    // DRF's search_smart_split: a quoted phrase is one term, without its quotes; unquoted
    // tokens are split at commas.
    assert_eq!(get("?search=%27Odd%27").await.body["count"], 3);
    assert_eq!(get("?search=member,Odd").await.body["count"], 3);
    assert_eq!(get("?search=%22member,Odd%22").await.body["count"], 0);
    let base = s.url("/api/admin/users/");
    let r = get("?page_size=3&ordering=username").await;
    assert_eq!(r.body["count"], 10);
    assert_eq!(r.body["previous"], Value::Null);
    assert_eq!(
        r.body["next"],
        format!("{base}?ordering=username&page=2&page_size=3")
    );
    let names: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "member0", "member1"]);
    let r = get("?page_size=3&ordering=username&page=2").await;
    assert_eq!(
        r.body["previous"],
        format!("{base}?ordering=username&page_size=3")
    );
    let r = get("?page_size=3&ordering=username&page=4").await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["next"], Value::Null);
    assert_eq!(
        r.body["previous"],
        format!("{base}?ordering=username&page=3&page_size=3")
    );
    for page in ["0", "5", "x", "-1", ""] {
        get(&format!("?page_size=3&page={page}"))
            .await
            .expect(404, json!({"detail": "Invalid page."}));
    }
    assert_eq!(
        get("?page=last&page_size=3").await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get("?page_size=1000").await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        get("?page_size=0").await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        10
    );

    let r = get("?search=EVEN&ordering=-id").await;
    assert_eq!(r.body["count"], 4);
    assert_eq!(r.body["results"][0]["username"], "member6");
    assert_eq!(get("?search=member+odd").await.body["count"], 3);
    assert_eq!(get("?search=example.test").await.body["count"], 10);
    assert_eq!(get("?search=%25").await.body["count"], 0, "% is taken literally");
    assert_eq!(get("?is_staff=1").await.body["count"], 2);
    assert_eq!(get("?is_staff=false&is_active=true").await.body["count"], 8);
    get("?is_staff=perhaps")
        .await
        .expect(400, json!({"is_staff": ["Must be a valid boolean."]}));
    let r = get("?ordering=-username,nonsense").await;
    assert_eq!(r.body["results"][0]["username"], "staffer");
    let r = get("?ordering=nonsense").await;
    assert_eq!(r.body["results"][0]["username"], "root", "the default: id");
    assert_eq!(get("?ordering=last_login").await.status, 200);
}

async fn deleting_or_resetting_a_user_stops_their_refresh_tokens(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, _, _, bob) = people(&s).await;
    let carol = s.user("carol", "pw-carol-1").await;
    let (bob_refresh, _) = s.login("bob", "pw-bob-1").await;
    let (carol_refresh, _) = s.login("carol", "pw-carol-1").await;
    let (carol_kept, _) = s.login("carol", "pw-carol-1").await;

    let r = call(
        &s,
        "DELETE",
        &format!("/api/admin/users/{bob}/"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    s.post("/api/token/refresh/", json!({"refresh": bob_refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    call(
        &s,
        "DELETE",
        &format!("/api/admin/users/{bob}/"),
        Some(&root),
        None,
    )
    .await
    .expect(404, json!({"detail": NO_USER}));

    let path = format!("/api/admin/users/{}/password/", carol.id);
    let r = call(
        &s,
        "POST",
        &path,
        Some(&root),
        Some(json!({"password": "a-new-long-pw-42", "keep_sessions": true})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": carol_kept}))
            .await
            .status,
        200
    );
    let r = call(
        &s,
        "POST",
        &path,
        Some(&root),
        Some(json!({"password": "another-long-pw-43"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    s.post("/api/token/refresh/", json!({"refresh": carol_refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    s.login("carol", "another-long-pw-43").await;

    let r = call(
        &s,
        "POST",
        &format!("/api/admin/users/{}/set-unusable-password/", carol.id),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s
        .post(
            "/api/token/",
            json!({"username": "carol", "password": "another-long-pw-43"}),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = call(
        &s,
        "GET",
        &format!("/api/admin/users/{}/", carol.id),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(r.body["has_usable_password"], false);
}

async fn registration_is_off_by_default_and_validates_when_on(db: Db) {
    let s = TestServer::start(db, "").await;
    s.post(
        "/api/register/",
        json!({"username": "neo", "password": "a-fine-passphrase-9"}),
    )
    .await
    .expect(404, json!({"detail": "Not found."}));
    let s = TestServer::start(db, "registration = true\nregistration_active = false").await;
    let r = s
        .post(
            "/api/register/",
            json!({"username": "neo", "password": "a-fine-passphrase-9", "is_superuser": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (&r.body["is_superuser"], &r.body["is_active"]),
        (&json!(false), &json!(false))
    );
    s.post(
        "/api/register/",
        json!({"username": "neo", "password": "a-fine-passphrase-9"}),
    )
    .await
    .expect(
        400,
        json!({"username": ["A user with that username already exists."]}),
    );
    s.post("/api/register/", json!({})).await.expect(
        400,
        json!({"username": ["This field is required."], "password": ["This field is required."]}),
    );
    s.post(
        "/api/register/",
        json!({"username": "trin", "password": "password"}),
    )
    .await
    .expect(400, json!({"password": ["This password is too common."]}));
    s.post(
        "/api/register/",
        json!({"username": "trin", "password": "a-fine-passphrase-9", "email": "x@"}),
    )
    .await
    .expect(400, json!({"email": ["Enter a valid email address."]}));
}

async fn two_admins_changing_one_user_at_once_both_succeed(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, _, _, bob) = people(&s).await;
    s.user_with("root2", "pw-root-2", |u| u.is_superuser = true).await;
    let (_, root2) = s.login("root2", "pw-root-2").await;
    let root2 = bearer(&root2);
    let path = format!("/api/admin/users/{bob}/");
    for round in 0..5 {
        let first = format!("F{round}");
        let last = format!("L{round}");
        let (a, b) = tokio::join!(
            call(
                &s,
                "PATCH",
                &path,
                Some(&root),
                Some(json!({"first_name": first}))
            ),
            call(&s, "PATCH", &path, Some(&root2), Some(json!({"last_name": last}))),
        );
        assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
        let r = call(&s, "GET", &path, Some(&root), None).await;
        assert_eq!(
            (&r.body["first_name"], &r.body["last_name"]),
            (&json!(first), &json!(last))
        );
    }
}

async fn the_routes_do_not_exist_when_the_api_is_off(db: Db) {
    let s = TestServer::start(db, "admin_api = \"off\"").await;
    let (root, _, _, _) = people(&s).await;
    call(&s, "GET", "/api/admin/users/", Some(&root), None)
        .await
        .expect(404, json!({"detail": "Not found."}));
    let schema = s.get("/api/schema/", None).await;
    assert!(!schema.text.contains("/api/admin/users/"));
    let s = TestServer::start(db, "").await;
    let schema = s.get("/api/schema/", None).await;
    assert!(schema.text.contains("/api/admin/users/{id}/password/"));
    assert!(!schema.text.contains("/api/register/"));
}

async fn admins_list_and_revoke_any_users_sessions(db: Db) {
    let s = TestServer::start(db, "admin_api = \"staff\"").await;
    let (root, staff, user, bob) = people(&s).await;
    let (refresh_a, _) = s.login("bob", "pw-bob-1").await;
    let (refresh_b, _) = s.login("bob", "pw-bob-1").await;
    let a = claims(&refresh_a)["jti"].as_str().unwrap().to_string();
    let b = claims(&refresh_b)["jti"].as_str().unwrap().to_string();
    let path = format!("/api/admin/users/{bob}/sessions/");

    // A plain user may do none of it.
    for (method, p) in [
        ("GET", path.clone()),
        ("DELETE", path.clone()),
        ("DELETE", format!("/api/admin/sessions/{a}/")),
        ("GET", "/api/admin/events/".to_string()),
    ] {
        call(&s, method, &p, Some(&user), None)
            .await
            .expect(403, json!({"detail": DENIED}));
    }

    // bob logged in three times (one in `people`).
    let r = call(&s, "GET", &path, Some(&root), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["count"], 3);
    assert_eq!(r.body["next"], Value::Null);
    let results = r.body["results"].as_array().unwrap();
    assert!(results.iter().all(|s| s["current"] == false));
    let ids: Vec<&str> = results.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()));
    call(&s, "GET", "/api/admin/users/999999/sessions/", Some(&root), None)
        .await
        .expect(404, json!({"detail": NO_USER}));

    let one = call(
        &s,
        "GET",
        &format!("/api/admin/sessions/{a}/"),
        Some(&staff),
        None,
    )
    .await;
    assert_eq!((one.status, &one.body["id"]), (200, &json!(a)), "{}", one.text);
    // One session: its refresh token is blacklisted, the others live.
    let r = call(
        &s,
        "DELETE",
        &format!("/api/admin/sessions/{a}/"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    s.post("/api/token/refresh/", json!({"refresh": refresh_a}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    call(
        &s,
        "DELETE",
        &format!("/api/admin/sessions/{a}/"),
        Some(&root),
        None,
    )
    .await
    .expect(404, json!({"detail": "Not found."}));
    call(
        &s,
        "DELETE",
        "/api/admin/sessions/no-such-session/",
        Some(&root),
        None,
    )
    .await
    .expect(404, json!({"detail": "Not found."}));
    let r = call(&s, "GET", &path, Some(&root), None).await;
    assert_eq!(r.body["count"], 2);
    let events = call(
        &s,
        "GET",
        &format!("/api/admin/events/?user={bob}&type=session_revoked"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(events.body["count"], 1, "{}", events.text);
    assert_eq!(events.body["results"][0]["session"], a.as_str());

    // In staff mode a staff member may revoke bob's sessions but never a superuser's.
    let (root_refresh, _) = s.login("root", "pw-root-1").await;
    let root_session = claims(&root_refresh)["jti"].as_str().unwrap().to_string();
    let root_id = claims(&root_refresh)["user_id"].clone();
    let root_id = root_id
        .as_i64()
        .or_else(|| root_id.as_str().and_then(|v| v.parse().ok()))
        .unwrap();
    call(
        &s,
        "DELETE",
        &format!("/api/admin/sessions/{root_session}/"),
        Some(&staff),
        None,
    )
    .await
    .expect(403, json!({"detail": DENIED}));
    call(
        &s,
        "DELETE",
        &format!("/api/admin/users/{root_id}/sessions/"),
        Some(&staff),
        None,
    )
    .await
    .expect(403, json!({"detail": DENIED}));
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": root_refresh}))
            .await
            .status,
        200
    );

    // All of them.
    let r = call(&s, "DELETE", &path, Some(&staff), None).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    s.post("/api/token/refresh/", json!({"refresh": refresh_b}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    let r = call(&s, "GET", &path, Some(&root), None).await;
    assert_eq!(r.body["count"], 0);
    call(&s, "PUT", &path, Some(&root), None)
        .await
        .expect(405, json!({"detail": "Method \"PUT\" not allowed."}));
}

async fn admins_read_the_audit_trail_with_filters(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, _, user, bob) = people(&s).await;
    let r = s
        .post("/api/token/", json!({"username": "bob", "password": "wrong"}))
        .await;
    assert_eq!(r.status, 401);

    let r = call(&s, "GET", "/api/admin/events/", Some(&root), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Three logins and a failed one, newest first.
    assert_eq!(r.body["count"], 4);
    assert_eq!(r.body["results"][0]["type"], "login_failed");

    let r = call(
        &s,
        "GET",
        &format!("/api/admin/events/?user={bob}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(r.body["count"], 2, "{}", r.text);
    let r = call(
        &s,
        "GET",
        &format!("/api/admin/events/?user={bob}&type=login_succeeded&since=2000-01-01T00:00:00Z"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(r.body["count"], 1, "{}", r.text);
    assert_eq!(r.body["results"][0]["type"], "login_succeeded");
    let r = call(
        &s,
        "GET",
        "/api/admin/events/?until=2000-01-01",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(r.body["count"], 0, "{}", r.text);
    let r = call(
        &s,
        "GET",
        "/api/admin/events/?page_size=1&page=2",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1, "{}", r.text);

    call(&s, "GET", "/api/admin/events/?since=yesterday", Some(&root), None)
        .await
        .expect(400, json!({"since": ["Enter a valid date/time."]}));
    call(&s, "GET", "/api/admin/events/?since=yesterday", Some(&user), None)
        .await
        .expect(403, json!({"detail": DENIED}));
}

/// OPTIONS on every route of the admin API, the self-service account and session views and
/// registration answers DRF's `SimpleMetadata` (after authentication and the permission
/// check, as DRF's `initial()` runs them), with the POST action's fields to a caller who may
/// write, and `Allow` names OPTIONS.
async fn options_answers_drf_metadata_on_every_account_route(db: Db) {
    let s = TestServer::start(db, "registration = true").await;
    let (root, _staff, user, bob) = people(&s).await;
    let admin_routes = [
        ("/api/admin/users/".to_string(), "User List", true),
        (format!("/api/admin/users/{bob}/"), "User Instance", false),
        (format!("/api/admin/users/{bob}/password/"), "Set password", true),
        (
            format!("/api/admin/users/{bob}/set-unusable-password/"),
            "Set unusable password",
            false,
        ),
        (format!("/api/admin/users/{bob}/sessions/"), "Session List", false),
        (
            "/api/admin/sessions/some-session/".to_string(),
            "Session Instance",
            false,
        ),
        ("/api/admin/events/".to_string(), "Event List", false),
    ];
    let own_routes = [
        ("/api/me/", "Me", true),
        ("/api/me/password/", "Password Change", true),
        ("/api/me/sessions/", "Session List", false),
        ("/api/me/sessions/some-session/", "Session Instance", false),
        ("/api/me/sessions/revoke-others/", "Revoke others", false),
        ("/api/me/events/", "Event List", false),
    ];
    let check = |r: &Reply, name: &str, actions: bool| {
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("allow").unwrap().ends_with("OPTIONS"), "{name}");
        assert_eq!(r.body["name"], name);
        assert!(r.body["description"].is_string());
        assert_eq!(r.body["renders"], json!(["application/json"]));
        assert_eq!(
            r.body["parses"],
            json!([
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data"
            ])
        );
        assert_eq!(r.body.get("actions").is_some(), actions, "{name}: {}", r.text);
    };
    for (path, name, actions) in &admin_routes {
        check(
            &call(&s, "OPTIONS", path, Some(&root), None).await,
            name,
            *actions,
        );
        // A user the mode does not allow: DRF's 403; anonymous: 401.
        call(&s, "OPTIONS", path, Some(&user), None)
            .await
            .expect(403, json!({"detail": DENIED}));
        assert_eq!(call(&s, "OPTIONS", path, None, None).await.status, 401, "{path}");
    }
    for (path, name, actions) in own_routes {
        check(&call(&s, "OPTIONS", path, Some(&user), None).await, name, actions);
        assert_eq!(call(&s, "OPTIONS", path, None, None).await.status, 401, "{path}");
    }
    // The fields DRF's serializers show.
    let r = call(&s, "OPTIONS", "/api/admin/users/", Some(&root), None).await;
    let post = &r.body["actions"]["POST"];
    assert_eq!(
        post["username"],
        json!({"type": "string", "required": true, "read_only": false, "label": "Username",
               "help_text": "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.",
               "max_length": 150})
    );
    assert_eq!(post["is_staff"]["type"], "boolean");
    assert_eq!(post["id"]["read_only"], true);
    // `/api/me/` takes PUT (a `RetrieveUpdateAPIView`): DRF describes its serializer, every
    // field the answer shows; the username is read-only without `allow_username_change`.
    let r = call(&s, "OPTIONS", "/api/me/", Some(&user), None).await;
    assert_eq!(r.body["actions"].as_object().unwrap().len(), 1, "{}", r.text);
    let (put, expected) = (&r.body["actions"]["PUT"], me_put_fields(false));
    assert_eq!(put, &expected, "{}", r.text);
    // In the serializer's order (the comparison above ignores it).
    let order = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(order(put), order(&expected));
    let r = call(&s, "OPTIONS", "/api/me/password/", Some(&user), None).await;
    let keys: Vec<&String> = r.body["actions"]["POST"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["old_password", "new_password"]);
    // Registration is open to anyone, without the flags.
    let r = call(&s, "OPTIONS", "/api/register/", None, None).await;
    check(&r, "Register", true);
    assert!(r.body["actions"]["POST"].get("is_staff").is_none());
    assert_eq!(r.body["actions"]["POST"]["password"]["required"], true);
    // The document still parses and has no OPTIONS operations of its own.
    let doc = s.get("/api/schema/", None).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["paths"]["/api/admin/users/"].get("options").is_none());
}
