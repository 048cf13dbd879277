//! The console at /admin/ in Chromium, as an operator uses it: signing in and out, finding
//! a user among many, deactivating them, revoking a session, a password the policy refuses,
//! what staff may and may not do, and a form without its CSRF token. Every page visited is
//! checked with axe-core; screenshots go to target/browser-screenshots/. The selectors are
//! the ones docs/console.md lists as stable.

use serde_json::json;

use super::Browser;
use crate::both_databases;
use crate::common::{Db, TestServer, claims};
use jwtd::store::NewUser;

const ROOT_PASSWORD: &str = "root-password-1";

/// A server with a superuser `root` (and the given extra settings).
async fn server(db: Db, extra: &str) -> TestServer {
    let server = TestServer::start(db, extra).await;
    server
        .user_with("root", ROOT_PASSWORD, |u| {
            u.is_staff = true;
            u.is_superuser = true;
        })
        .await;
    server
}

async fn browser(scenario: &str, db: Db) -> Option<Browser> {
    Browser::start(&format!("console-{scenario}-{db:?}").to_lowercase()).await
}

/// `count` users named `user001`…, all with one password hash (hashing each would only
/// slow the test down).
async fn many_users(server: &TestServer, count: usize) {
    let hash = server.state().hasher.hash("many-users-password").await.unwrap();
    for i in 1..=count {
        let username = format!("user{i:03}");
        server
            .state()
            .store
            .create_user(&NewUser {
                email: format!("{username}@example.test"),
                username,
                password: hash.clone(),
                is_active: true,
                ..Default::default()
            })
            .await
            .unwrap();
    }
}

/// Signs in through the sign-in form and waits for the page it leads to.
async fn sign_in(b: &Browser, server: &TestServer, username: &str, password: &str) {
    b.goto(&server.url("/admin/login/")).await;
    b.fill("#id_username", username).await;
    b.fill("#id_password", password).await;
    b.click_and_load("#login-submit").await;
}

/// The console's own page of the user named `username`, found through the search.
async fn open_user(b: &Browser, server: &TestServer, username: &str) {
    b.goto(&server.url("/admin/users/")).await;
    b.fill("#id_search", username).await;
    b.click_and_load("#search-submit").await;
    b.click_and_load(&format!("tr[data-username=\"{username}\"] a.user-link"))
        .await;
    assert_eq!(b.find("#user-title").await.text().await.unwrap(), username);
}

/// The text of the flash message, success or error.
async fn flash(b: &Browser) -> String {
    b.find("#messages .message").await.text().await.unwrap()
}

