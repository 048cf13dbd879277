//! Cookie transport for browser apps: tokens set as cookies by obtain and refresh, read
//! back by refresh, blacklist, logout and `/api/me/`, with Django's double-submit CSRF
//! check for cookie-authenticated unsafe requests.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::both_databases;
use crate::common::*;

both_databases!(
    cookies_are_off_by_default,
    obtain_sets_cookies_as_configured,
    tokens_can_be_left_out_of_the_body,
    cookie_refresh_needs_the_csrf_header,
    cookie_blacklist_needs_the_csrf_header,
    me_accepts_the_access_cookie_and_the_header_wins,
    logout_blacklists_and_clears_the_cookies,
    bad_cookies_never_cause_a_server_error,
    drf_jwt_endpoints_keep_their_token_in_the_auth_cookie,
    cross_site_requests_never_set_or_use_cookies,
    csrf_endpoint_hands_the_token_to_pages_on_other_sites,
);

/// Every cookie of the setting below, and short lifetimes that show in Max-Age.
const ALL: &str = "auth_cookie = \"jwt-refresh\"\n\
                   auth_cookie_access = \"jwt-access\"\n\
                   access_token_lifetime = \"10m\"\n\
                   refresh_token_lifetime = \"2d\"\n";

/// One `Set-Cookie` header: the pair and its attributes, names in lower case.
#[derive(Debug, Clone)]
struct SetCookie {
    value: String,
    attributes: HashMap<String, String>,
}

impl SetCookie {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }
    fn has(&self, name: &str) -> bool {
        self.attributes.contains_key(name)
    }
}

/// The cookies a response sets, by name; each name at most once.
fn set_cookies(r: &Reply) -> HashMap<String, SetCookie> {
    let mut cookies = HashMap::new();
    for line in r.headers.get_all("set-cookie") {
        let line = line.to_str().unwrap();
        let mut parts = line.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        let attributes = parts
            .map(|a| match a.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), v.to_string()),
                None => (a.to_ascii_lowercase(), String::new()),
            })
            .collect();
        let previous = cookies.insert(
            name.to_string(),
            SetCookie {
                value: value.to_string(),
                attributes,
            },
        );
        assert!(previous.is_none(), "{name} set twice: {:?}", r.headers);
    }
    cookies
}

/// What a browser holds after a login: the cookies by name.
struct Browser(HashMap<String, String>);

impl Browser {
    async fn login(s: &TestServer) -> Browser {
        let r = obtain(s).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut b = Browser(HashMap::new());
        b.store(&r);
        b
    }

    /// Takes the cookies a response sets, forgetting the expired ones.
    fn store(&mut self, r: &Reply) {
        for (name, c) in set_cookies(r) {
            if c.attr("max-age") == Some("0") {
                self.0.remove(&name);
            } else {
                self.0.insert(name, c.value);
            }
        }
    }

