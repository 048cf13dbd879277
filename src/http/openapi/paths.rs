//! What each endpoint takes and answers, for the API description: one stub per handler,
//! named as it (the name is the operation id unless one is given), carrying its
//! `#[utoipa::path]`. The handlers stay free of it; the routes are in `http::routes`.

#![allow(dead_code)] // the stubs exist for their descriptions

use crate::http::schema::*;

#[utoipa::path(
    post,
    path = "/api/token/",
    tag = "tokens",
    summary = "Obtain a refresh/access pair",
    request_body(content(
        (ObtainRequest = "application/json"),
        (ObtainRequest = "application/x-www-form-urlencoded"),
        (ObtainRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The pair; with auth_cookie set, also as cookies beside a CSRF cookie", body = TokenPair, headers(("Set-Cookie" = String))),
        (status = 401, description = "No active account found with the given credentials", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 403, description = "CSRF Failed: with auth_cookie set, the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
        (status = 429, description = "Throttled: too many logins from this address, or the username is locked", body = Detail, headers(("Retry-After" = String))),
    )
)]
pub fn obtain_pair() {}

#[utoipa::path(
    post,
    path = "/api/token/refresh/",
    tag = "tokens",
    summary = "Refresh: a new access token (and refresh token with rotation)",
    description = "The refresh token comes from the body or, when the body has none and `auth_cookie` is set, from the refresh cookie (then the `X-CSRFToken` header must match the CSRF cookie). With cookies on, the new tokens are set as cookies too.",
    params(("X-CSRFToken" = Option<String>, Header, description = "The CSRF cookie's value; needed only when the refresh token comes from the cookie")),
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The new token(s)", body = Refreshed, headers(("Set-Cookie" = String))),
        (status = 401, description = "The token is invalid, expired, of the wrong type or blacklisted; or its user cannot log in", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 403, description = "CSRF Failed: with auth_cookie set, the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins; or the refresh token came from the cookie without a matching X-CSRFToken header", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub fn refresh() {}

#[utoipa::path(
    post,
    path = "/api/token/verify/",
    tag = "tokens",
    summary = "Verify any token",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Valid", body = Empty),
        (status = 401, description = "The token is invalid or expired", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub fn verify() {}

#[utoipa::path(
    post,
    path = "/api/token/blacklist/",
    tag = "tokens",
    summary = "Blacklist a refresh token (log out)",
    description = "The refresh token comes from the body or, when the body has none and `auth_cookie` is set, from the refresh cookie (then the `X-CSRFToken` header must match the CSRF cookie). Cookies are left as they are: /api/token/logout/ also clears them. The token's session ends with it: no longer listed, its other tokens blacklisted, its access tokens refused by jwtd.",
    params(("X-CSRFToken" = Option<String>, Header, description = "The CSRF cookie's value; needed only when the refresh token comes from the cookie")),
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Blacklisted", body = Empty),
        (status = 401, description = "The token is invalid, expired, of the wrong type or already blacklisted", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 403, description = "CSRF Failed: the refresh token came from the cookie, and the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins, or without a matching X-CSRFToken header", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub fn blacklist() {}

#[utoipa::path(
    post,
    path = "/api/token/logout/",
    tag = "tokens",
    summary = "Log out: blacklist the refresh token and clear the auth cookies",
    description = "The refresh token comes from the body or, when the body has none and `auth_cookie` is set, from the refresh cookie (then the `X-CSRFToken` header must match the CSRF cookie). The cookies are cleared (expired `Set-Cookie`) when the token was the refresh cookie's, on 200 and on 401 alike. The token's session ends with it, as with /api/token/blacklist/.",
    params(("X-CSRFToken" = Option<String>, Header, description = "The CSRF cookie's value; needed only when the refresh token comes from the cookie")),
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "Blacklisted; the auth cookies cleared", body = Empty, headers(("Set-Cookie" = String))),
        (status = 401, description = "The token is invalid, expired, of the wrong type or already blacklisted", body = Unauthorized, headers(("WWW-Authenticate" = String), ("Set-Cookie" = String))),
        (status = 400, description = "No refresh token in the body nor in a cookie, invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 403, description = "CSRF Failed: the refresh token came from the cookie, and the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins, or without a matching X-CSRFToken header", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub fn logout() {}

#[utoipa::path(
    post,
    path = "/api/token/sliding/",
    tag = "tokens",
    summary = "Obtain a sliding token",
    request_body(content(
        (ObtainRequest = "application/json"),
        (ObtainRequest = "application/x-www-form-urlencoded"),
        (ObtainRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The token", body = SlidingToken),
        (status = 401, description = "No active account found with the given credentials", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
        (status = 429, description = "Throttled: too many logins from this address, or the username is locked", body = Detail, headers(("Retry-After" = String))),
    )
)]
pub fn obtain_sliding() {}

#[utoipa::path(
    post,
    path = "/api/token/sliding/refresh/",
    tag = "tokens",
    summary = "Refresh a sliding token until its refresh_exp",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The token with a new exp", body = SlidingToken),
        (status = 401, description = "The token is invalid, expired, blacklisted or past its refresh_exp", body = Unauthorized, headers(("WWW-Authenticate" = String))),
        (status = 400, description = "Missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub fn refresh_sliding() {}

#[utoipa::path(
    get,
    path = "/api/token/csrf/",
    tag = "tokens",
    summary = "The CSRF token, for a page that cannot read the CSRF cookie",
    description = "With `auth_cookie` set: the CSRF cookie's secret, masked as Django's `get_token()` does, for the `X-CSRFToken` header; the CSRF cookie is set too (kept when the browser has one). For a page on another site, which cannot read jwtd's cookies; call it with `credentials: \"include\"` from an origin of `cors_allowed_origins`.",
    responses(
        (status = 200, description = "The token", body = CsrfToken, headers(("Set-Cookie" = String), ("Cache-Control" = String))),
        (status = 403, description = "CSRF Failed: the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins", body = Detail),
        (status = 404, description = "auth_cookie is not set: there are no cookies and no CSRF token", body = Detail),
    )
)]
pub fn csrf_token() {}

#[utoipa::path(
    post,
    path = "/api/token/impersonate/",
    tag = "tokens",
    summary = "Impersonate a user: a short-lived access token with an `impersonator` claim",
    security(("jwt" = [])),
    request_body(content(
        (ImpersonateRequest = "application/json"),
        (ImpersonateRequest = "application/x-www-form-urlencoded"),
        (ImpersonateRequest = "multipart/form-data")
    )),
    responses(
        (status = 200, description = "The access token", body = ImpersonationToken),
        (status = 400, description = "No such user, an inactive user, or fields missing or of the wrong type", body = BadRequest),
        (status = 401, description = "The caller is not authenticated", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "The caller may not impersonate, holds an impersonation token, or the target is a superuser; or, authenticated by the access cookie, sent no valid X-CSRFToken", body = Detail),
        (status = 404, description = "Impersonation is off", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub fn impersonate() {}

#[utoipa::path(
    post,
    path = "/api/token/revoke/",
    tag = "oauth",
    summary = "Revoke a token (RFC 7009); 200 for unknown and invalid tokens too",
    request_body(content(
        (OAuthTokenRequest = "application/x-www-form-urlencoded"),
        (OAuthTokenRequest = "application/json")
    )),
    responses(
        (status = 200, description = "Revoked (or nothing to revoke)", body = Empty),
        (status = 400, description = "No token parameter", body = OAuthError),
        (status = 503, response = Unavailable),
    )
)]
pub fn revoke() {}

#[utoipa::path(
    post,
    path = "/api/token/introspect/",
    tag = "oauth",
    summary = "Introspect a token (RFC 7662)",
    request_body(content(
        (OAuthTokenRequest = "application/x-www-form-urlencoded"),
        (OAuthTokenRequest = "application/json")
    )),
    security(("client_basic" = [])),
    responses(
        (status = 200, description = "Whether jwtd would accept the token, and its claims", body = Introspection),
        (status = 400, description = "No token parameter", body = OAuthError),
        (status = 401, description = "Unknown client or wrong secret", body = OAuthError, headers(("WWW-Authenticate" = String))),
        (status = 429, description = "Throttled: a client check not made before, from an address that used up its login rate", body = Detail, headers(("Retry-After" = String))),
        (status = 503, response = Unavailable),
    )
)]
pub fn introspect() {}

#[utoipa::path(
    get,
    path = "/api/me/",
    tag = "users",
    summary = "The authenticated user (JWTAuthentication + IsAuthenticated)",
    description = "The access token comes from the authorization header or, when there is none and `auth_cookie_access` is set, from the access cookie.",
    security(("jwt" = [])),
    responses(
        (status = 200, description = "The user", body = Me),
        (status = 401, description = "No credentials, a malformed header, a token no class accepts, an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 503, response = Unavailable),
    )
)]
pub fn me() {}

#[utoipa::path(
    patch,
    path = "/api/me/",
    operation_id = "update_me",
    tag = "users",
    summary = "Change the authenticated user's email, first and last name (and username with allow_username_change)",
    description = "Only the fields given change. Without `allow_username_change` a username in the body is ignored.",
    request_body(content(
        (MeUpdateRequest = "application/json"),
        (MeUpdateRequest = "application/x-www-form-urlencoded"),
        (MeUpdateRequest = "multipart/form-data")
    )),
    security(("jwt" = [])),
    responses(
        (status = 200, description = "The user", body = Me),
        (status = 400, description = "Field errors, as the admin API gives them", body = BadRequest),
        (status = 401, description = "No credentials, a malformed header, a token no class accepts, an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "An impersonation token; or, authenticated by the access cookie, no valid X-CSRFToken", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub fn update_me() {}

#[utoipa::path(
    put,
    path = "/api/me/",
    operation_id = "replace_me",
    tag = "users",
    summary = "Set the authenticated user's fields (PATCH's, with the username required when it is writable)",
    description = "As PATCH; with `allow_username_change` the username is required.",
    request_body(content(
        (MeUpdateRequest = "application/json"),
        (MeUpdateRequest = "application/x-www-form-urlencoded"),
        (MeUpdateRequest = "multipart/form-data")
    )),
    security(("jwt" = [])),
    responses(
        (status = 200, description = "The user", body = Me),
        (status = 400, description = "Field errors, as the admin API gives them", body = BadRequest),
        (status = 401, description = "No credentials, a malformed header, a token no class accepts, an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "An impersonation token; or, authenticated by the access cookie, no valid X-CSRFToken", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
pub fn replace_me() {}

#[utoipa::path(
    post,
    path = "/api/me/password/",
    tag = "users",
    summary = "Change the authenticated user's password; every other session ends",
    description = "Django's PasswordChangeForm: a wrong old password counts as a failed login of the user's (the login throttle). On success every other session of the user is revoked and their refresh tokens blacklisted; the answer is a fresh pair that continues the calling token's session (the same `sid`; its earlier tokens are blacklisted), with auth_cookie set also as cookies.",
    request_body(content(
        (PasswordChangeRequest = "application/json"),
        (PasswordChangeRequest = "application/x-www-form-urlencoded"),
        (PasswordChangeRequest = "multipart/form-data")
    )),
    security(("jwt" = [])),
    responses(
        (status = 200, description = "The new pair", body = TokenPair, headers(("Set-Cookie" = String))),
        (status = 400, description = "Missing fields, the old password entered incorrectly, or Django's password validators under new_password", body = BadRequest),
        (status = 401, description = "No credentials, a malformed header, a token no class accepts, an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "An impersonation token; or, authenticated by the access cookie, no valid X-CSRFToken", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, description = "Throttled: too many logins from this address, or the username is locked", body = Detail, headers(("Retry-After" = String))),
        (status = 503, response = Unavailable),
    )
)]
pub fn change_password() {}

#[utoipa::path(
    get,
    path = "/api/me/sessions/",
    tag = "sessions",
    summary = "The user's active sessions",
    description = "A session is one login (a pair, a sliding token or a drf-jwt token) and everything refreshed from it. `current` marks the session of the calling token (its `sid` claim). DRF's page-number pagination.",
    security(("jwt" = [])),
    params(
        ("page" = Option<String>, Query, description = "A page number, or `last`"),
        ("page_size" = Option<i64>, Query, description = "Default 50, at most 100"),
    ),
    responses(
        (status = 200, description = "A page of sessions, the most recently used first", body = SessionPage),
        (status = 401, description = "No credentials, or a token no class accepts, or an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 404, description = "Invalid page.", body = Detail),
        (status = 503, response = Unavailable),
    )
)]
pub fn my_sessions() {}

#[utoipa::path(
    get,
    path = "/api/me/sessions/{id}/",
    tag = "sessions",
    summary = "One of the user's active sessions",
    security(("jwt" = [])),
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The session", body = SessionBody),
        (status = 401, description = "No credentials, or a token no class accepts, or an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 404, description = "No active session of the user's with this id", body = Detail),
        (status = 503, response = Unavailable),
    )
)]
pub fn my_session() {}

#[utoipa::path(
    delete,
    path = "/api/me/sessions/{id}/",
    tag = "sessions",
    summary = "Revoke one of the user's sessions",
    description = "Every token of the session is blacklisted: its refresh token gets `Token is blacklisted`, its access tokens are refused by jwtd at once (by stateless verifiers when they expire).",
    security(("jwt" = [])),
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No credentials, or a token no class accepts, or an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 404, description = "No active session of the user's with this id", body = Detail),
        (status = 503, response = Unavailable),
    )
)]
pub fn revoke_my_session() {}

