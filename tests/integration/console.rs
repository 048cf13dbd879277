//! The operator console at `/admin/` (issue 20), over real HTTP as a browser without
//! JavaScript drives it: cookies kept by hand (reqwest's store would drop `Secure` ones on
//! plain http), forms posted with their CSRF token, redirects not followed.

use std::collections::BTreeMap;

use serde_json::json;

use crate::both_databases;
use crate::common::*;

both_databases!(
    signing_in_with_good_and_bad_credentials,
    every_page_and_form_is_refused_to_anonymous_users_plain_users_and_staff,
    staff_mode_lets_staff_do_what_the_admin_api_lets_them,
    forms_without_the_right_csrf_token_or_origin_are_refused,
    every_console_answer_carries_the_security_headers,
    a_deactivated_users_refresh_token_is_refused,
    user_actions_are_applied_audited_and_confirmed,
    an_expired_access_cookie_is_refreshed_silently_and_sign_out_blacklists,
    the_console_does_not_exist_when_off,
    overview_keys_and_settings_show_state_but_no_secrets,
    lists_search_filter_sort_and_page,
    users_are_created_with_the_admin_apis_rules,
    sign_in_is_locked_after_failures_as_the_token_endpoint_is
);

/// A browser without JavaScript: its cookies, and the last page's CSRF token.
struct Browser<'a> {
    s: &'a TestServer,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    csrf: Option<String>,
    /// Sent as `Origin` with every POST, as browsers do.
    origin: Option<String>,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

impl<'a> Browser<'a> {
    fn new(s: &'a TestServer) -> Browser<'a> {
        Browser {
            s,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            csrf: None,
            origin: Some(s.base.clone()),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for line in headers.get_all("set-cookie") {
            let line = line.to_str().unwrap();
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let text = r.text().await.unwrap();
        if let Some(token) = csrf_of(&text) {
            self.csrf = Some(token);
        }
        Page {
            status,
            headers,
            text,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self
            .client
            .get(self.s.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// Posts `fields` with the CSRF token of the last page.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(token) = &self.csrf {
            all.push(("csrfmiddlewaretoken".into(), token.clone()));
        }
        self.post_raw(path, &all).await
    }

    async fn post_raw(&mut self, path: &str, fields: &[(String, String)]) -> Page {
        let mut req = self
            .client
            .post(self.s.url(path))
            .header("cookie", self.cookie_header())
            .form(fields);
        if let Some(origin) = &self.origin {
            req = req.header("origin", origin);
        }
        let r = req.send().await.unwrap();
        self.read(r).await
    }

    async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let page = self.get("/admin/login/").await;
        assert_eq!(page.status, 200);
        self.post("/admin/login/", &[("username", username), ("password", password)])
            .await
    }
}

fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrfmiddlewaretoken\" value=\"")?;
    let rest = &html[at + "name=\"csrfmiddlewaretoken\" value=\"".len()..];
    let token = &rest[..rest.find('"')?];
    (!token.is_empty()).then(|| token.to_string())
}

/// A superuser, a staff member and an ordinary user; their ids.
async fn people(s: &TestServer) -> (i64, i64, i64) {
    let root = s
        .user_with("root", "pw-root-1", |u| {
            u.is_superuser = true;
            u.is_staff = true;
        })
        .await;
    let staff = s.user_with("staffer", "pw-staff-1", |u| u.is_staff = true).await;
    let bob = s.user("bob", "pw-bob-1").await;
    (root.id, staff.id, bob.id)
}

async fn events_of(s: &TestServer, kind: &str) -> Vec<jwtd::store::Event> {
    let filter = jwtd::store::EventFilter {
        kind: jwtd::store::EventType::parse(kind),
        ..Default::default()
    };
    s.state()
        .store
        .events(
            &filter,
            jwtd::store::Page {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .0
}

async fn signing_in_with_good_and_bad_credentials(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, _, _) = people(&s).await;
    let mut b = Browser::new(&s);

    let page = b.sign_in("root", "wrong-password").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("No active account found with the given credentials"),
        "{}",
        page.text
    );
    assert!(!b.cookies.contains_key("jwtd_console_access"));
    assert!(page.text.contains("value=\"root\""), "the username is kept");
    assert_eq!(events_of(&s, "login_failed").await.len(), 1);

    let page = b
        .post("/admin/login/", &[("username", ""), ("password", "")])
        .await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("This field may not be blank."));

