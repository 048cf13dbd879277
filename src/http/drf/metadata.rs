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

// The views added for accounts, sessions and the audit trail (issue 19), as DRF's
// `SimpleMetadata` describes a `ModelViewSet`'s list and instance views, their extra
// actions and the `APIView`s: `actions` for POST and PUT (of these views only `/api/me/`
// takes PUT), and only to a caller the view's permission lets write.

/// A view's metadata: what DRF's `SimpleMetadata.determine_metadata` gives.
pub struct View {
    pub name: &'static str,
    pub description: &'static str,
    /// The POST serializer's fields (`get_serializer_info`), for a view that takes a body.
    pub post: Option<&'static str>,
}

macro_rules! string_field {
    ($name:expr, $required:literal, $label:expr, $extra:expr) => {
        concat!(
            r#"""#,
            $name,
            r#"":{"type":"string","required":"#,
            $required,
            r#","read_only":false,"label":""#,
            $label,
            r#"""#,
            $extra,
            "}"
        )
    };
}

macro_rules! username_help {
    () => {
        "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."
    };
}

/// The username, writable.
macro_rules! username_field {
    () => {
        string_field!(
            "username",
            "true",
            "Username",
            concat!(r#","help_text":""#, username_help!(), r#"","max_length":150"#)
        )
    };
}

/// The user's id, read-only.
macro_rules! id_field {
    () => {
        r#""id":{"type":"integer","required":false,"read_only":true,"label":"ID"}"#
    };
}

/// Email, first and last name.
macro_rules! profile_fields {
    () => {
        concat!(
            r#""email":{"type":"email","required":false,"read_only":false,"label":"Email address","max_length":254},"#,
            string_field!("first_name", "false", "First name", r#","max_length":150"#),
            ",",
            string_field!("last_name", "false", "Last name", r#","max_length":150"#)
        )
    };
}

/// The three flags, `$read_only` ("true" or "false"), with the model's help texts.
macro_rules! flag_fields {
    ($read_only:literal) => {
        concat!(
            flag_field!(
                "is_active",
                $read_only,
                "Active",
                "Designates whether this user should be treated as active. Unselect this instead of deleting accounts."
            ),
            ",",
            flag_field!(
                "is_staff",
                $read_only,
                "Staff status",
                "Designates whether the user can log into this admin site."
            ),
            ",",
            flag_field!(
                "is_superuser",
                $read_only,
                "Superuser status",
                "Designates that this user has all permissions without explicitly assigning them."
            )
        )
    };
}

macro_rules! flag_field {
    ($name:expr, $read_only:literal, $label:expr, $help:expr) => {
        concat!(
            r#"""#,
            $name,
            r#"":{"type":"boolean","required":false,"read_only":"#,
            $read_only,
            r#","label":""#,
            $label,
            r#"","help_text":""#,
            $help,
            r#""}"#
        )
    };
}

/// Last login and date joined, read-only.
macro_rules! date_fields {
    () => {
        concat!(
            r#""last_login":{"type":"datetime","required":false,"read_only":true,"label":"Last login"},"#,
            r#""date_joined":{"type":"datetime","required":false,"read_only":true,"label":"Date joined"}"#
        )
    };
}

/// The user serializer's writable fields, as a `ModelSerializer` over Django's `User` shows
/// them; `$flags` adds the admin's flags.
macro_rules! user_fields {
    ($flags:expr) => {
        concat!(
            id_field!(),
            ",",
            username_field!(),
            ",",
            string_field!("password", "true", "Password", ""),
            ",",
            profile_fields!(),
            $flags,
            ",",
            date_fields!(),
            r#","has_usable_password":{"type":"boolean","required":false,"read_only":true,"label":"Has usable password"}"#
        )
    };
}

/// `/api/me/`'s serializer (`$username`: the username's field), as a `ModelSerializer` with
/// the flags and dates in `read_only_fields` shows it: a read-only field keeps its label and
/// help text and loses `max_length` (DRF's `include_extra_kwargs`). An impersonation
/// token's `impersonator` is left out: such a caller gets no actions.
macro_rules! me_fields {
    ($username:expr) => {
        concat!(
            id_field!(),
            ",",
            $username,
            ",",
            profile_fields!(),
            ",",
            flag_fields!("true"),
            ",",
            date_fields!()
        )
    };
}

pub const ME: View = View {
    name: "Me",
    description: "The authenticated user, as a downstream service sees it after JWT authentication.",
    post: None,
};
/// `/api/me/`'s PUT fields without `allow_username_change`, and with it.
const ME_PUT: &str = me_fields!(concat!(
    r#""username":{"type":"string","required":false,"read_only":true,"label":"Username","help_text":""#,
    username_help!(),
    r#""}"#
));
const ME_PUT_USERNAME: &str = me_fields!(username_field!());

pub const ADMIN_USERS: View = View {
    name: "User List",
    description: "The users: listed, searched and filtered, and created.",
    post: Some(user_fields!(concat!(",", flag_fields!("false")))),
};
pub const ADMIN_USER: View = View {
    name: "User Instance",
    description: "One user: shown, changed or deleted.",
    post: None,
};
pub const ADMIN_PASSWORD: View = View {
    name: "Set password",
    description: "Sets the user's password, logging them out everywhere unless `keep_sessions`.",
    post: Some(concat!(
        string_field!("password", "true", "Password", ""),
        r#","keep_sessions":{"type":"boolean","required":false,"read_only":false,"label":"Keep sessions"}"#
    )),
};
pub const ADMIN_UNUSABLE_PASSWORD: View = View {
    name: "Set unusable password",
    description: "Gives the user an unusable password, logging them out everywhere.",
    post: None,
};
pub const ADMIN_USER_SESSIONS: View = View {
    name: "Session List",
    description: "The user's active sessions: listed, or all revoked.",
    post: None,
};
pub const ADMIN_SESSION: View = View {
    name: "Session Instance",
    description: "One active session of any user: shown or revoked.",
    post: None,
};
pub const ADMIN_EVENTS: View = View {
    name: "Event List",
    description: "The security events of every user, newest first.",
    post: None,
};
pub const MY_SESSIONS: View = View {
    name: "Session List",
    description: "Your active sessions, the most recently used first.",
    post: None,
};
pub const MY_SESSION: View = View {
    name: "Session Instance",
    description: "One of your active sessions: shown or revoked.",
    post: None,
};
pub const REVOKE_OTHERS: View = View {
    name: "Revoke others",
    description: "Logs out every other device: revokes every session but this one.",
    post: None,
};
pub const MY_EVENTS: View = View {
    name: "Event List",
    description: "Your recent security events, newest first.",
    post: None,
};
pub const MY_PASSWORD: View = View {
    name: "Password Change",
    description: "Changes your password and answers with a fresh pair for this session; every other session is revoked.",
    post: Some(concat!(
        string_field!("old_password", "true", "Old password", ""),
        ",",
        string_field!("new_password", "true", "New password", "")
    )),
};
/// Anyone may register: the actions are shown to every caller.
pub const REGISTER: &str = view!("Register", "Creates a user.", user_fields!(""));

/// The metadata of `view`; its POST action only when the caller may `write`.
pub fn describe(view: &View, write: bool) -> HttpResponse {
    metadata(view, view.post.filter(|_| write).map(|fields| ("POST", fields)))
}

/// `/api/me/`'s metadata: DRF's `RetrieveUpdateAPIView` describes its PUT (not PATCH) to a
/// caller who may `write`; the username is a field of it only when `username_writable`.
pub fn describe_me(username_writable: bool, write: bool) -> HttpResponse {
    let fields = if username_writable {
        ME_PUT_USERNAME
    } else {
        ME_PUT
    };
    metadata(&ME, write.then_some(("PUT", fields)))
}

/// `view`'s metadata with the `action` (its method and serializer's fields), if any.
fn metadata(view: &View, action: Option<(&str, &str)>) -> HttpResponse {
    let mut body = format!(
        r#"{{"name":{},"description":{},"renders":["application/json"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"]"#,
        serde_json::Value::from(view.name),
        serde_json::Value::from(view.description)
    );
    if let Some((method, fields)) = action {
        body.push_str(r#","actions":{""#);
        body.push_str(method);
        body.push_str(r#"":{"#);
        body.push_str(fields);
        body.push_str("}}");
    }
    body.push('}');
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(body)
}

pub fn options(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(body)
}