#[utoipa::path(
    post,
    path = "/api/me/sessions/revoke-others/",
    tag = "sessions",
    summary = "Log out every other device",
    description = "Revokes every session of the user but the calling token's (all of them for a token without `sid`).",
    security(("jwt" = [])),
    responses(
        (status = 200, description = "How many sessions were revoked", body = RevokedSessions),
        (status = 401, description = "No credentials, or a token no class accepts, or an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 503, response = Unavailable),
    )
)]
pub fn revoke_my_other_sessions() {}

#[utoipa::path(
    get,
    path = "/api/me/events/",
    tag = "sessions",
    summary = "The user's own security events, newest first",
    security(("jwt" = [])),
    params(
        ("page" = Option<String>, Query, description = "A page number, or `last`"),
        ("page_size" = Option<i64>, Query, description = "Default 50, at most 100"),
    ),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 401, description = "No credentials, or a token no class accepts, or an unknown or inactive user", body = TokenNotValid, headers(("WWW-Authenticate" = String))),
        (status = 404, description = "Invalid page.", body = Detail),
        (status = 503, response = Unavailable),
    )
)]
pub fn my_events() {}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    summary = "The public keys (RFC 7517 JWK Set)",
    responses(
        (status = 200, description = "The keys", body = JwkSet, headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
    )
)]
pub fn jwks() {}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "keys",
    summary = "Discovery document (also at /.well-known/oauth-authorization-server, RFC 8414)",
    responses(
        (status = 200, description = "Issuer, jwks_uri and endpoints. Without public_url or a URL issuer the URLs are made from the request, and Cache-Control is no-store", body = Object, headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
    )
)]
pub fn discovery() {}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = Status))
)]
pub fn healthz() {}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness: the database answers, its migrations are applied and, after a failed write, it takes writes again",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "Not ready", body = Status),
    )
)]
pub fn readyz() {}

