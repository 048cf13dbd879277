//! The API description (OpenAPI 3.1) at `/api/schema/`, drf-spectacular's path: generated
//! from the endpoints' descriptions (`paths`) and the body types the views send
//! (`http::schema`), error bodies included.

mod paths;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::HttpState;
use super::schema::{BadRequest, FieldErrors, TooLarge, Unauthorized, Unavailable, UnsupportedMediaType};

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jwtd",
        description = "A JSON Web Token service speaking Django REST framework Simple JWT's protocol."
    ),
    paths(
        paths::obtain_pair,
        paths::refresh,
        paths::verify,
        paths::blacklist,
        paths::logout,
        paths::obtain_sliding,
        paths::refresh_sliding,
        paths::csrf_token,
        paths::impersonate,
        paths::revoke,
        paths::introspect,
        paths::me,
        paths::update_me,
        paths::replace_me,
        paths::change_password,
        paths::my_sessions,
        paths::my_session,
        paths::revoke_my_session,
        paths::revoke_my_other_sessions,
        paths::my_events,
        paths::jwks,
        paths::discovery,
        paths::healthz,
        paths::readyz,
    ),
    components(
        schemas(FieldErrors, BadRequest, Unauthorized),
        responses(TooLarge, Unavailable, UnsupportedMediaType)
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "tokens", description = "Simple JWT's endpoints"),
        (name = "oauth", description = "RFC 7009 revocation and RFC 7662 introspection"),
        (name = "users", description = "The authenticated user"),
        (name = "sessions", description = "The authenticated user's sessions and security events"),
        (name = "keys", description = "Published keys and discovery"),
        (name = "operations", description = "Health"),
    )
)]
struct ApiDoc;

/// The admin API, described only when served (`admin_api`).
#[derive(OpenApi)]
#[openapi(
    paths(
        paths::admin::list_users,
        paths::admin::create_user,
        paths::admin::get_user,
        paths::admin::update_user,
        paths::admin::delete_user,
        paths::admin::set_password,
        paths::admin::set_unusable_password,
        paths::admin::user_sessions,
        paths::admin::revoke_user_sessions,
        paths::admin::get_session,
        paths::admin::revoke_session,
        paths::admin::events,
    ),
    tags((name = "admin", description = "Users over HTTP (admin_api, registration)"))
)]
struct AdminDoc;

#[derive(OpenApi)]
#[openapi(paths(paths::admin::register))]
struct RegisterDoc;

/// drf-jwt's endpoints, described only when they are served.
#[derive(OpenApi)]
#[openapi(
    paths(
        paths::drf_jwt::obtain,
        paths::drf_jwt::refresh,
        paths::drf_jwt::verify,
        paths::drf_jwt::logout,
    ),
    modifiers(&DrfJwtScheme),
    tags((name = "drf-jwt", description = "drf-jwt's endpoints (drf_jwt_endpoints)"))
)]
struct DrfJwtDoc;

struct DrfJwtScheme;

impl Modify for DrfJwtScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "drf_jwt",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "Authorization",
                    "`<jwt_auth_header_prefix> <token>` (Bearer by default)",
                ))),
            );
    }
}

/// What is served: drf-jwt's endpoints, the admin API, registration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Served {
    pub drf_jwt: bool,
    pub admin: bool,
    pub registration: bool,
}

pub fn document(served: Served) -> Value {
    let mut doc = ApiDoc::openapi();
    if served.drf_jwt {
        doc.merge(DrfJwtDoc::openapi());
    }
    if served.admin {
        doc.merge(AdminDoc::openapi());
    }
    if served.registration {
        doc.merge(RegisterDoc::openapi());
    }
    serde_json::to_value(doc).expect("the API description serializes")
}

/// `GET /api/schema/`
pub async fn schema(http: web::Data<HttpState>, req: HttpRequest) -> HttpResponse {
    http.schema.respond(&http, &req)
}
