//! `/.well-known/jwks.json` and the discovery documents (OpenID Connect discovery and
//! RFC 8414), so that libraries that find keys from an issuer URL work.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::config::Settings;
use crate::http::HttpState;

type Http = web::Data<HttpState>;

/// A document rendered once, with its validator.
pub struct Rendered {
    pub body: web::Bytes,
    pub etag: HeaderValue,
}

impl Rendered {
    pub fn new(value: &Value) -> Rendered {
        let body = serde_json::to_vec(value).expect("JSON serializes");
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &body);
        let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest.as_ref()[..16])))
            .expect("hex is a valid header value");
        Rendered {
            body: body.into(),
            etag,
        }
    }

    pub fn respond(&self, http: &HttpState, req: &HttpRequest) -> HttpResponse {
        self.respond_with(req, http.well_known_cache_control.clone())
    }

    /// As `respond`, with the given `Cache-Control`.
    fn respond_with(&self, req: &HttpRequest, cache: HeaderValue) -> HttpResponse {
        let matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == self.etag)
            });
        let mut response = if matches {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::CACHE_CONTROL, cache))
            .insert_header((header::ETAG, self.etag.clone()));
        if matches {
            return response.finish();
        }
        response
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")))
            .body(self.body.clone())
    }
}

/// `GET /.well-known/jwks.json`: the public keys of the ring, pre-rendered.
pub async fn jwks(req: HttpRequest) -> HttpResponse {
    let http = crate::http::state(&req);
    http.jwks.respond(http, &req)
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn discovery(http: Http, req: HttpRequest) -> HttpResponse {
    let (base, from_request) = match configured_base(&http.app.settings) {
        Some(base) => (base.to_string(), false),
        None => (crate::http::drf::origin::request_origin(&http, &req), true),
    };
    let rendered = Rendered::new(&discovery_document(&http, &base));
    if from_request {
        // Made from the request's headers: a shared cache must not hand one client's
        // answer to every other.
        rendered.respond_with(&req, HeaderValue::from_static("no-store"))
    } else {
        rendered.respond(&http, &req)
    }
}

/// The base of absolute URLs when the settings give one: `public_url`, else `issuer` when
/// it is a URL. Without either, the address the request came to is all there is.
fn configured_base(s: &Settings) -> Option<&str> {
    s.server
        .public_url
        .as_deref()
        .or_else(|| {
            s.tokens
                .issuer
                .as_deref()
                .filter(|i| i.starts_with("https://") || i.starts_with("http://"))
        })
        .map(|url| url.trim_end_matches('/'))
}

/// At start-up: published public keys are meant to be found through the discovery
/// documents, whose URLs then depend on each request unless `public_url` says where jwtd is.
pub fn warn_without_public_url(s: &Settings, jwks: &Value) {
    let publishes = jwks["keys"].as_array().is_some_and(|keys| !keys.is_empty());
    if publishes && configured_base(s).is_none() {
        tracing::warn!(
            "public keys are published but public_url is not set: the discovery documents take \
             their URLs from each request (its Host header, or the forwarded headers of \
             trusted_proxies) and are sent with Cache-Control: no-store; set public_url to the \
             address clients use"
        );
    }
}

fn discovery_document(http: &HttpState, base: &str) -> Value {
    let url = |path: &str| format!("{base}{path}");
    let algs: Vec<&str> = http
        .app
        .backend
        .keys()
        .algorithms()
        .into_iter()
        .map(crate::keys::alg_name)
        .collect();
    let mut doc = json!({
        "jwks_uri": url("/.well-known/jwks.json"),
        "token_endpoint": url("/api/token/"),
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint": url("/api/token/revoke/"),
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint": url("/api/token/introspect/"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "id_token_signing_alg_values_supported": algs,
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "claims_supported": ["token_type", "exp", "iat", "jti", http.app.settings.tokens.user_id_claim.as_str()],
        // Simple JWT's endpoints, which speak JSON rather than OAuth's form grants.
        "token_refresh_endpoint": url("/api/token/refresh/"),
        "token_verify_endpoint": url("/api/token/verify/"),
        "token_blacklist_endpoint": url("/api/token/blacklist/"),
        "token_obtain_sliding_endpoint": url("/api/token/sliding/"),
        "token_refresh_sliding_endpoint": url("/api/token/sliding/refresh/"),
        "me_endpoint": url("/api/me/"),
    });
    if let Some(issuer) = &http.app.settings.tokens.issuer {
        doc["issuer"] = issuer.clone().into();
    }
    doc
}
