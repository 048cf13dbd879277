//! `GET /api/me/`: DRF's `JWTAuthentication` + `IsAuthenticated` in front of the user's
//! own record — what a downstream service does with jwtd's tokens. Its writes are in
//! `account`.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;

use crate::accounts;
use crate::http::schema::Me;
use crate::http::{ApiError, HttpState, drf::metadata};
use crate::store::User;
use crate::tokens::impersonation::IMPERSONATOR_CLAIM;
use crate::tokens::{AuthError, Token, authentication};

type Http = web::Data<HttpState>;

pub async fn me(req: HttpRequest) -> HttpResponse {
    let http = crate::http::state(&req);
    let result = authenticated(http, &req)
        .await
        .map(|(user, token)| user_body(user, &token));
    http.respond(result)
}

/// Other methods: authentication and the permission check come first, as in DRF's
/// `initial()`; then OPTIONS answers with metadata and the rest with 405.
pub async fn other_methods(http: Http, req: HttpRequest) -> HttpResponse {
    match authenticated(&http, &req).await {
        Err(e) => e.response(&http),
        Ok((_, token)) if req.method() == Method::OPTIONS => {
            let write = accounts::me::check_write(token.get(IMPERSONATOR_CLAIM).is_some()).is_ok();
            metadata::describe_me(accounts::me::username_writable(&http.app), write)
        }
        Ok(_) => ApiError::MethodNotAllowed(req.method().to_string()).response(&http),
    }
}

/// DRF's `JWTAuthentication` with `IsAuthenticated`: the user and the token. The
/// authorization header first; only a request without credentials there is tried with the
/// access cookie (as a second authentication class after JWTAuthentication), so the header
/// wins when both come. A cookie-authenticated unsafe request must pass the CSRF check.
pub(super) async fn authenticated(http: &HttpState, req: &HttpRequest) -> Result<(User, Token), ApiError> {
    let header = req.headers().get(&http.auth_header).map(|v| v.as_bytes());
    if let Some(found) = authentication::authenticate(&http.app, header).await? {
        return Ok(found);
    }
    if let Some(cookies) = &http.cookies
        && let Some(raw) = cookies.access_token(req)
    {
        cookies.check_csrf(http, req)?;
        return Ok(authentication::authenticate_token(&http.app, raw.as_bytes()).await?);
    }
    Err(AuthError::NotAuthenticated.into())
}

pub(super) fn user_body(user: User, token: &Token) -> Me {
    Me {
        id: user.id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        is_active: user.is_active,
        is_staff: user.is_staff,
        is_superuser: user.is_superuser,
        last_login: user.last_login.map(drf_datetime),
        date_joined: drf_datetime(user.date_joined),
        // So that a frontend can show whose session this really is.
        impersonator: token.get(IMPERSONATOR_CLAIM).cloned(),
    }
}

/// DRF's DateTimeField output: ISO 8601, microseconds when present, `Z` for UTC.
pub fn drf_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.microsecond();
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{micros:06}Z")
    }
}