    let page = b.sign_in("root", "pw-root-1").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/admin/");
    let cookies = page.set_cookies();
    for name in ["jwtd_console_access", "jwtd_console_refresh", "jwtd_console_csrf"] {
        let c = cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} set: {cookies:?}"));
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/admin/"] {
            assert!(c.contains(attribute), "{name}: {attribute} in {c}");
        }
    }
    let logins = events_of(&s, "login_succeeded").await;
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].user_id, Some(root));
    let page = b.get("/admin/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("id=\"signed-in-as\">root"));
    // Signed in already: the form sends you on.
    assert_eq!(b.get("/admin/login/").await.status, 303);

    // `next` is followed within the console only.
    let mut b = Browser::new(&s);
    b.get("/admin/login/?next=/admin/events/").await;
    let page = b
        .post(
            "/admin/login/",
            &[
                ("username", "root"),
                ("password", "pw-root-1"),
                ("next", "/admin/events/"),
            ],
        )
        .await;
    assert_eq!(page.location(), "/admin/events/");
    for hostile in ["//evil.example/", "https://evil.example/", "/admin//evil.example"] {
        let mut b = Browser::new(&s);
        b.get("/admin/login/").await;
        let page = b
            .post(
                "/admin/login/",
                &[("username", "root"), ("password", "pw-root-1"), ("next", hostile)],
            )
            .await;
        assert_eq!(page.location(), "/admin/", "{hostile}");
    }
}

/// Every page (GET) and form (POST) of the console, with a user id in it.
fn pages(id: i64) -> Vec<String> {
    [
        "/admin/",
        "/admin/users/",
        "/admin/users/new/",
        "/admin/users/{id}/",
        "/admin/users/{id}/delete/",
        "/admin/users/{id}/unusable-password/",
        "/admin/users/{id}/sessions/revoke-all/",
        "/admin/events/",
        "/admin/keys/",
        "/admin/settings/",
    ]
    .iter()
    .map(|p| p.replace("{id}", &id.to_string()))
    .collect()
}

fn forms(id: i64) -> Vec<String> {
    [
        "/admin/users/new/",
        "/admin/users/{id}/",
        "/admin/users/{id}/active/",
        "/admin/users/{id}/password/",
        "/admin/users/{id}/unusable-password/",
        "/admin/users/{id}/delete/",
        "/admin/users/{id}/sessions/revoke/",
        "/admin/users/{id}/sessions/revoke-all/",
    ]
    .iter()
    .map(|p| p.replace("{id}", &id.to_string()))
    .collect()
}

/// The fields that would change something, were the form accepted.
const HARMFUL: &[(&str, &str)] = &[
    ("username", "renamed"),
    ("email", "x@example.test"),
    ("is_active", "false"),
    ("password", "a-New-passw0rd-long"),
    ("password2", "a-New-passw0rd-long"),
];

async fn every_page_and_form_is_refused_to_anonymous_users_plain_users_and_staff(db: Db) {
    let s = TestServer::start(db, "").await;
    let (_, _, bob) = people(&s).await;
    let victim = s.user("victim", "pw-victim-1").await;

    // Nobody: the sign-in page, coming back afterwards.
    let mut anonymous = Browser::new(&s);
    anonymous.get("/admin/login/").await;
    for path in pages(victim.id) {
        let page = anonymous.get(&path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location().starts_with("/admin/login/"), "{path}");
        assert!(!page.text.contains("victim"), "{path}");
    }
    assert_eq!(
        anonymous.get("/admin/users/").await.location(),
        "/admin/login/?next=%2Fadmin%2Fusers%2F"
    );
    for path in forms(victim.id) {
        let page = anonymous.post(&path, HARMFUL).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location().starts_with("/admin/login/"), "{path}");
    }

    // An ordinary user and a staff member (the default mode is superuser): signing in
    // tells them they lack permission, and leaves no session behind.
    for (name, password) in [("bob", "pw-bob-1"), ("staffer", "pw-staff-1")] {
        let mut b = Browser::new(&s);
        let page = b.sign_in(name, password).await;
        assert_eq!(page.status, 403, "{name}");
        assert!(page.text.contains("does not have permission"), "{name}");
        assert!(!page.text.contains("victim"));
        assert!(!b.cookies.contains_key("jwtd_console_refresh"), "{name}");
    }
    let logouts = events_of(&s, "logout").await;
    assert_eq!(logouts.len(), 2, "each refused sign-in's pair is blacklisted");

    // With tokens obtained elsewhere and put in the cookies by hand: refused all the same.
    for (name, password) in [("bob", "pw-bob-1"), ("staffer", "pw-staff-1")] {
        let (refresh, access) = s.login(name, password).await;
        let mut b = Browser::new(&s);
        b.get("/admin/login/").await;
        b.cookies.insert("jwtd_console_access".into(), access);
        b.cookies.insert("jwtd_console_refresh".into(), refresh);
        for path in pages(victim.id) {
            let page = b.get(&path).await;
            assert_eq!(page.status, 403, "{name} {path}");
            assert!(page.text.contains("does not have permission"), "{name} {path}");
            assert!(!page.text.contains("victim"), "{name} {path}: no data");
        }
        for path in forms(victim.id) {
            let page = b.post(&path, HARMFUL).await;
            assert_eq!(page.status, 403, "{name} {path}");
        }
    }
    assert!(
        s.state()
            .store
            .user_by_username("renamed")
            .await
            .unwrap()
            .is_none()
    );
    let after = s.state().store.user_by_id(victim.id).await.unwrap().unwrap();
    assert_eq!(after.username, "victim");
    assert!(after.is_active);
    assert!(
        s.state()
            .hasher
            .verify("pw-victim-1", Some(&after.password))
            .await
            .unwrap()
            .matches
    );
    let _ = bob;
}