/// drf-jwt's endpoints (`drf_jwt_endpoints`).
pub mod drf_jwt {
    use crate::http::schema::*;

    #[utoipa::path(
    post,
    path = "/api-token-auth/",
    operation_id = "drf_jwt_obtain",
    tag = "drf-jwt",
    summary = "drf-jwt: obtain a token",
    request_body(content(
        (DrfJwtObtainRequest = "application/json"),
        (DrfJwtObtainRequest = "application/x-www-form-urlencoded"),
        (DrfJwtObtainRequest = "multipart/form-data")
    )),
    responses(
        (status = 201, description = "The token and its iat", body = DrfJwtIssued),
        (status = 403, description = "CSRF Failed: with auth_cookie set, the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins", body = Detail),
        (status = 400, description = "Unable to log in with provided credentials, missing or invalid fields, or a body that could not be parsed", body = BadRequest),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
        (status = 429, description = "Throttled: too many logins from this address, or the username is locked", body = Detail, headers(("Retry-After" = String))),
    )
)]
    pub fn obtain() {}

    #[utoipa::path(
    post,
    path = "/api-token-refresh/",
    operation_id = "drf_jwt_refresh",
    tag = "drf-jwt",
    summary = "drf-jwt: a new token for the same login, until orig_iat + jwt_refresh_expiration_delta",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "multipart/form-data")
    )),
    responses(
        (status = 201, description = "The new token and its iat", body = DrfJwtIssued),
        (status = 403, description = "CSRF Failed: with auth_cookie set, the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins", body = Detail),
        (status = 400, description = "The token is expired, invalid, blacklisted or past its refresh limit, its user cannot log in; missing or invalid fields; or a body that could not be parsed", body = BadRequest),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
    pub fn refresh() {}

    #[utoipa::path(
    post,
    path = "/api-token-verify/",
    operation_id = "drf_jwt_verify",
    tag = "drf-jwt",
    summary = "drf-jwt: verify a token",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "multipart/form-data")
    )),
    responses(
        (status = 201, description = "Valid: the token and its iat", body = DrfJwtVerified),
        (status = 403, description = "CSRF Failed: with auth_cookie set, the request comes from an origin that is neither jwtd's own nor one of cors_allowed_origins", body = Detail),
        (status = 400, description = "The token is expired, invalid or blacklisted, or its user cannot log in; missing or invalid fields; or a body that could not be parsed", body = BadRequest),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    )
)]
    pub fn verify() {}

    #[utoipa::path(
    post,
    path = "/auth/logout/",
    operation_id = "drf_jwt_logout",
    tag = "drf-jwt",
    summary = "drf-jwt: blacklist the token in the body, else the caller's own",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "multipart/form-data")
    )),
    responses(
        (status = 201, description = "Blacklisted (also when it already was); token is null under jwt_token_id = \"require\"", body = DrfJwtLoggedOut),
        (status = 400, description = "The token to blacklist is not valid or its user cannot log in; invalid fields; or a body that could not be parsed", body = DrfJwtLogoutBadRequest),
        (status = 401, description = "No token, or the caller's token is not valid", body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "The caller's token is blacklisted; or, authenticated by the auth cookie, no valid X-CSRFToken was sent", body = Detail),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    ),
    security(("drf_jwt" = []))
)]
    pub fn logout() {}
}

