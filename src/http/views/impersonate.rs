//! `POST /api/token/impersonate/`: drf-jwt's `ImpersonateJSONWebTokenView` answering in
//! Simple JWT's shape (`{"access": …}`).

use actix_web::{HttpRequest, HttpResponse, web};

use super::me;
use crate::http::HttpState;
use crate::http::drf::fields::{FieldErrors, char_field};
use crate::http::drf::parsers::{Data, Input};
use crate::http::ops::metrics::Issued;
use crate::http::schema::ImpersonationToken;
use crate::tokens::impersonation::{self, Target};

type Http = web::Data<HttpState>;

pub async fn impersonate(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let result = async {
        // DRF's order: authentication, permission, then the body.
        let (caller, token) = me::authenticated(&http, &req).await?;
        impersonation::check_permission(&http.app, &caller, &token)?;
        let data = http.read_data(&req, body).await?;
        let target = target(&data)?;
        let access = impersonation::impersonate(&http.app, &caller, target, http.client(&req)).await?;
        Ok(ImpersonationToken { access })
    };
    let mut response = http.respond(result.await);
    if response.status().is_success() {
        response.extensions_mut().insert(Issued {
            access: 1,
            ..Issued::default()
        });
    }
    response
}

/// `user` as DRF's `PrimaryKeyRelatedField` reads it, or `username`; exactly one of them.
fn target(data: &Data) -> Result<Target, FieldErrors> {
    let mut errors = FieldErrors::default();
    match (data.get("user"), data.get("username")) {
        (None, None) => errors.add("user", "This field is required."),
        (Some(_), Some(_)) => errors = FieldErrors::non_field("Give either user or username, not both."),
        (Some(pk), None) => match primary_key(pk) {
            Ok(id) => return Ok(Target::Id(id)),
            Err(message) => errors.add("user", message),
        },
        (None, Some(_)) => {
            if let Some(name) = char_field(data, "username", &mut errors) {
                return Ok(Target::Username(name));
            }
        }
    }
    Err(errors)
}

fn primary_key(input: &Input) -> Result<i64, String> {
    let incorrect = |kind: &str| format!("Incorrect type. Expected pk value, received {kind}.");
    let text = match input {
        Input::Null => return Err("This field may not be null.".into()),
        Input::Int(text) => text.as_str(),
        Input::Str(s) => s.text.trim(),
        Input::Bool(_) => return Err(incorrect("bool")),
        Input::Float(_) => return Err(incorrect("float")),
        Input::Composite => return Err(incorrect("dict")),
        Input::File => return Err(incorrect("InMemoryUploadedFile")),
    };
    match text.parse::<i64>() {
        Ok(id) => Ok(id),
        // Django's int() accepts any integer text; one out of range names no row either.
        Err(_) if text.trim_start_matches('-').chars().all(|c| c.is_ascii_digit()) && !text.is_empty() => {
            Err(format!("Invalid pk \"{text}\" - object does not exist."))
        }
        Err(_) => Err(incorrect("str")),
    }
}