async fn staff_mode_lets_staff_do_what_the_admin_api_lets_them(db: Db) {
    let s = TestServer::start(db, "admin_api = \"staff\"").await;
    let (root, _, bob) = people(&s).await;
    let mut b = Browser::new(&s);
    assert_eq!(b.sign_in("staffer", "pw-staff-1").await.status, 303);
    assert_eq!(b.get("/admin/").await.status, 200);
    let page = b.get("/admin/users/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("data-username=\"root\""));
    assert!(
        !page.text.contains("id=\"nav-settings\""),
        "no configuration pages offered"
    );
    for path in ["/admin/keys/", "/admin/settings/"] {
        assert_eq!(b.get(path).await.status, 403, "{path}");
    }

    // A superuser's page: shown read-only; every change refused.
    let page = b.get(&format!("/admin/users/{root}/")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("id=\"read-only\""));
    let (root_refresh, _) = s.login("root", "pw-root-1").await;
    let root_session = claims(&root_refresh)["sid"].as_str().unwrap().to_string();
    let mut harmful = HARMFUL.to_vec();
    harmful.push(("session", &root_session));
    for path in forms(root).into_iter().filter(|p| !p.ends_with("/new/")) {
        assert_eq!(b.post(&path, &harmful).await.status, 403, "{path}");
    }
    let r = s
        .post("/api/token/refresh/", json!({"refresh": root_refresh}))
        .await;
    assert_eq!(r.status, 200, "the superuser's session lives");
    assert_eq!(b.get(&format!("/admin/users/{root}/delete/")).await.status, 403);

    // An ordinary user: changed, but no flag granted.
    let page = b.get(&format!("/admin/users/{bob}/")).await;
    assert!(
        !page.text.contains("id=\"id_is_staff\""),
        "no flag checkboxes for staff"
    );
    let edit = [
        ("username", "bob"),
        ("email", "bob@example.test"),
        ("first_name", "Bob"),
        ("last_name", ""),
        ("is_active", "true"),
    ];
    let page = b.post(&format!("/admin/users/{bob}/"), &edit).await;
    assert_eq!(page.status, 303);
    let mut grant = edit.to_vec();
    grant.extend([("flags", "true"), ("is_staff", "true")]);
    let page = b.post(&format!("/admin/users/{bob}/"), &grant).await;
    assert_eq!(page.status, 403);
    let user = s.state().store.user_by_id(bob).await.unwrap().unwrap();
    assert_eq!(user.first_name, "Bob");
    assert!(!user.is_staff);
    let updated = events_of(&s, "user_updated").await;
    assert_eq!(updated.len(), 1);
    let staff_id = s
        .state()
        .store
        .user_by_username("staffer")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(updated[0].actor_id, Some(staff_id), "the operator is the actor");

    // An impersonation token reads but never writes.
    let (_, root_access) = s.login("root", "pw-root-1").await;
    let r = s
        .client
        .post(s.url("/api/token/impersonate/"))
        .header("authorization", format!("Bearer {root_access}"))
        .json(&json!({"user": staff_id}))
        .send()
        .await
        .unwrap();
    let token = Reply::from(r).await.str("access");
    let mut imp = Browser::new(&s);
    imp.get("/admin/login/").await;
    imp.cookies.insert("jwtd_console_access".into(), token);
    let page = imp.get(&format!("/admin/users/{bob}/")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("impersonation session cannot change"));
    let page = imp
        .post(&format!("/admin/users/{bob}/active/"), &[("is_active", "false")])
        .await;
    assert_eq!(page.status, 403);
    assert!(s.state().store.user_by_id(bob).await.unwrap().unwrap().is_active);
}