/// The admin API (`admin_api`) and registration (`registration`), described only when
/// served.
pub mod admin {
    use crate::http::schema::*;

    #[utoipa::path(
        get,
        path = "/api/admin/users/",
        tag = "admin",
        summary = "List users (DRF's PageNumberPagination)",
        params(
            ("search" = Option<String>, Query, description = "Terms each found in the username, e-mail, first or last name, split as DRF's SearchFilter splits them: at whitespace and commas, a quoted phrase kept whole"),
            ("is_active" = Option<bool>, Query),
            ("is_staff" = Option<bool>, Query),
            ("ordering" = Option<String>, Query, description = "id, username, date_joined, last_login, each with -; comma-separated"),
            ("page" = Option<i64>, Query),
            ("page_size" = Option<i64>, Query, description = "Default 50, at most 100"),
        ),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 200, description = "One page of users", body = UserPage),
            (status = 400, description = "A filter that is not a boolean, or a search with a NUL", body = FilterRefused),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not use the admin API", body = Detail),
            (status = 404, description = "Invalid page.", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn list_users() {}

    #[utoipa::path(
        post,
        path = "/api/admin/users/",
        tag = "admin",
        summary = "Create a user",
        request_body(content((UserCreateRequest = "application/json"), (UserCreateRequest = "application/x-www-form-urlencoded"))),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 201, description = "The user", body = UserDetail),
            (status = 400, description = "Field errors (password errors under password)", body = BadRequest),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not create this user", body = Detail),
            (status = 413, response = TooLarge),
            (status = 415, response = UnsupportedMediaType),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn create_user() {}

    #[utoipa::path(
        get,
        path = "/api/admin/users/{id}/",
        tag = "admin",
        summary = "One user",
        params(("id" = i64, Path)),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 200, description = "The user", body = UserDetail),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not use the admin API", body = Detail),
            (status = 404, description = "No User matches the given query.", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn get_user() {}

    #[utoipa::path(
        patch,
        path = "/api/admin/users/{id}/",
        tag = "admin",
        summary = "Change a user's fields",
        params(("id" = i64, Path)),
        request_body(content((UserUpdateRequest = "application/json"), (UserUpdateRequest = "application/x-www-form-urlencoded"))),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 200, description = "The user", body = UserDetail),
            (status = 400, description = "Field errors", body = BadRequest),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not change this user", body = Detail),
            (status = 404, description = "No User matches the given query.", body = Detail),
            (status = 413, response = TooLarge),
            (status = 415, response = UnsupportedMediaType),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn update_user() {}

    #[utoipa::path(
        delete,
        path = "/api/admin/users/{id}/",
        tag = "admin",
        summary = "Delete a user; every token of theirs is blacklisted",
        params(("id" = i64, Path)),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 204, description = "Deleted"),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not delete this user", body = Detail),
            (status = 404, description = "No User matches the given query.", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn delete_user() {}

    #[utoipa::path(
        post,
        path = "/api/admin/users/{id}/password/",
        tag = "admin",
        summary = "Set a user's password; the user is logged out everywhere unless keep_sessions",
        params(("id" = i64, Path)),
        request_body(content((SetPasswordRequest = "application/json"), (SetPasswordRequest = "application/x-www-form-urlencoded"))),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 204, description = "Set"),
            (status = 400, description = "Field errors (Django's password validators under password)", body = BadRequest),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not change this user", body = Detail),
            (status = 404, description = "No User matches the given query.", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn set_password() {}

    #[utoipa::path(
        post,
        path = "/api/admin/users/{id}/set-unusable-password/",
        tag = "admin",
        summary = "Leave a user without a usable password; their tokens are blacklisted",
        params(("id" = i64, Path)),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 204, description = "Done"),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not change this user", body = Detail),
            (status = 404, description = "No User matches the given query.", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn set_unusable_password() {}

    #[utoipa::path(
        get,
        path = "/api/admin/users/{id}/sessions/",
        tag = "admin",
        summary = "A user's active sessions (DRF's PageNumberPagination)",
        description = "As `GET /api/me/sessions/` lists them; `current` is always false.",
        params(
            ("id" = i64, Path),
            ("page" = Option<String>, Query, description = "A page number, or `last`"),
            ("page_size" = Option<i64>, Query, description = "Default 50, at most 100"),
        ),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 200, description = "A page of sessions, the most recently used first", body = SessionPage),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not use the admin API", body = Detail),
            (status = 404, description = "No User matches the given query., or Invalid page.", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn user_sessions() {}

    #[utoipa::path(
        delete,
        path = "/api/admin/users/{id}/sessions/",
        tag = "admin",
        summary = "Revoke every session of a user; their tokens are blacklisted",
        params(("id" = i64, Path)),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 204, description = "Revoked"),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not change this user", body = Detail),
            (status = 404, description = "No User matches the given query.", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn revoke_user_sessions() {}

    #[utoipa::path(
        get,
        path = "/api/admin/sessions/{id}/",
        tag = "admin",
        summary = "One active session of any user",
        params(("id" = String, Path, description = "The session's id")),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 200, description = "The session (`current` always false)", body = SessionBody),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not use the admin API", body = Detail),
            (status = 404, description = "No active session with this id", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn get_session() {}

    #[utoipa::path(
        delete,
        path = "/api/admin/sessions/{id}/",
        tag = "admin",
        summary = "Revoke one session of any user; its tokens are blacklisted",
        params(("id" = String, Path, description = "The session's id")),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 204, description = "Revoked"),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not change the session's user", body = Detail),
            (status = 404, description = "No active session with this id", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn revoke_session() {}

    #[utoipa::path(
        get,
        path = "/api/admin/events/",
        tag = "admin",
        summary = "The audit trail: every user's security events, newest first",
        params(
            ("user" = Option<i64>, Query, description = "The user's id"),
            ("type" = Option<String>, Query, description = "An event type, e.g. login_failed"),
            ("since" = Option<String>, Query, description = "At or after this ISO 8601 date/time (UTC without an offset)"),
            ("until" = Option<String>, Query, description = "Before this ISO 8601 date/time (UTC without an offset)"),
            ("page" = Option<String>, Query, description = "A page number, or `last`"),
            ("page_size" = Option<i64>, Query, description = "Default 50, at most 100"),
        ),
        security(("jwt" = []), ("client_basic" = [])),
        responses(
            (status = 200, description = "A page of events", body = EventPage),
            (status = 400, description = "A filter that does not parse", body = FieldErrors),
            (status = 401, description = "No or bad credentials", body = Detail, headers(("WWW-Authenticate" = String))),
            (status = 403, description = "The caller may not use the admin API", body = Detail),
            (status = 404, description = "Invalid page.", body = Detail),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn events() {}

    #[utoipa::path(
        post,
        path = "/api/register/",
        tag = "admin",
        summary = "Register a user (registration = true)",
        description = "A taken username gets Django's \"A user with that username already exists.\": the answer tells which usernames exist; the login throttle guards it.",
        request_body(content((RegisterRequest = "application/json"), (RegisterRequest = "application/x-www-form-urlencoded"))),
        responses(
            (status = 201, description = "The user", body = UserDetail),
            (status = 400, description = "Field errors (password errors under password)", body = BadRequest),
            (status = 413, response = TooLarge),
            (status = 415, response = UnsupportedMediaType),
            (status = 429, description = "Throttled: too many requests from this address", body = Detail, headers(("Retry-After" = String))),
            (status = 503, response = Unavailable),
        )
    )]
    pub fn register() {}
}