    fn get(&self, name: &str) -> String {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no cookie {name}"))
            .clone()
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn csrf(&self) -> String {
        self.get("csrftoken")
    }
}

/// A server with the user alice.
async fn server(db: Db, extra: &str) -> TestServer {
    let s = TestServer::start(db, extra).await;
    s.user("alice", "pw-alice-1").await;
    s
}

/// Alice's login.
async fn obtain(s: &TestServer) -> Reply {
    s.post(
        "/api/token/",
        json!({"username": "alice", "password": "pw-alice-1"}),
    )
    .await
}

/// `GET /api/me/` with a `Cookie` header and an optional `Authorization` header.
async fn get_me(s: &TestServer, cookie: String, authorization: Option<String>) -> Reply {
    let mut req = s.client.get(s.url("/api/me/")).header("cookie", cookie);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    Reply::from(req.send().await.unwrap()).await
}

/// A POST with a `Cookie` header, an optional X-CSRFToken and an optional JSON body.
async fn post(s: &TestServer, path: &str, cookie: &str, csrf: Option<&str>, body: Option<Value>) -> Reply {
    let mut req = s.client.post(s.url(path)).header("cookie", cookie);
    if let Some(token) = csrf {
        req = req.header("x-csrftoken", token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    Reply::from(req.send().await.unwrap()).await
}

fn csrf_failed(reason: &str) -> Value {
    json!({"detail": format!("CSRF Failed: {reason}")})
}

async fn cookies_are_off_by_default(db: Db) {
    let s = server(db, "rotate_refresh_tokens = true").await;
    let r = obtain(&s).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("set-cookie").is_none(), "{:?}", r.headers);
    let refresh = r.str("refresh");
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("set-cookie").is_none(), "{:?}", r.headers);
    // Cookies are not read either: the body's field is required as in Simple JWT.
    let cookie = format!("refresh={refresh}; jwt-refresh={refresh}; csrftoken=x");
    post(&s, "/api/token/refresh/", &cookie, None, None)
        .await
        .expect(400, json!({"refresh": ["This field is required."]}));
    let access = r.str("access");
    get_me(&s, format!("access={access}; jwt-access={access}"), None)
        .await
        .expect_401(json!({"detail": "Authentication credentials were not provided."}));
    // Logout works from the body alone.
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    let r = post(
        &s,
        "/api/token/logout/",
        &cookie,
        None,
        Some(json!({"refresh": refresh})),
    )
    .await;
    r.expect(200, json!({}));
    assert!(r.headers.get("set-cookie").is_none(), "{:?}", r.headers);
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    post(&s, "/api/token/logout/", "", None, None)
        .await
        .expect(400, json!({"refresh": ["This field is required."]}));
}

async fn obtain_sets_cookies_as_configured(db: Db) {
    let s = server(
        db,
        &format!(
            "{ALL}auth_cookie_domain = \"example.test\"\nauth_cookie_path = \"/api/\"\n\
             auth_cookie_samesite = \"Strict\"\nauth_cookie_csrf = \"xsrf\"\n"
        ),
    )
    .await;
    let r = obtain(&s).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookies = set_cookies(&r);
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    let (refresh, access, csrf) = (&cookies["jwt-refresh"], &cookies["jwt-access"], &cookies["xsrf"]);
    // The tokens stay in the body by default, as Simple JWT answers.
    assert_eq!(refresh.value, r.str("refresh"));
    assert_eq!(access.value, r.str("access"));
    assert_eq!(refresh.attr("max-age"), Some("172800"));
    assert_eq!(access.attr("max-age"), Some("600"));
    assert_eq!(csrf.attr("max-age"), Some("172800"));
    for c in [refresh, access, csrf] {
        assert_eq!(c.attr("domain"), Some("example.test"), "{c:?}");
        assert_eq!(c.attr("path"), Some("/api/"), "{c:?}");
        assert_eq!(c.attr("samesite"), Some("Strict"), "{c:?}");
        assert!(c.has("secure"), "{c:?}");
    }
    assert!(refresh.has("httponly") && access.has("httponly"));
    // The page's scripts must read the CSRF cookie to send it back.
    assert!(!csrf.has("httponly"));
    assert_eq!(csrf.value.len(), 32);
    assert!(csrf.value.bytes().all(|b| b.is_ascii_alphanumeric()));
    // Every login gets its own CSRF secret.
    let again = obtain(&s).await;
    assert_ne!(set_cookies(&again)["xsrf"].value, csrf.value);

    // The defaults: host-only, path /, Secure, HttpOnly, Lax; no access cookie unless named.
    let s = server(db, "auth_cookie = \"refresh\"\n").await;
    let r = obtain(&s).await;
    let cookies = set_cookies(&r);
    let names: std::collections::BTreeSet<_> = cookies.keys().map(String::as_str).collect();
    assert_eq!(names, ["csrftoken", "refresh"].into());
    let refresh = &cookies["refresh"];
    assert_eq!(refresh.attr("path"), Some("/"));
    assert_eq!(refresh.attr("samesite"), Some("Lax"));
    assert_eq!(refresh.attr("max-age"), Some("86400"));
    assert!(refresh.has("secure") && refresh.has("httponly") && !refresh.has("domain"));
    // httponly = false lets scripts read the token cookies (never the point, but drf-jwt's
    // setting); SameSite=None is written out.
    let s = server(
        db,
        "auth_cookie = \"refresh\"\nauth_cookie_httponly = false\nauth_cookie_samesite = \"None\"\n",
    )
    .await;
    let r = obtain(&s).await;
    let refresh = &set_cookies(&r)["refresh"];
    assert!(!refresh.has("httponly"));
    assert_eq!(refresh.attr("samesite"), Some("None"));
    // The sliding endpoints speak the body only.
    let r = s
        .post(
            "/api/token/sliding/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("set-cookie").is_none());
}

async fn tokens_can_be_left_out_of_the_body(db: Db) {
    let s = server(
        db,
        &format!("{ALL}auth_cookie_tokens_in_body = false\nrotate_refresh_tokens = true\n"),
    )
    .await;
    let r = obtain(&s).await;
    r.expect(200, json!({}));
    let mut b = Browser(HashMap::new());
    b.store(&r);
    let r = post(&s, "/api/token/refresh/", &b.header(), Some(&b.csrf()), None).await;
    r.expect(200, json!({}));
    assert_eq!(set_cookies(&r).len(), 3);
    // Without an access cookie, the access token has nowhere to go but the body.
    let s = server(
        db,
        "auth_cookie = \"jwt-refresh\"\nauth_cookie_tokens_in_body = false\n",
    )
    .await;
    let r = obtain(&s).await;
    assert_eq!(r.status, 200);
    let keys: Vec<_> = r.body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["access"]);
}

async fn cookie_refresh_needs_the_csrf_header(db: Db) {
    let s = server(
        db,
        &format!("{ALL}rotate_refresh_tokens = true\nblacklist_after_rotation = true\n"),
    )
    .await;
    let mut b = Browser::login(&s).await;
    let (old_refresh, csrf) = (b.get("jwt-refresh"), b.csrf());
    let path = "/api/token/refresh/";
    post(&s, path, &b.header(), None, None)
        .await
        .expect(403, csrf_failed("CSRF token missing."));
    let other = "A".repeat(32);
    post(&s, path, &b.header(), Some(&other), None).await.expect(
        403,
        csrf_failed("CSRF token from the 'X-Csrftoken' HTTP header incorrect."),
    );
    post(&s, path, &b.header(), Some("nope"), None).await.expect(
        403,
        csrf_failed("CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."),
    );
    let without_csrf_cookie = format!("jwt-refresh={old_refresh}");
    post(&s, path, &without_csrf_cookie, Some(&csrf), None)
        .await
        .expect(403, csrf_failed("CSRF cookie not set."));
    // An empty JSON object lacks the token as much as an empty body does.
    let r = post(&s, path, &b.header(), Some(&csrf), Some(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookies = set_cookies(&r);
    b.store(&r);
    // Rotation: new refresh and access cookies, the body as Simple JWT's; the page's CSRF
    // secret is kept so that requests of other tabs still pass.
    assert_eq!(cookies["jwt-refresh"].value, r.str("refresh"));
    assert_eq!(cookies["jwt-access"].value, r.str("access"));
    assert_ne!(b.get("jwt-refresh"), old_refresh);
    assert_eq!(cookies["csrftoken"].value, csrf);
    assert_eq!(cookies["jwt-refresh"].attr("max-age"), Some("172800"));
    // The refused attempts did not spend the old token; the successful one did.
    s.post(path, json!({"refresh": old_refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    // A token in the body needs no CSRF header, and wins over the cookie.
    let (body_refresh, _) = s.login("alice", "pw-alice-1").await;
    let r = post(
        &s,
        path,
        &b.header(),
        None,
        Some(json!({"refresh": body_refresh})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.storage
            .outstanding_jti(&jti(&body_refresh))
            .await
            .unwrap()
            .blacklist_reason
            .as_deref(),
        Some("rotation")
    );
    // ... while the cookie's token was left alone.
    let r = post(&s, path, &b.header(), Some(&csrf), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A refresh that finds no CSRF cookie in the browser hands out a new one.
    let r = s.post(path, json!({"refresh": r.str("refresh")})).await;
    assert_eq!(set_cookies(&r)["csrftoken"].value.len(), 32);
    // A bad refresh cookie is Simple JWT's 401, after the CSRF check.
    post(
        &s,
        path,
        &format!("jwt-refresh=garbage; csrftoken={csrf}"),
        Some(&csrf),
        None,
    )
    .await
    .expect_401(invalid("Token is invalid"));
}

async fn cookie_blacklist_needs_the_csrf_header(db: Db) {
    let s = server(db, ALL).await;
    let b = Browser::login(&s).await;
    let path = "/api/token/blacklist/";
    post(&s, path, &b.header(), None, None)
        .await
        .expect(403, csrf_failed("CSRF token missing."));
    let r = post(&s, path, &b.header(), Some(&b.csrf()), None).await;
    r.expect(200, json!({}));
    // Blacklisting leaves the cookies alone; logout is the one that clears them.
    assert!(r.headers.get("set-cookie").is_none());
    post(&s, path, &b.header(), Some(&b.csrf()), None)
        .await
        .expect_401(invalid("Token is blacklisted"));
    s.post("/api/token/refresh/", json!({"refresh": b.get("jwt-refresh")}))
        .await
        .expect_401(invalid("Token is blacklisted"));
}

async fn me_accepts_the_access_cookie_and_the_header_wins(db: Db) {
    let s = server(db, ALL).await;
    let b = Browser::login(&s).await;
    let me = |cookie: String, authorization: Option<String>| get_me(&s, cookie, authorization);
    let r = me(b.header(), None).await;
    assert_eq!(
        (r.status, &r.body["username"]),
        (200, &json!("alice")),
        "{}",
        r.text
    );
    // A GET is safe: no CSRF header needed.
    let access = b.get("jwt-access");
    let r = me(format!("jwt-access={access}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Valid header, garbage cookie: the header decides.
    let r = me("jwt-access=garbage".into(), Some(format!("Bearer {access}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Garbage header, valid cookie: still the header decides.
    me(format!("jwt-access={access}"), Some("Bearer garbage".into()))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    // A header of another scheme carries no credentials for us: the cookie is used.
    let r = me(format!("jwt-access={access}"), Some("Basic YTpi".into())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    me("jwt-access=garbage".into(), None)
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    // The refresh cookie is not an access token.
    me(format!("jwt-refresh={}", b.get("jwt-refresh")), None)
        .await
        .expect_401(json!({"detail": "Authentication credentials were not provided."}));
    // Unsafe methods authenticated by the cookie pass the CSRF check before anything else.
    let delete = |csrf: Option<String>| {
        let mut req = s.client.delete(s.url("/api/me/")).header("cookie", b.header());
        if let Some(t) = csrf {
            req = req.header("x-csrftoken", t);
        }
        async move { Reply::from(req.send().await.unwrap()).await }
    };
    delete(None).await.expect(403, csrf_failed("CSRF token missing."));
    delete(Some(b.csrf()))
        .await
        .expect(405, json!({"detail": "Method \"DELETE\" not allowed."}));
    // Without an access cookie configured, no cookie authenticates.
    let s = server(db, "auth_cookie = \"jwt-refresh\"\n").await;
    get_me(&s, format!("jwt-access={access}"), None)
        .await
        .expect_401(json!({"detail": "Authentication credentials were not provided."}));
}

async fn logout_blacklists_and_clears_the_cookies(db: Db) {
    let s = server(db, &format!("{ALL}auth_cookie_domain = \"example.test\"\n")).await;
    let path = "/api/token/logout/";
    let b = Browser::login(&s).await;
    let refresh = b.get("jwt-refresh");
    // Without the CSRF header: refused, nothing cleared, nothing blacklisted.
    let r = post(&s, path, &b.header(), None, None).await;
    r.expect(403, csrf_failed("CSRF token missing."));
    assert!(r.headers.get("set-cookie").is_none());
    let r = post(&s, path, &b.header(), Some(&b.csrf()), None).await;
    r.expect(200, json!({}));
    let cleared = set_cookies(&r);
    let names: std::collections::BTreeSet<_> = cleared.keys().map(String::as_str).collect();
    assert_eq!(names, ["csrftoken", "jwt-access", "jwt-refresh"].into());
    for c in cleared.values() {
        assert_eq!(c.value, "");
        assert_eq!(c.attr("max-age"), Some("0"), "{c:?}");
        assert_eq!(c.attr("path"), Some("/"), "{c:?}");
        assert_eq!(c.attr("domain"), Some("example.test"), "{c:?}");
    }
    s.post("/api/token/refresh/", json!({"refresh": refresh}))
        .await
        .expect_401(invalid("Token is blacklisted"));
    // Logging out again with the stale cookie: Simple JWT's 401, and the cookies cleared
    // all the same, since that token is of no use any more.
    let r = post(&s, path, &b.header(), Some(&b.csrf()), None).await;
    r.expect_401(invalid("Token is blacklisted"));
    assert_eq!(set_cookies(&r).len(), 3);
    // No token at all (the browser already dropped the cookie): the field's error.
    let r = post(
        &s,
        path,
        &format!("csrftoken={}", b.csrf()),
        Some(&b.csrf()),
        None,
    )
    .await;
    r.expect(400, json!({"refresh": ["This field is required."]}));
    assert!(r.headers.get("set-cookie").is_none());
    // A body token of another session is blacklisted; this browser's cookies stay.
    let b = Browser::login(&s).await;
    let (other, _) = s.login("alice", "pw-alice-1").await;
    let r = post(&s, path, &b.header(), None, Some(json!({"refresh": other}))).await;
    r.expect(200, json!({}));
    assert!(r.headers.get("set-cookie").is_none());
    // The browser's own token in the body: blacklisted, and the cookies cleared.
    let r = post(
        &s,
        path,
        &b.header(),
        None,
        Some(json!({"refresh": b.get("jwt-refresh")})),
    )
    .await;
    r.expect(200, json!({}));
    assert_eq!(set_cookies(&r).len(), 3);
    // OPTIONS answers with DRF's metadata.
    let r = s
        .client
        .request(reqwest::Method::OPTIONS, s.url(path))
        .send()
        .await
        .unwrap();
    let r = Reply::from(r).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "Token Logout");
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
}

async fn bad_cookies_never_cause_a_server_error(db: Db) {
    let s = server(db, ALL).await;
    let b = Browser::login(&s).await;
    let csrf = b.csrf();
    let huge = "A".repeat(20_000);
    let cookies: Vec<Vec<u8>> = vec![
        b"jwt-refresh=; jwt-access=; csrftoken=".to_vec(),
        b"jwt-refresh; jwt-access; =; ;;; =x".to_vec(),
        format!("jwt-refresh=a.b.c; jwt-access=a.b.c; csrftoken={csrf}").into_bytes(),
        format!("jwt-refresh=\"{}\"; csrftoken=\"{csrf}\"", b.get("jwt-refresh")).into_bytes(),
        format!("jwt-refresh={huge}; jwt-access={huge}; csrftoken={csrf}").into_bytes(),
        format!(
            "jwt-refresh={}x; csrftoken={csrf}; csrftoken=other",
            b.get("jwt-refresh")
        )
        .into_bytes(),
        [
            &b"jwt-refresh=\xff\xfe; jwt-access=\xc3\x28; csrftoken="[..],
            csrf.as_bytes(),
        ]
        .concat(),
        format!(
            "csrftoken={}; jwt-refresh={}",
            "é".repeat(16),
            b.get("jwt-refresh")
        )
        .into_bytes(),
    ];
    let paths = [
        "/api/token/refresh/",
        "/api/token/blacklist/",
        "/api/token/logout/",
        "/api/me/",
    ];
    for cookie in &cookies {
        let value = reqwest::header::HeaderValue::from_bytes(cookie).unwrap();
        for path in paths {
            for csrf_header in [None, Some(csrf.as_str()), Some("\u{1}"), Some(huge.as_str())] {
                let mut req = if path == "/api/me/" {
                    s.client.delete(s.url(path))
                } else {
                    s.client.post(s.url(path))
                };
                req = req.header("cookie", value.clone());
                if let Some(h) = csrf_header
                    && let Ok(h) = reqwest::header::HeaderValue::from_str(h)
                {
                    req = req.header("x-csrftoken", h);
                }
                let status = req.send().await.unwrap().status().as_u16();
                assert!(
                    status < 500,
                    "{path} with {:?}: {status}",
                    String::from_utf8_lossy(cookie)
                );
            }
            let r = s
                .client
                .get(s.url("/api/me/"))
                .header("cookie", value.clone())
                .send()
                .await
                .unwrap();
            assert!(r.status().as_u16() < 500, "GET /api/me/: {}", r.status());
        }
    }
    // The server is still fine.
    let r = s.me(&s.login("alice", "pw-alice-1").await.1).await;
    assert_eq!(r.status, 200);
}

/// drf-jwt's `JWT_AUTH_COOKIE`: `/api-token-auth/` and `/api-token-refresh/` set the token
/// as the `auth_cookie` cookie; `/auth/logout/` authenticates with it (CSRF-checked), and
/// clears it.
async fn drf_jwt_endpoints_keep_their_token_in_the_auth_cookie(db: Db) {
    let s = server(
        db,
        "drf_jwt_endpoints = true\nauth_cookie = \"jwt\"\njwt_expiration_delta = \"7m\"",
    )
    .await;
    let r = s
        .post(
            "/api-token-auth/",
            json!({"username": "alice", "password": "pw-alice-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let set = set_cookies(&r);
    let jwt = &set["jwt"];
    assert_eq!(jwt.value, r.str("token"));
    assert_eq!(jwt.attr("max-age"), Some("420"));
    assert!(jwt.has("httponly") && jwt.has("secure"), "{jwt:?}");
    let mut browser = Browser(HashMap::new());
    browser.store(&r);

    let r = s
        .post("/api-token-refresh/", json!({"token": browser.get("jwt")}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    browser.store(&r);
    assert_eq!(browser.get("jwt"), r.str("token"), "refresh sets the new token");

    // Logout from the cookie alone: CSRF first.
    let cookie = browser.header();
    let r = post(&s, "/auth/logout/", &cookie, None, None).await;
    r.expect(403, csrf_failed("CSRF token missing."));
    let r = post(&s, "/auth/logout/", &cookie, Some(&browser.csrf()), None).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        set_cookies(&r)["jwt"].attr("max-age"),
        Some("0"),
        "the cookie is cleared"
    );
    let r = s
        .post("/api-token-verify/", json!({"token": browser.get("jwt")}))
        .await;
    assert_eq!(r.status, 400, "the logged-out token is refused: {}", r.text);
}

/// A request with the given headers, a `Cookie` header when not empty and an optional JSON
/// body.
async fn send(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    cookie: &str,
    body: Option<Value>,
) -> Reply {
    let mut req = s.client.request(method, s.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    Reply::from(req.send().await.unwrap()).await
}

fn bad_origin(origin: &str) -> Value {
    csrf_failed(&format!(
        "Origin checking failed - {origin} does not match any trusted origins."
    ))
}

const EVIL: &[(&str, &str)] = &[
    ("origin", "https://evil.example"),
    ("sec-fetch-site", "cross-site"),
];

/// Login CSRF: in cookie mode a hostile page must not log the browser into an account of
/// the attacker's choosing, nor refresh into one, nor use the browser's cookies. Django's
/// Origin check: jwtd's own origin (`public_url`) and `cors_allowed_origins` pass; any
/// other Origin, or a cross-site request without one, is refused before anything else.
async fn cross_site_requests_never_set_or_use_cookies(db: Db) {
    let s = server(
        db,
        &format!(
            "{ALL}public_url = \"https://auth.example.test/\"\n\
             cors_allowed_origins = [\"https://app.example.test\"]\ncors_allow_credentials = true\n\
             rotate_refresh_tokens = true\nblacklist_after_rotation = true\n\
             drf_jwt_endpoints = true\n"
        ),
    )
    .await;
    let alice = json!({"username": "alice", "password": "pw-alice-1"});
    let post = reqwest::Method::POST;
    // A cross-site form posting the attacker's credentials.
    let form = Reply::from(
        s.client
            .post(s.url("/api/token/"))
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .form(&[("username", "alice"), ("password", "pw-alice-1")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    form.expect(403, bad_origin("https://evil.example"));
    assert!(form.headers.get("set-cookie").is_none(), "{:?}", form.headers);
    for (headers, reason) in [
        (&EVIL[..1], bad_origin("https://evil.example")),
        (&[("origin", "null")][..], bad_origin("null")),
        // Another port or scheme is another origin.
        (
            &[("origin", "https://auth.example.test:8443")][..],
            bad_origin("https://auth.example.test:8443"),
        ),
        (
            &[("origin", "http://auth.example.test")][..],
            bad_origin("http://auth.example.test"),
        ),
        // Cross-site without an Origin: Django's Referer check decides.
        (
            &[("sec-fetch-site", "cross-site")][..],
            csrf_failed("Referer checking failed - no Referer."),
        ),
        (
            &[
                ("sec-fetch-site", "cross-site"),
                ("referer", "https://evil.example/page"),
            ][..],
            csrf_failed(
                "Referer checking failed - https://evil.example/page does not match any trusted origins.",
            ),
        ),
    ] {
        let r = send(&s, post.clone(), "/api/token/", headers, "", Some(alice.clone())).await;
        r.expect(403, reason);
        assert!(r.headers.get("set-cookie").is_none(), "{headers:?}");
    }
    // jwtd's own origin, a listed one (also cross-site: a page on another site), a
    // same-site request without Origin and clients that are not browsers all log in.
    for headers in [
        &[
            ("origin", "https://auth.example.test"),
            ("sec-fetch-site", "same-origin"),
        ][..],
        &[
            ("origin", "https://app.example.test"),
            ("sec-fetch-site", "cross-site"),
        ][..],
        &[("sec-fetch-site", "same-origin")][..],
        &[
            ("sec-fetch-site", "cross-site"),
            ("referer", "https://app.example.test/x"),
        ][..],
        &[][..],
    ] {
        let r = send(&s, post.clone(), "/api/token/", headers, "", Some(alice.clone())).await;
        assert_eq!(r.status, 200, "{headers:?}: {}", r.text);
        assert_eq!(set_cookies(&r).len(), 3, "{headers:?}");
    }
    // A cross-site refresh with a token in the body is refused before the token is spent.
    let (refresh, _) = s.login("alice", "pw-alice-1").await;
    let r = send(
        &s,
        post.clone(),
        "/api/token/refresh/",
        EVIL,
        "",
        Some(json!({"refresh": refresh})),
    )
    .await;
    r.expect(403, bad_origin("https://evil.example"));
    assert!(r.headers.get("set-cookie").is_none());
    let r = s.post("/api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(
        r.status, 200,
        "the refused refresh left the token alone: {}",
        r.text
    );
    // The browser's own cookies with the right CSRF header: the Origin is checked first,
    // as Django does.
    let b = Browser::login(&s).await;
    let csrf = b.csrf();
    for path in [
        "/api/token/refresh/",
        "/api/token/blacklist/",
        "/api/token/logout/",
    ] {
        let headers = [EVIL[0], EVIL[1], ("x-csrftoken", csrf.as_str())];
        let r = send(&s, post.clone(), path, &headers, &b.header(), None).await;
        r.expect(403, bad_origin("https://evil.example"));
        assert!(r.headers.get("set-cookie").is_none(), "{path}");
    }
    let headers = [
        ("origin", "https://app.example.test"),
        ("x-csrftoken", csrf.as_str()),
    ];
    let r = send(
        &s,
        post.clone(),
        "/api/token/refresh/",
        &headers,
        &b.header(),
        None,
    )
    .await;
    assert_eq!(
        r.status, 200,
        "the refused attempts left the session alone: {}",
        r.text
    );
    // drf-jwt's endpoints set their cookie under the same rule.
    let r = send(
        &s,
        post.clone(),
        "/api-token-auth/",
        EVIL,
        "",
        Some(alice.clone()),
    )
    .await;
    r.expect(403, bad_origin("https://evil.example"));
    assert!(r.headers.get("set-cookie").is_none());

    // Without public_url, jwtd's own origin is the one the request came to (Django's
    // get_host()).
    let s = server(db, ALL).await;
    let own = s.base.clone();
    let r = send(
        &s,
        post.clone(),
        "/api/token/",
        &[("origin", own.as_str())],
        "",
        Some(alice.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    send(&s, post.clone(), "/api/token/", EVIL, "", Some(alice.clone()))
        .await
        .expect(403, bad_origin("https://evil.example"));

    // Bearer-only use is unchanged: no cookies, no Origin check.
    let s = server(db, "").await;
    let r = send(&s, post.clone(), "/api/token/", EVIL, "", Some(alice.clone())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send(
        &s,
        post,
        "/api/token/refresh/",
        EVIL,
        "",
        Some(json!({"refresh": r.str("refresh")})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A page on another site cannot read jwtd's CSRF cookie: `GET /api/token/csrf/` hands it
/// the value (CORS with credentials), as Django apps do with `ensure_csrf_cookie`.
async fn csrf_endpoint_hands_the_token_to_pages_on_other_sites(db: Db) {
    let app = "https://app.example.test";
    let s = server(
        db,
        &format!(
            "{ALL}auth_cookie_samesite = \"None\"\ncors_allowed_origins = [\"{app}\"]\n\
             cors_allow_credentials = true\n"
        ),
    )
    .await;
    let from_app = [("origin", app), ("sec-fetch-site", "cross-site")];
    let get = reqwest::Method::GET;
    let path = "/api/token/csrf/";
    // Before a login: a new secret, as a cookie and in the body.
    let r = send(&s, get.clone(), path, &from_app, "", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(app));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.str("csrfToken").len(), 64, "{}", r.text);
    assert_eq!(r.body.as_object().unwrap().len(), 1, "{}", r.text);
    let cookie = &set_cookies(&r)["csrftoken"];
    assert_eq!(cookie.attr("samesite"), Some("None"));
    assert!(!cookie.has("httponly"));
    // The page logs in from its own site, then asks for the token: the login's secret.
    let login = send(
        &s,
        reqwest::Method::POST,
        "/api/token/",
        &from_app,
        "",
        Some(json!({"username": "alice", "password": "pw-alice-1"})),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let mut b = Browser(HashMap::new());
    b.store(&login);
    let r = send(&s, get.clone(), path, &from_app, &b.header(), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.str("csrfToken");
    b.store(&r);
    assert_eq!(
        b.csrf(),
        set_cookies(&login)["csrftoken"].value,
        "the secret is kept"
    );
    // Django's masked form, which the check accepts for the cookie's secret.
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.bytes().all(|c| c.is_ascii_alphanumeric()), "{token}");
    // What the page could not do before: refresh and log out with the cookies alone.
    let with_token = [from_app[0], from_app[1], ("x-csrftoken", token.as_str())];
    let r = send(
        &s,
        reqwest::Method::POST,
        "/api/token/refresh/",
        &with_token,
        &b.header(),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    b.store(&r);
    let r = send(
        &s,
        reqwest::Method::POST,
        "/api/token/logout/",
        &with_token,
        &b.header(),
        None,
    )
    .await;
    r.expect(200, json!({}));
    // Another site gets nothing.
    let r = send(&s, get.clone(), path, EVIL, &b.header(), None).await;
    r.expect(403, bad_origin("https://evil.example"));
    assert!(r.headers.get("set-cookie").is_none());
    assert_eq!(r.header("access-control-allow-origin"), None);
    // Without cookies there is no CSRF token to hand out.
    let s = server(db, "").await;
    s.get(path, None)
        .await
        .expect(404, json!({"detail": "Not found."}));
}
