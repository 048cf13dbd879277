//! Simple JWT's token views: read the fields, apply the rule, answer.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::fields::char_fields;
use super::{ApiError, HttpState};
use crate::tokens::serializers;

type Http = web::Data<HttpState>;

/// `POST /api/token/` → `{"refresh", "access"}`
pub async fn obtain_pair(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [username, password] = char_fields(&data, ["username", "password"])?;
        let pair = serializers::obtain_pair(&http.app, &username, &password).await?;
        Ok(json!({"refresh": pair.refresh, "access": pair.access}))
    };
    http.respond(result.await)
}

/// `POST /api/token/refresh/` → `{"access"}` (and `"refresh"` with rotation)
pub async fn refresh(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [refresh] = char_fields(&data, ["refresh"])?;
        let refreshed = serializers::refresh(&http.app, &refresh).await?;
        Ok(match refreshed.refresh {
            Some(refresh) => json!({"access": refreshed.access, "refresh": refresh}),
            None => json!({"access": refreshed.access}),
        })
    };
    http.respond(result.await)
}

/// `POST /api/token/verify/` → `{}`
pub async fn verify(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [token] = char_fields(&data, ["token"])?;
        serializers::verify(&http.app, &token).await?;
        Ok(Value::Object(Default::default()))
    };
    http.respond(result.await)
}

/// `POST /api/token/blacklist/` → `{}`
pub async fn blacklist(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [refresh] = char_fields(&data, ["refresh"])?;
        serializers::blacklist(&http.app, &refresh).await?;
        Ok(Value::Object(Default::default()))
    };
    http.respond(result.await)
}

/// `POST /api/token/sliding/` → `{"token"}`
pub async fn obtain_sliding(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [username, password] = char_fields(&data, ["username", "password"])?;
        let token = serializers::obtain_sliding(&http.app, &username, &password).await?;
        Ok(json!({"token": token}))
    };
    http.respond(result.await)
}

/// `POST /api/token/sliding/refresh/` → `{"token"}`
pub async fn refresh_sliding(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        let data = http.read_data(&req, body).await?;
        let [token] = char_fields(&data, ["token"])?;
        let token = serializers::refresh_sliding(&http.app, &token).await?;
        Ok(json!({"token": token}))
    };
    http.respond(result.await)
}

pub async fn method_not_allowed(http: Http, req: HttpRequest) -> HttpResponse {
    ApiError::MethodNotAllowed(req.method().to_string()).response(&http)
}