async fn forms_without_the_right_csrf_token_or_origin_are_refused(db: Db) {
    let s = TestServer::start(db, "").await;
    let (_, _, bob) = people(&s).await;
    let mut b = Browser::new(&s);
    assert_eq!(b.sign_in("root", "pw-root-1").await.status, 303);
    b.get(&format!("/admin/users/{bob}/")).await;
    let path = format!("/admin/users/{bob}/active/");
    let good = b.csrf.clone().unwrap();
    type Case = (&'static str, Vec<(String, String)>, Option<String>);
    let cases: Vec<Case> = vec![
        ("missing", vec![], Some(s.base.clone())),
        (
            "wrong",
            vec![("csrfmiddlewaretoken".into(), "x".repeat(64))],
            Some(s.base.clone()),
        ),
        (
            "malformed",
            vec![("csrfmiddlewaretoken".into(), "!".into())],
            Some(s.base.clone()),
        ),
        (
            "foreign origin",
            vec![("csrfmiddlewaretoken".into(), good.clone())],
            Some("https://evil.example".into()),
        ),
    ];
    for (case, mut fields, origin) in cases {
        fields.push(("is_active".into(), "false".into()));
        b.origin = origin;
        let page = b.post_raw(&path, &fields).await;
        assert_eq!(page.status, 403, "{case}");
        assert!(page.text.contains("CSRF"), "{case}: {}", page.text);
    }
    // A token of another browser's session is wrong here too.
    let mut other = Browser::new(&s);
    other.sign_in("root", "pw-root-1").await;
    other.get("/admin/").await;
    b.origin = Some(s.base.clone());
    let page = b
        .post_raw(
            &path,
            &[
                ("csrfmiddlewaretoken".into(), other.csrf.clone().unwrap()),
                ("is_active".into(), "false".into()),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    // The sign-in form is protected too (login CSRF).
    let mut fresh = Browser::new(&s);
    let page = fresh
        .post_raw(
            "/admin/login/",
            &[
                ("username".into(), "root".into()),
                ("password".into(), "pw-root-1".into()),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(!fresh.cookies.contains_key("jwtd_console_access"));
    assert!(s.state().store.user_by_id(bob).await.unwrap().unwrap().is_active);
    // The right token, masked differently on every page, is accepted.
    let page = b
        .post_raw(
            &path,
            &[
                ("csrfmiddlewaretoken".into(), good),
                ("is_active".into(), "false".into()),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(!s.state().store.user_by_id(bob).await.unwrap().unwrap().is_active);
}

async fn every_console_answer_carries_the_security_headers(db: Db) {
    let s = TestServer::start(db, "").await;
    let (_, _, bob) = people(&s).await;
    let mut b = Browser::new(&s);
    let mut answers = vec![
        b.get("/admin/login/").await,
        b.get("/admin/").await,
        b.get("/admin/no-such-page/").await,
    ];
    b.sign_in("root", "pw-root-1").await;
    for path in pages(bob) {
        answers.push(b.get(&path).await);
    }
    answers.push(b.get("/admin/static/console.css").await);
    answers.push(b.post("/admin/users/99999/active/", &[]).await);
    for page in &answers {
        let h = |n: &str| page.headers.get(n).map(|v| v.to_str().unwrap().to_string());
        let csp = h("content-security-policy").expect("CSP");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h("referrer-policy").as_deref(), Some("same-origin"));
        assert_eq!(h("x-content-type-options").as_deref(), Some("nosniff"));
        // No inline script or style for the CSP to refuse.
        assert!(!page.text.contains("<script>") && !page.text.contains("style=\""));
    }
    // Labelled routes: the Allow header, and the route in the metrics and the log.
    let page = b.get(&format!("/admin/users/{bob}/")).await;
    assert_eq!(page.headers["allow"], "GET, POST, HEAD");
    let metrics = s.get("/metrics", None).await;
    assert!(
        metrics.text.contains("route=\"/admin/users/{id}/\""),
        "{}",
        metrics.text
    );
    let css = b.get("/admin/static/console.css").await;
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    let page = b.get("/admin/").await;
    assert_eq!(page.headers["cache-control"], "no-store");
    // The stylesheet's link carries its version, which makes it cacheable for long.
    let at = page.text.find("/admin/static/console.css?v=").unwrap();
    let link = &page.text[at..at + page.text[at..].find('"').unwrap()];
    let css = b.get(link).await;
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let etag = css.headers["etag"].to_str().unwrap().to_string();
    let r = b
        .client
        .get(s.url(link))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
}

async fn a_deactivated_users_refresh_token_is_refused(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, _, bob) = people(&s).await;
    let (refresh, _) = s.login("bob", "pw-bob-1").await;
    let mut b = Browser::new(&s);
    b.sign_in("root", "pw-root-1").await;
    let page = b.get(&format!("/admin/users/{bob}/")).await;
    assert!(page.text.contains("id=\"deactivate\""));
    let page = b
        .post(&format!("/admin/users/{bob}/active/"), &[("is_active", "false")])
        .await;
    assert_eq!(page.status, 303);
    let page = b.get(page.location()).await;
    assert!(
        page.text.contains("Deactivated bob"),
        "the flash says what happened"
    );
    assert!(page.text.contains("id=\"activate\""));
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let updated = events_of(&s, "user_updated").await;
    assert_eq!(updated[0].actor_id, Some(root));
    assert_eq!(updated[0].user_id, Some(bob));
    // The flash shows once.
    assert!(
        !b.get(&format!("/admin/users/{bob}/"))
            .await
            .text
            .contains("Deactivated bob")
    );
}

async fn user_actions_are_applied_audited_and_confirmed(db: Db) {
    let s = TestServer::start(db, "").await;
    let (root, _, bob) = people(&s).await;
    let (bob_refresh_1, _) = s.login("bob", "pw-bob-1").await;
    let (bob_refresh_2, _) = s.login("bob", "pw-bob-1").await;
    let mut b = Browser::new(&s);
    b.sign_in("root", "pw-root-1").await;
    let user_page = format!("/admin/users/{bob}/");
    b.get(&user_page).await;

    // Field errors come back next to their field, with what was typed.
    let page = b
        .post(
            &user_page,
            &[
                ("username", "bob"),
                ("email", "not-an-address"),
                ("first_name", ""),
                ("last_name", ""),
                ("is_active", "true"),
                ("flags", "true"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.text
            .contains("id=\"email-errors\"><li>Enter a valid email address.")
    );
    assert!(page.text.contains("value=\"not-an-address\""));

    // The password policy's messages at the field.
    let path = format!("/admin/users/{bob}/password/");
    let page = b.post(&path, &[("password", "bob"), ("password2", "bob")]).await;
    assert_eq!(page.status, 400);
    let at = page
        .text
        .find("id=\"password-errors\"")
        .expect("messages at the field");
    assert!(page.text[at..].contains("This password is too short."));
    let page = b
        .post(
            &path,
            &[("password", "Long-enough-9"), ("password2", "Other-enough-9")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("didn’t match"));

    // Sessions: two listed; one revoked, then the other by "revoke all".
    let page = b.get(&user_page).await;
    assert!(page.text.contains("id=\"session-count\">2<"));
    let sid = |refresh: &str| claims(refresh)["sid"].as_str().unwrap().to_string();
    assert!(
        page.text
            .contains(&format!("data-session=\"{}\"", sid(&bob_refresh_1)))
    );
    // A session id of another user is no session of this page.
    let (root_refresh, _) = s.login("root", "pw-root-1").await;
    let page = b
        .post(
            &format!("/admin/users/{bob}/sessions/revoke/"),
            &[("session", &sid(&root_refresh))],
        )
        .await;
    assert_eq!(page.status, 404);
    let page = b
        .post(
            &format!("/admin/users/{bob}/sessions/revoke/"),
            &[("session", &sid(&bob_refresh_1))],
        )
        .await;
    assert_eq!(page.status, 303);
    let r = s
        .post("/api/token/refresh/", json!({"refresh": bob_refresh_1}))
        .await;
    assert_eq!(r.status, 401);
    let r = s
        .post("/api/token/refresh/", json!({"refresh": bob_refresh_2}))
        .await;
    assert_eq!(r.status, 200, "the other session lives");
    let page = b.get(&format!("/admin/users/{bob}/sessions/revoke-all/")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Sign bob out everywhere?"));
    let page = b
        .post(&format!("/admin/users/{bob}/sessions/revoke-all/"), &[])
        .await;
    assert_eq!(page.status, 303);
    let r = s
        .post("/api/token/refresh/", json!({"refresh": bob_refresh_2}))
        .await;
    assert_eq!(r.status, 401);
    let revoked = events_of(&s, "session_revoked").await;
    assert_eq!(revoked.len(), 2);
    assert!(revoked.iter().all(|e| e.actor_id == Some(root)));

    // A good password: set, and bob signs in with it.
    let page = b
        .post(
            &path,
            &[("password", "Long-enough-9"), ("password2", "Long-enough-9")],
        )
        .await;
    assert_eq!(page.status, 303);
    s.login("bob", "Long-enough-9").await;

    // Unusable password, after its confirmation page.
    let page = b.get(&format!("/admin/users/{bob}/unusable-password/")).await;
    assert!(page.text.contains("id=\"confirm\""));
    let page = b
        .post(&format!("/admin/users/{bob}/unusable-password/"), &[])
        .await;
    assert_eq!(page.status, 303);
    let r = s
        .post(
            "/api/token/",
            json!({"username": "bob", "password": "Long-enough-9"}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(b.get(&user_page).await.text.contains("id=\"unusable-badge\""));

    // Delete: the confirmation names the user; afterwards the list says so.
    let page = b.get(&format!("/admin/users/{bob}/delete/")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Delete bob?"));
    let page = b.post(&format!("/admin/users/{bob}/delete/"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/admin/users/");
    let page = b.get("/admin/users/").await;
    assert!(page.text.contains("Deleted the user bob."));
    assert!(!page.text.contains("data-username=\"bob\""));
    assert_eq!(b.get(&user_page).await.status, 404);
    let deleted = events_of(&s, "user_deleted").await;
    assert_eq!(deleted[0].actor_id, Some(root));
    assert_eq!(events_of(&s, "password_changed").await.len(), 2);
}

async fn an_expired_access_cookie_is_refreshed_silently_and_sign_out_blacklists(db: Db) {
    let s = TestServer::start(db, "").await;
    people(&s).await;
    let mut b = Browser::new(&s);
    b.sign_in("root", "pw-root-1").await;
    let refresh = b.cookies["jwtd_console_refresh"].clone();
    // The browser dropped the access cookie (its Max-Age is the token's lifetime).
    b.cookies.remove("jwtd_console_access");
    let page = b.get("/admin/users/").await;
    assert_eq!(page.status, 200);
    assert!(
        b.cookies.contains_key("jwtd_console_access"),
        "a new access cookie"
    );
    // A garbage access cookie is no different.
    b.cookies.insert("jwtd_console_access".into(), "garbage".into());
    assert_eq!(b.get("/admin/").await.status, 200);

    // Signing out blacklists the refresh token and clears the cookies.
    let page = b.post("/admin/logout/", &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/admin/login/");
    assert!(!b.cookies.contains_key("jwtd_console_refresh"));
    assert!(!b.cookies.contains_key("jwtd_console_access"));
    let page = b.get("/admin/login/").await;
    assert!(page.text.contains("You are signed out."));
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 401);
    assert_eq!(events_of(&s, "logout").await.len(), 1);
    // The old cookies, replayed, sign in no one.
    b.cookies.insert("jwtd_console_refresh".into(), refresh);
    assert_eq!(b.get("/admin/").await.status, 303);
}

async fn the_console_does_not_exist_when_off(db: Db) {
    let storage = std::sync::Arc::new(Storage::new(db).await);
    for extra in ["admin_console = false", "admin_api = \"off\""] {
        let s = TestServer::start_on(storage.clone(), extra).await;
        for path in ["/admin/", "/admin/login/", "/admin", "/admin/static/console.css"] {
            let r = s.get(path, None).await;
            assert_eq!(r.status, 404, "{extra}: {path}");
        }
    }
    let s = TestServer::start_on(storage.clone(), "").await;
    assert_eq!(s.get("/admin/login/", None).await.status, 200);
    drop(s);

    // Without the API page, the console links nowhere that is not served.
    let s = TestServer::start_on(storage, "api_docs = false").await;
    people(&s).await;
    let mut b = Browser::new(&s);
    assert_eq!(b.sign_in("root", "pw-root-1").await.status, 303);
    let page = b.get("/admin/").await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("/api/docs/"), "{}", page.text);
    assert_eq!(s.get("/api/docs/", None).await.status, 404);
}

async fn overview_keys_and_settings_show_state_but_no_secrets(db: Db) {
    let s = TestServer::start(db, "access_token_lifetime = \"7m\"").await;
    people(&s).await;
    let _ = s
        .post("/api/token/", json!({"username": "bob", "password": "nope"}))
        .await;
    s.login("bob", "pw-bob-1").await;
    let mut b = Browser::new(&s);
    b.sign_in("root", "pw-root-1").await;
    let page = b.get("/admin/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("id=\"stat-users\"><a href=\"/admin/users/\">3<")
    );
    assert!(page.text.contains("id=\"stat-sessions\">2<"), "bob's and root's");
    assert!(
        page.text
            .contains("id=\"stat-logins\"><a href=\"/admin/events/?type=login_succeeded\">2<")
    );
    assert!(
        page.text
            .contains("id=\"stat-failed\"><a href=\"/admin/events/?type=login_failed\">1<")
    );
    assert!(page.text.contains("HS256"));
    assert!(page.text.contains("<span class=\"badge ok\">ready</span>"));

    let page = b.get("/admin/keys/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("id=\"key-table\""));
    assert!(page.text.contains("signing"));

    let page = b.get("/admin/settings/").await;
    assert_eq!(page.status, 200);
    let row = |key: &str| {
        let at = page
            .text
            .find(&format!("data-setting=\"{key}\""))
            .unwrap_or_else(|| panic!("{key}"));
        page.text[at..at + page.text[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(row("signing_key").contains(">set<"), "{}", row("signing_key"));
    assert!(
        row("access_token_lifetime").contains("&#34;7m&#34;"),
        "{}",
        row("access_token_lifetime")
    );
    assert!(row("access_token_lifetime").contains("file "));
    assert!(row("rotate_refresh_tokens").contains("false"));
    assert!(row("rotate_refresh_tokens").contains("<td>default</td>"));
    for page in [b.get("/admin/settings/").await, b.get("/admin/keys/").await] {
        assert!(!page.text.contains(KEY), "the signing key is never shown");
        assert!(!page.text.contains("argon2"), "no password hash");
    }
    // No hash on a user's page either.
    let bob = s.state().store.user_by_username("bob").await.unwrap().unwrap();
    let page = b.get(&format!("/admin/users/{}/", bob.id)).await;
    assert!(!page.text.contains(&bob.password));
    assert!(!page.text.contains("argon2"));
}

async fn lists_search_filter_sort_and_page(db: Db) {
    let s = TestServer::start(db, "").await;
    people(&s).await;
    for i in 0..30 {
        s.user_with(&format!("member{i:02}"), "pw", |u| u.is_active = i % 3 != 0)
            .await;
    }
    let mut b = Browser::new(&s);
    b.sign_in("root", "pw-root-1").await;
    let page = b.get("/admin/users/").await;
    assert!(page.text.contains("Showing 1–25 of 33 users."));
    assert!(page.text.contains("id=\"next-page\""));
    let page = b.get("/admin/users/?page=2").await;
    assert!(page.text.contains("Showing 26–33 of 33 users."));
    assert_eq!(
        b.get("/admin/users/?page=99").await.status,
        200,
        "past the end: the last page"
    );
    let page = b.get("/admin/users/?search=member0").await;
    assert!(page.text.contains("of 10 users"));
    let page = b.get("/admin/users/?is_active=no").await;
    assert!(page.text.contains("of 10 users"));
    let page = b.get("/admin/users/?is_staff=yes").await;
    assert!(page.text.contains("of 2 users"));
    let page = b.get("/admin/users/?ordering=-username").await;
    let first = page.text.find("data-username=\"staffer\"").unwrap();
    let later = page.text.find("data-username=\"member29\"").unwrap();
    assert!(first < later);
    assert!(page.text.contains("aria-sort=\"descending\""));
    // Bad input is no error page.
    for q in [
        "?page=abc",
        "?ordering=password",
        "?is_active=maybe",
        "?search=%00",
    ] {
        assert_eq!(b.get(&format!("/admin/users/{q}")).await.status, 200, "{q}");
    }

    // Events: filtered by type and user; bad filters are named.
    let page = b.get("/admin/events/?type=login_succeeded").await;
    assert!(
        page.text.contains("id=\"event-count\" class=\"muted\">1 event,"),
        "{}",
        page.text
    );
    let page = b.get("/admin/events/?type=nope&since=yesterday").await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("Enter a valid date/time."));
    assert!(page.text.contains("Select a valid choice."));
    // A browser's datetime-local value is accepted.
    let page = b.get("/admin/events/?since=2020-01-01T00%3A00").await;
    assert_eq!(page.status, 200);
    assert_eq!(b.get("/admin/events/?user=abc").await.status, 400);
}

async fn users_are_created_with_the_admin_apis_rules(db: Db) {
    let s = TestServer::start(db, "admin_api = \"staff\"").await;
    let (root, _, _) = people(&s).await;
    let mut b = Browser::new(&s);
    b.sign_in("root", "pw-root-1").await;
    let page = b.get("/admin/users/new/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("id=\"id_is_superuser\""));
    let page = b
        .post(
            "/admin/users/new/",
            &[
                ("username", "bob"),
                ("email", "nope"),
                ("password", "carol"),
                ("password2", "carol"),
                ("is_active", "true"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("A user with that username already exists."));
    assert!(page.text.contains("Enter a valid email address."));
    let page = b
        .post(
            "/admin/users/new/",
            &[
                ("username", "carol"),
                ("email", "carol@example.test"),
                ("password", "carol"),
                ("password2", "carol"),
                ("is_active", "true"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    let at = page.text.find("id=\"password-errors\"").unwrap();
    assert!(page.text[at..].contains("too short"));
    let page = b
        .post(
            "/admin/users/new/",
            &[
                ("username", "carol"),
                ("email", "carol@example.test"),
                ("password", "Long-enough-9"),
                ("password2", "Long-enough-9"),
                ("is_active", "true"),
                ("flags", "true"),
                ("is_staff", "true"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let carol = s.state().store.user_by_username("carol").await.unwrap().unwrap();
    assert!(carol.is_staff && carol.is_active && !carol.is_superuser);
    assert_eq!(page.location(), format!("/admin/users/{}/", carol.id));
    assert!(
        b.get(page.location())
            .await
            .text
            .contains("Created the user carol.")
    );
    s.login("carol", "Long-enough-9").await;
    let created = events_of(&s, "user_created").await;
    assert_eq!(created[0].actor_id, Some(root));

    // Without a password: unusable. A staff member creates but grants no flag.
    let mut staff = Browser::new(&s);
    staff.sign_in("staffer", "pw-staff-1").await;
    let page = staff.get("/admin/users/new/").await;
    assert!(!page.text.contains("id=\"id_is_staff\""));
    let page = staff
        .post(
            "/admin/users/new/",
            &[("username", "dave"), ("is_active", "true")],
        )
        .await;
    assert_eq!(page.status, 303);
    let dave = s.state().store.user_by_username("dave").await.unwrap().unwrap();
    assert!(!dave.has_usable_password());
    let page = staff
        .post(
            "/admin/users/new/",
            &[("username", "erin"), ("flags", "true"), ("is_superuser", "true")],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(s.state().store.user_by_username("erin").await.unwrap().is_none());
}

async fn sign_in_is_locked_after_failures_as_the_token_endpoint_is(db: Db) {
    let s = TestServer::start(db, "max_failed_logins = 3").await;
    people(&s).await;
    let mut b = Browser::new(&s);
    for _ in 0..3 {
        let page = b.sign_in("root", "wrong").await;
        assert_eq!(page.status, 200);
    }
    assert_eq!(events_of(&s, "locked_out").await.len(), 1);
    // Locked: the right password is refused too, with the reason on the form.
    let page = b.sign_in("root", "pw-root-1").await;
    assert_ne!(page.status, 303);
    assert!(page.text.contains("id=\"login-error\""), "{}", page.text);
    assert!(!b.cookies.contains_key("jwtd_console_access"));
    // And so is /api/token/: one lock for both.
    let r = s
        .post(
            "/api/token/",
            json!({"username": "root", "password": "pw-root-1"}),
        )
        .await;
    assert_ne!(r.status, 200);
    // Other methods and HEAD.
    assert_eq!(b.get("/admin/logout/").await.status, 405);
    let head = b.client.head(s.url("/admin/login/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
}
