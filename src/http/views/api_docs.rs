//! The API page at `/api/docs/` (`api_docs`): Swagger UI over `/api/schema/`. Swagger UI's
//! files are compiled into the binary (utoipa-swagger-ui's `vendored` feature); the page
//! itself, the script that starts Swagger UI and a few style fixes are jwtd's own, next to
//! this file.
//!
//! Every answer carries a Content-Security-Policy that allows what the page needs and
//! nothing more: its own scripts and stylesheets, the `data:` images Swagger UI's
//! stylesheet embeds, and requests to this server (the description, "Try it out").

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa_swagger_ui::Config;

use crate::http::{ApiError, HttpState};

const INDEX: &str = include_str!("api_docs/index.html");
const START: &str = include_str!("api_docs/docs.js");
const STYLE: &str = include_str!("api_docs/docs.css");

/// Swagger UI's own files that the page loads; the rest of its distribution (other bundles,
/// the OAuth redirect page, the stand-alone layout) is not served.
const SWAGGER_FILES: [&str; 3] = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"];

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// `serve` only reads it to fill in the initializer script, which jwtd does not serve.
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| Arc::new(Config::from("/api/schema/")));

/// `GET /api/docs/`
pub async fn index() -> HttpResponse {
    page_file(
        "text/html; charset=utf-8",
        web::Bytes::from_static(INDEX.as_bytes()),
        "no-cache",
    )
}

/// `GET /api/docs/{file}`
pub async fn file(http: web::Data<HttpState>, req: HttpRequest) -> HttpResponse {
    let name = req.match_info().query("file");
    match name {
        "docs.js" => {
            return page_file(
                "text/javascript; charset=utf-8",
                web::Bytes::from_static(START.as_bytes()),
                "no-cache",
            );
        }
        "docs.css" => {
            return page_file(
                "text/css; charset=utf-8",
                web::Bytes::from_static(STYLE.as_bytes()),
                "no-cache",
            );
        }
        _ => {}
    }
    if SWAGGER_FILES.contains(&name)
        && let Ok(Some(found)) = utoipa_swagger_ui::serve(name, CONFIG.clone())
    {
        let content_type = match name.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            _ => "image/png",
        };
        // The files change only with the binary: cached for a day, then checked again.
        let body = match found.bytes {
            Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
            Cow::Owned(bytes) => bytes.into(),
        };
        return page_file(content_type, body, "public, max-age=86400");
    }
    with_page_headers(ApiError::NotFound.response(&http))
}

fn page_file(content_type: &'static str, body: web::Bytes, cache: &'static str) -> HttpResponse {
    let mut response = HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(cache)))
        .body(body);
    add_page_headers(&mut response);
    response
}

fn with_page_headers(mut response: HttpResponse) -> HttpResponse {
    add_page_headers(&mut response);
    response
}

fn add_page_headers(response: &mut HttpResponse) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}
