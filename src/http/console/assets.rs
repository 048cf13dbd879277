//! The console's stylesheet and script, compiled into the binary: no CDN, no build step.
//! Pages link them with a version (a hash of the content), so browsers may keep them for a
//! year; a request without the current version is answered with a short cache life.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

/// The version in the assets' links: FNV-1a of both files, so that any change moves it.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in CSS.bytes().chain(JS.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:012x}", hash & 0xffff_ffff_ffff)
});

/// `GET /admin/static/{name}`
pub async fn asset(req: HttpRequest) -> HttpResponse {
    let (body, content_type) = match req.match_info().get("name") {
        Some("console.css") => (CSS, "text/css; charset=utf-8"),
        Some("console.js") => (JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    let etag = format!("\"{}\"", *VERSION);
    let versioned =
        form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, v)| k == "v" && v == *VERSION);
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(cache)))
        .insert_header((header::ETAG, etag));
    if matches {
        return response.finish();
    }
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body)
}

/// The version for templates.
pub fn version() -> &'static str {
    VERSION.as_str()
}