/// Every page a superuser can open, with axe-core on each, at desktop and phone width; then
/// signing out ends the session.
async fn every_page(db: Db) {
    let Some(b) = browser("pages", db).await else {
        return;
    };
    let server = server(db, "").await;
    many_users(&server, 3).await;
    let alice = server.user("alice", "alice-password-1").await;
    server.login("alice", "alice-password-1").await;

    b.goto(&server.url("/admin/")).await;
    b.find("#login-form").await;
    assert!(
        b.url().await.contains("/admin/login/"),
        "signed out: the sign-in page"
    );
    b.axe("sign-in").await;
    b.screenshot("sign-in").await;
    // A wrong password: the form says so, and nothing else happens.
    sign_in(&b, &server, "root", "not-the-password").await;
    assert!(!b.find("#login-error").await.text().await.unwrap().is_empty());
    b.axe("sign-in refused").await;
    b.screenshot("sign-in-refused").await;

    sign_in(&b, &server, "root", ROOT_PASSWORD).await;
    assert!(
        b.find("#signed-in-as")
            .await
            .text()
            .await
            .unwrap()
            .contains("root"),
        "signed in as root"
    );
    let pages = [
        ("overview", "/admin/"),
        ("users", "/admin/users/"),
        ("new-user", "/admin/users/new/"),
        ("user", &*format!("/admin/users/{}/", alice.id)),
        ("events", "/admin/events/"),
        ("keys", "/admin/keys/"),
        ("settings", "/admin/settings/"),
        ("confirm-delete", &*format!("/admin/users/{}/delete/", alice.id)),
        (
            "confirm-unusable",
            &*format!("/admin/users/{}/unusable-password/", alice.id),
        ),
        (
            "confirm-revoke-all",
            &*format!("/admin/users/{}/sessions/revoke-all/", alice.id),
        ),
    ];
    for (name, path) in pages {
        b.goto(&server.url(path)).await;
        b.find("#main").await;
        b.axe(path).await;
        b.screenshot(name).await;
    }
    // The settings page lists the API page's setting; the navigation leads to that page.
    b.goto(&server.url("/admin/settings/")).await;
    b.find("tr[data-setting=\"api_docs\"]").await;
    b.click_and_load("#nav-api-docs").await;
    b.find("#operations-tokens-obtain_pair").await;
    // The confirmation names the user it is about.
    b.goto(&server.url(&format!("/admin/users/{}/delete/", alice.id)))
        .await;
    assert!(
        b.find("#confirm-title")
            .await
            .text()
            .await
            .unwrap()
            .contains("alice")
    );

    // At phone width: the overview, the users list and one user.
    b.at_phone_width(async |b: &Browser| {
        for (name, path) in [
            ("overview", "/admin/"),
            ("users", "/admin/users/"),
            ("user", &*format!("/admin/users/{}/", alice.id)),
        ] {
            b.goto(&server.url(path)).await;
            b.find("#main").await;
            b.axe(&format!("{path} at 375 px")).await;
            b.screenshot(&format!("phone-{name}")).await;
            // Nothing wider than the screen but what scrolls inside its own box (tables), and
            // the page itself no wider either.
            let page = b
                .client
                .execute("return document.documentElement.scrollWidth", vec![])
                .await
                .unwrap();
            assert!(
                page.as_i64().unwrap() <= 375,
                "{path} is {page} px wide at 375 px"
            );
            let wider = b
                .client
                .execute(
                    "return [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > 376
                            && !(e.parentElement && e.parentElement.closest('.table-wrap')))
                        .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                            + ' ' + Math.round(e.getBoundingClientRect().right))",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(wider, json!([]), "wider than 375 px on {path}");
        }
    })
    .await;

    // The session's cookies, as the browser keeps them: out of scripts' reach, HTTPS only
    // (which browsers waive for 127.0.0.1), never sent from other sites, for /admin/ only.
    b.goto(&server.url("/admin/")).await;
    let cookies = b.client.get_all_cookies().await.unwrap();
    let refresh = cookies
        .iter()
        .find(|c| c.name() == "jwtd_console_refresh")
        .unwrap_or_else(|| panic!("the refresh cookie: {cookies:?}"));
    for c in cookies.iter().filter(|c| c.name().starts_with("jwtd_console_")) {
        let flags = (
            c.http_only(),
            c.secure(),
            format!("{:?}", c.same_site()),
            c.path(),
        );
        assert_eq!(
            flags,
            (
                Some(true),
                Some(true),
                "Some(Strict)".to_string(),
                Some("/admin/")
            ),
            "{}",
            c.name()
        );
    }
    let refresh = refresh.value().to_string();
    assert_eq!(
        server
            .post("/api/token/verify/", json!({"token": refresh}))
            .await
            .status,
        200,
        "signed in: the refresh token is good"
    );

    // Signing out blacklists the console's refresh token: the console asks to sign in again.
    b.click_and_load("#logout").await;
    b.find("#login-form").await;
    b.goto(&server.url("/admin/users/")).await;
    b.find("#login-form").await;
    b.screenshot("signed-out").await;
    let r = server
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.status, 401, "the refresh token after signing out: {}", r.text);
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    b.close().await;
}

