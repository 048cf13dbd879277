//! Answers to OPTIONS: DRF's SimpleMetadata for each view, as Simple JWT 5.5.1 gives them.

use actix_web::HttpResponse;
use actix_web::http::header;

macro_rules! view {
    ($name:expr, $description:expr, $actions:expr) => {
        concat!(
            r#"{"name":""#, $name, r#"","description":""#, $description, r#"","#,
            r#""renders":["application/json"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"],"#,
            r#""actions":{"POST":{"#, $actions, "}}}"
        )
    };
}

macro_rules! field {
    ($name:expr, $label:expr) => {
        concat!(
            r#"""#,
            $name,
            r#"":{"type":"string","required":true,"read_only":false,"label":""#,
            $label,
            r#""}"#
        )
    };
}

pub const OBTAIN_PAIR: &str = view!(
    "Token Obtain Pair",
    r"Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.",
    concat!(
        field!("username", "Username"),
        ",",
        field!("password", "Password")
    )
);
pub const REFRESH: &str = view!(
    "Token Refresh",
    r"Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.",
    concat!(
        field!("refresh", "Refresh"),
        r#","access":{"type":"string","required":false,"read_only":true,"label":"Access"}"#
    )
);
pub const VERIFY: &str = view!(
    "Token Verify",
    r"Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
    field!("token", "Token")
);
pub const BLACKLIST: &str = view!(
    "Token Blacklist",
    r"Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.",
    field!("refresh", "Refresh")
);
pub const LOGOUT: &str = view!(
    "Token Logout",
    r"Takes a refresh token from the body or the refresh cookie, blacklists it and\nclears the auth cookies.",
    field!("refresh", "Refresh")
);
pub const OBTAIN_SLIDING: &str = view!(
    "Token Obtain Sliding",
    r"Takes a set of user credentials and returns a sliding JSON web token to\nprove the authentication of those credentials.",
    concat!(
        field!("username", "Username"),
        ",",
        field!("password", "Password")
    )
);
pub const REFRESH_SLIDING: &str = view!(
    "Token Refresh Sliding",
    r"Takes a sliding JSON web token and returns a new, refreshed version if the\ntoken's refresh period has not expired.",
    field!("token", "Token")
);

// drf-jwt 1.19's views, as DRF 3 describes them.

macro_rules! read_only {
    ($name:expr, $label:expr) => {
        concat!(
            r#"""#,
            $name,
            r#"":{"type":"string","required":false,"read_only":true,"label":""#,
            $label,
            r#""}"#
        )
    };
}

pub const DRF_JWT_OBTAIN: &str = view!(
    "Obtain Json Web Token",
    r"API View that receives a POST with a user's username and password.\n\nReturns a JSON Web Token that can be used for authenticated requests.",
    concat!(
        field!("password", "Password"),
        ",",
        read_only!("token", "Token"),
        ",",
        field!("username", "Username")
    )
);
pub const DRF_JWT_REFRESH: &str = view!(
    "Refresh Json Web Token",
    r"API View that returns a refreshed token (with new expiration) based on\nexisting token\n\nIf 'orig_iat' field (original issued-at-time) is found it will first check\nif it's within expiration window, then copy it to the new token.",
    field!("token", "Token")
);
pub const DRF_JWT_VERIFY: &str = view!(
    "Verify Json Web Token",
    r"API View that checks the validity of a token, returning the token if it\nis valid.",
    field!("token", "Token")
);
/// The blacklist view's `token` is an optional model field.
pub const DRF_JWT_LOGOUT: &str = view!(
    "Blacklist",
    "",
    r#""token":{"type":"string","required":false,"read_only":false,"label":"Token"}"#
);

pub const ME: &str = concat!(
    r#"{"name":"Me","description":"The authenticated user, as a downstream service sees it after JWT authentication.","#,
    r#""renders":["application/json"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"]}"#
);

pub fn options(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(body)
}
