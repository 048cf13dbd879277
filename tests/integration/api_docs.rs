//! The API page at /api/docs/ (`api_docs`): its files, their headers, and its absence when
//! switched off. The page in a real browser: `browser::api_docs`.

use crate::both_databases;
use crate::common::{Db, TestServer};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn page_and_files(db: Db) {
    let server = TestServer::start(db, "").await;
    for path in ["/api/docs/", "/api/docs"] {
        let page = server.get(path, None).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(page.header("content-security-policy"), Some(CSP));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
        assert_eq!(page.header("cache-control"), Some("no-cache"));
        // Every file the page names is served, from this server.
        assert!(page.text.contains(r#"<html lang="en">"#));
        for file in [
            "/api/docs/swagger-ui.css",
            "/api/docs/docs.css",
            "/api/docs/favicon-32x32.png",
            "/api/docs/swagger-ui-bundle.js",
            "/api/docs/docs.js",
        ] {
            assert!(
                page.text.contains(&format!("\"{file}\"")),
                "{file} in {}",
                page.text
            );
        }
        assert!(
            !page.text.contains("http"),
            "nothing from elsewhere: {}",
            page.text
        );
    }
    for (file, content_type) in [
        ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("docs.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.css", "text/css; charset=utf-8"),
        ("docs.css", "text/css; charset=utf-8"),
        ("favicon-32x32.png", "image/png"),
    ] {
        let r = server.get(&format!("/api/docs/{file}"), None).await;
        assert_eq!(r.status, 200, "{file}");
        assert_eq!(r.header("content-type"), Some(content_type), "{file}");
        assert_eq!(r.header("content-security-policy"), Some(CSP), "{file}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{file}");
        assert!(!r.text.is_empty());
    }
    // The script that starts Swagger UI points it at this server's description.
    let start = server.get("/api/docs/docs.js", None).await;
    assert!(start.text.contains(r#"url: "/api/schema/""#), "{}", start.text);
    // Swagger UI's other files are not served, nor anything else under the page.
    for file in [
        "swagger-initializer.js",
        "index.html",
        "oauth2-redirect.html",
        "swagger-ui-es-bundle.js",
        "swagger-ui-standalone-preset.js",
        "..%2Fschema%2F",
        "nothing",
    ] {
        let r = server.get(&format!("/api/docs/{file}"), None).await;
        assert_eq!(r.status, 404, "{file}");
        assert_eq!(r.body, serde_json::json!({"detail": "Not found."}), "{file}");
        assert_eq!(r.header("content-security-policy"), Some(CSP), "{file}");
    }
    // Read-only: other methods are refused as on the other GET-only paths.
    let r = server.post("/api/docs/", serde_json::json!({})).await;
    assert_eq!(r.status, 405);
    // HEAD answers as GET, without a body.
    let head = server.client.head(server.url("/api/docs/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

async fn switched_off(db: Db) {
    let server = TestServer::start(db, "api_docs = false").await;
    for path in ["/api/docs/", "/api/docs", "/api/docs/swagger-ui-bundle.js"] {
        let r = server.get(path, None).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body, serde_json::json!({"detail": "Not found."}));
        assert_eq!(r.header("content-security-policy"), None);
    }
    // The description itself stays.
    assert_eq!(server.get("/api/schema/", None).await.status, 200);
}

both_databases!(page_and_files, switched_off);