/// A user found by the search among many, deactivated: their refresh token is refused.
async fn search_and_deactivate(db: Db) {
    let Some(b) = browser("deactivate", db).await else {
        return;
    };
    let server = server(db, "").await;
    many_users(&server, 60).await;
    server.user("zelda", "zelda-password-1").await;
    let (refresh, _) = server.login("zelda", "zelda-password-1").await;

    sign_in(&b, &server, "root", ROOT_PASSWORD).await;
    b.goto(&server.url("/admin/users/")).await;
    // Many users: more than one page.
    b.find("#pagination").await;
    b.axe("users, many").await;
    b.screenshot("users").await;
    b.fill("#id_search", "zelda").await;
    b.click_and_load("#search-submit").await;
    let rows = b
        .client
        .find_all(fantoccini::Locator::Css("#user-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one user matches");
    b.axe("users, searched").await;
    b.screenshot("search").await;

    b.click_and_load("tr[data-username=\"zelda\"] a.user-link").await;
    b.click_and_load("#deactivate").await;
    let message = flash(&b).await;
    assert!(message.contains("zelda"), "{message}");
    b.find("#activate").await;
    b.axe("user, deactivated").await;
    b.screenshot("deactivated").await;

    let r = server
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    b.close().await;
}

/// One of a user's two sessions revoked from their page: its refresh token is refused, the
/// other still refreshes.
async fn revoke_one_session(db: Db) {
    let Some(b) = browser("revoke", db).await else {
        return;
    };
    let server = server(db, "").await;
    server.user("zelda", "zelda-password-1").await;
    let (first, _) = server.login("zelda", "zelda-password-1").await;
    let (second, _) = server.login("zelda", "zelda-password-1").await;
    let sid = claims(&first)["sid"].as_str().expect("a session id").to_string();

    sign_in(&b, &server, "root", ROOT_PASSWORD).await;
    open_user(&b, &server, "zelda").await;
    let rows = b
        .client
        .find_all(fantoccini::Locator::Css("#session-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "two sessions");
    b.click_and_load(&format!("tr[data-session=\"{sid}\"] form.revoke-session button"))
        .await;
    assert!(!flash(&b).await.is_empty());
    let rows = b
        .client
        .find_all(fantoccini::Locator::Css("#session-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one session left");
    b.axe("user, session revoked").await;
    b.screenshot("revoked").await;

    let r = server
        .post("/api/token/refresh/", json!({"refresh": first}))
        .await;
    assert_eq!(r.status, 401, "the revoked session: {}", r.text);
    let r = server
        .post("/api/token/refresh/", json!({"refresh": second}))
        .await;
    assert_eq!(r.status, 200, "the other session: {}", r.text);
    b.close().await;
}

/// A password the policy refuses: the policy's message next to the field, and the old
/// password still works.
async fn password_refused(db: Db) {
    let Some(b) = browser("password", db).await else {
        return;
    };
    let server = server(db, "").await;
    server.user("zelda", "zelda-password-1").await;

    sign_in(&b, &server, "root", ROOT_PASSWORD).await;
    open_user(&b, &server, "zelda").await;
    b.fill("#id_password", "12345").await;
    b.fill("#id_password2", "12345").await;
    b.click_and_load("#set-password").await;
    let errors = b.find("#password-errors").await.text().await.unwrap();
    assert!(errors.contains("This password is too short."), "{errors}");
    assert!(errors.contains("This password is entirely numeric."), "{errors}");
    // Tied to its field for assistive technology.
    let field = b.find("#id_password").await;
    assert_eq!(field.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert_eq!(
        field.attr("aria-describedby").await.unwrap().as_deref(),
        Some("password-errors")
    );
    b.axe("user, password refused").await;
    b.scroll_to("#password-errors").await;
    b.screenshot("refused").await;
    server.login("zelda", "zelda-password-1").await;
    b.close().await;
}

/// Under `admin_api = "superuser"` (the default) staff are refused with a page that shows no
/// data; under "staff" they manage ordinary users but not superusers.
async fn staff_and_superuser(db: Db) {
    let Some(b) = browser("staff", db).await else {
        return;
    };
    let server = server(db, "").await;
    server
        .user_with("stan", "stan-password-1", |u| u.is_staff = true)
        .await;
    server.user("zelda", "zelda-password-1").await;
    sign_in(&b, &server, "stan", "stan-password-1").await;
    let title = b.find("#message-title").await.text().await.unwrap();
    assert!(!title.is_empty());
    let text = b.text().await;
    assert!(
        !text.contains("zelda") && !text.contains("root"),
        "no data: {text}"
    );
    b.axe("permission refused").await;
    b.screenshot("refused-superuser-mode").await;
    // Every page refuses them too: the same refusal, or the sign-in page.
    for path in ["/admin/users/", "/admin/events/", "/admin/keys/"] {
        b.goto(&server.url(path)).await;
        b.find("#message-title, #login-form").await;
        let text = b.text().await;
        assert!(
            !text.contains("zelda") && !text.contains("user-table"),
            "{path} shows no data: {text}"
        );
    }
    b.close().await;

    let Some(b) = browser("staff-mode", db).await else {
        return;
    };
    let staff_mode = TestServer::start_on(server.storage.clone(), "admin_api = \"staff\"").await;
    sign_in(&b, &staff_mode, "stan", "stan-password-1").await;
    open_user(&b, &staff_mode, "zelda").await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css("#read-only"))
            .await
            .is_err()
    );
    b.axe("user, as staff").await;
    b.screenshot("staff-ordinary-user").await;
    // A superuser's page is read-only for staff.
    open_user(&b, &staff_mode, "root").await;
    b.find("#read-only").await;
    b.axe("superuser, as staff").await;
    b.screenshot("staff-superuser").await;
    b.close().await;
}

/// A console form posted without its CSRF token is refused, and changes nothing.
async fn csrf_refused(db: Db) {
    let Some(b) = browser("csrf", db).await else {
        return;
    };
    let server = server(db, "").await;
    server.user("zelda", "zelda-password-1").await;
    sign_in(&b, &server, "root", ROOT_PASSWORD).await;
    open_user(&b, &server, "zelda").await;
    b.client
        .execute(
            "document.querySelector('#active-form input[name=csrfmiddlewaretoken]').remove()",
            vec![],
        )
        .await
        .unwrap();
    b.click_and_load("#deactivate").await;
    let text = b.text().await;
    assert!(text.contains("CSRF"), "{text}");
    b.axe("CSRF refused").await;
    b.screenshot("refused").await;
    server.login("zelda", "zelda-password-1").await;
    b.close().await;
}

/// Keyboard only: signing in, skipping to the content, reaching the users page through the
/// navigation, the focus drawn wherever it lands.
async fn keyboard_only(db: Db) {
    use fantoccini::key::Key;
    let Some(b) = browser("keyboard", db).await else {
        return;
    };
    let server = server(db, "").await;
    b.goto(&server.url("/admin/login/")).await;
    b.find("#login-form").await;
    assert_eq!(
        b.focus().await.0,
        "#id_username",
        "the sign-in form starts at the username"
    );
    b.type_text("root").await;
    b.press(Key::Tab).await;
    let (focused, drawn) = b.focus().await;
    assert_eq!(focused, "#id_password");
    assert!(drawn, "the focus on {focused} is drawn");
    b.type_text(ROOT_PASSWORD).await;
    b.mark_page().await;
    b.press(Key::Enter).await;
    b.wait_for_new_page("Enter in the sign-in form").await;
    b.find("#signed-in-as").await;

    // The first Tab reaches the skip link, shown while focused; Enter moves to the content.
    b.press(Key::Tab).await;
    let (focused, drawn) = b.focus().await;
    assert!(focused.contains("Skip to content"), "first stop: {focused}");
    assert!(drawn, "the focus on the skip link is drawn");
    let shown = b
        .client
        .execute(
            "const r = document.activeElement.getBoundingClientRect();
             return r.top >= 0 && r.left >= 0 && r.width > 1 && r.height > 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, json!(true), "the skip link is visible when focused");
    b.screenshot("skip-link").await;
    b.press(Key::Enter).await;
    b.wait_until(
        "the focus in the content",
        "return document.activeElement.id === 'main'",
    )
    .await;

    // Back to the top, then through the navigation to Users.
    b.goto(&server.url("/admin/")).await;
    b.find("#main").await;
    let mut stops = Vec::new();
    for _ in 0..12 {
        b.press(Key::Tab).await;
        let (focused, drawn) = b.focus().await;
        assert!(drawn, "the focus on {focused} is drawn (after {stops:?})");
        stops.push(focused.clone());
        if focused == "#nav-users" {
            break;
        }
    }
    assert_eq!(stops.last().map(String::as_str), Some("#nav-users"), "{stops:?}");
    b.screenshot("focus-on-nav").await;
    b.mark_page().await;
    b.press(Key::Enter).await;
    b.wait_for_new_page("Enter on Users").await;
    b.find("#user-table").await;
    b.close().await;
}

both_databases!(
    keyboard_only,
    every_page,
    search_and_deactivate,
    revoke_one_session,
    password_refused,
    staff_and_superuser,
    csrf_refused,
);
