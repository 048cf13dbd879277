//! The users pages: the list (search, filters, sorting, pages) and one user (their fields
//! and flags, password, sessions, recent events), every change through `accounts` as the
//! admin API makes it, with the operator as the actor of its event.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::http::drf::search::search_terms;

use super::{
    Chrome, Http, Signed, done, form, messages_of, path_id, signed_in, text, user_form, when, when_opt,
};
use crate::accounts::{self, AccountError, Caller, FieldMessages, PasswordChange, UserFields};
use crate::http::HttpState;
use crate::http::drf::pagination;
use crate::store::{EventFilter, Ordering, Page, User, UserQuery};

/// Users on one page of the list.
const PAGE_SIZE: i64 = 25;
/// Sessions and events shown on a user's page.
const SESSIONS_SHOWN: i64 = 50;
const EVENTS_SHOWN: i64 = 20;

/// A user as a row of the list.
pub struct Row {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub last_login: String,
    pub date_joined: String,
}

impl From<&User> for Row {
    fn from(u: &User) -> Row {
        Row {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            name: format!("{} {}", u.first_name, u.last_name).trim().to_string(),
            is_active: u.is_active,
            is_staff: u.is_staff,
            is_superuser: u.is_superuser,
            last_login: when_opt(u.last_login),
            date_joined: when(u.date_joined),
        }
    }
}

/// A sortable column's header: its link and how it is sorted now.
pub struct Column {
    pub label: &'static str,
    pub href: String,
    /// `ascending`, `descending` or `none` (for `aria-sort`).
    pub sorted: &'static str,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct ListPage {
    chrome: Chrome,
    search: String,
    is_active: String,
    is_staff: String,
    ordering: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    count: i64,
    first: i64,
    last: i64,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
}

/// The list's query string with `changes` applied (an empty value drops the key).
fn list_link(query: &[(String, String)], changes: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query {
        if changes.iter().any(|(c, _)| c == k) || v.is_empty() {
            continue;
        }
        out.append_pair(k, v);
    }
    for (k, v) in changes {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    let q = out.finish();
    if q.is_empty() {
        "/admin/users/".into()
    } else {
        format!("/admin/users/?{q}")
    }
}

/// `yes`/`no`/empty as a filter.
fn tri_state(v: Option<&str>) -> Option<bool> {
    match v {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

/// `GET /admin/users/`
pub async fn list(http: Http, req: HttpRequest) -> HttpResponse {
    let mut signed = match signed_in(&http, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let query = pagination::parse_query(req.query_string());
    let value = |k| pagination::query_value(&query, k).unwrap_or_default().to_string();
    let (search, is_active, is_staff, ordering) = (
        value("search"),
        value("is_active"),
        value("is_staff"),
        value("ordering"),
    );
    let order = Ordering::parse(&ordering).unwrap_or_default();
    let page: i64 = value("page").parse().unwrap_or(1).max(1);
    let mut q = UserQuery {
        // A NUL, which DRF refuses, finds no one here.
        terms: search_terms(&search).unwrap_or_else(|_| vec!["\0".into()]),
        is_active: tri_state(Some(&is_active)),
        is_staff: tri_state(Some(&is_staff)),
        ordering: order,
        offset: (page - 1).saturating_mul(PAGE_SIZE),
        limit: PAGE_SIZE,
    };
    let (mut users, mut count) = match accounts::admin::list(&http.app, &signed.caller, &q).await {
        Ok(found) => found,
        Err(e) => return signed.refused(e),
    };
    let pages = pagination::num_pages(count, PAGE_SIZE).max(1);
    let mut page = page;
    if page > pages {
        // A page past the end (the list shrank meanwhile): the last one.
        page = pages;
        q.offset = (page - 1) * PAGE_SIZE;
        match accounts::admin::list(&http.app, &signed.caller, &q).await {
            Ok((u, c)) => (users, count) = (u, c),
            Err(e) => return signed.refused(e),
        }
    }
    let columns = [
        ("ID", "id"),
        ("Username", "username"),
        ("Last login", "last_login"),
        ("Joined", "date_joined"),
    ]
    .into_iter()
    .map(|(label, field)| {
        let current = ordering.trim_start_matches('-') == field
            || (ordering.is_empty() && field == "id")
            || (Ordering::parse(&ordering).is_none() && field == "id");
        let descending = current && ordering.starts_with('-');
        let next = if current && !descending {
            format!("-{field}")
        } else {
            field.to_string()
        };
        Column {
            label,
            href: list_link(&query, &[("ordering", &next), ("page", "")]),
            sorted: match (current, descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            },
        }
    })
    .collect();
    let shown = users.len() as i64;
    let first = if shown == 0 { 0 } else { q.offset + 1 };
    let page_link = |n: i64| list_link(&query, &[("page", &n.to_string())]);
    let chrome = signed.chrome("users");
    let page = ListPage {
        chrome,
        search,
        is_active,
        is_staff,
        ordering,
        columns,
        rows: users.iter().map(Row::from).collect(),
        count,
        first,
        last: q.offset + shown,
        page,
        pages,
        previous: (page > 1).then(|| page_link(page - 1)),
        next: (page < pages).then(|| page_link(page + 1)),
    };
    signed.render(StatusCode::OK, &page)
}

/// A session as a row of the user's page.
pub struct SessionRow {
    pub id: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub client: String,
}

/// An event as a row.
pub struct EventRow {
    pub kind: String,
    pub at: String,
    pub username: String,
    pub user_id: Option<i64>,
    /// Who did it, when not the user (an admin, an impersonator).
    pub actor: Option<i64>,
    pub ip: String,
    pub user_agent: String,
}

impl From<crate::store::Event> for EventRow {
    fn from(e: crate::store::Event) -> EventRow {
        EventRow {
            kind: e.kind,
            at: when(e.at),
            username: e.username.unwrap_or_default(),
            user_id: e.user_id,
            actor: e.actor_id,
            ip: e.ip_address.unwrap_or_default(),
            user_agent: e.user_agent.unwrap_or_default(),
        }
    }
}

/// The edit form's values and messages.
#[derive(Default)]
pub struct EditForm {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub errors: FieldMessages,
}

impl EditForm {
    fn of(u: &User) -> EditForm {
        EditForm {
            username: u.username.clone(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            is_active: u.is_active,
            is_staff: u.is_staff,
            is_superuser: u.is_superuser,
            errors: FieldMessages::default(),
        }
    }

    pub fn errors_of(&self, field: &str) -> Vec<String> {
        messages_of(&self.errors, field)
    }

    /// The text inputs, in order, with their messages.
    pub fn inputs(&self) -> Vec<Input> {
        [
            ("username", "Username", &self.username, "text"),
            ("email", "E-mail", &self.email, "email"),
            ("first_name", "First name", &self.first_name, "text"),
            ("last_name", "Last name", &self.last_name, "text"),
        ]
        .into_iter()
        .map(|(name, label, value, kind)| Input {
            name,
            label,
            value: value.clone(),
            kind,
            errors: self.errors_of(name),
        })
        .collect()
    }
}

/// A text input of the edit form.
pub struct Input {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub kind: &'static str,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    chrome: Chrome,
    user: Row,
    has_usable_password: bool,
    form: EditForm,
    password_errors: Vec<String>,
    /// The operator may change this user (their role, the target's flags).
    can_write: bool,
    /// Why not, when not.
    read_only_reason: String,
    /// The operator may grant or take away `is_staff` and `is_superuser`.
    can_grant: bool,
    sessions: Vec<SessionRow>,
    session_count: i64,
    events: Vec<EventRow>,
}

/// What the operator may do with `user`, as the admin API's rules decide it.
fn write_access(http: &HttpState, caller: &Caller, user: &User) -> (bool, String) {
    if accounts::permissions::check_access(&http.app, caller, true).is_err() {
        return (false, "An impersonation session cannot change anything.".into());
    }
    if accounts::permissions::check_target(caller, user).is_err() {
        return (false, "Staff members cannot change superusers.".into());
    }
    (true, String::new())
}

fn can_grant(caller: &Caller) -> bool {
    matches!(caller, Caller::User { user, .. } if user.is_superuser)
}

/// The user's page, with the edit form as given (after a refused change) or as stored.
async fn user_page(
    http: &HttpState,
    mut signed: Signed,
    id: i64,
    status: StatusCode,
    form: Option<EditForm>,
    password_errors: Vec<String>,
) -> HttpResponse {
    let app = &http.app;
    let caller = &signed.caller;
    let user = match accounts::admin::get(app, caller, id).await {
        Ok(u) => u,
        Err(e) => return signed.refused(e),
    };
    let (sessions, session_count) = match accounts::sessions::of_user(
        app,
        caller,
        id,
        Page {
            offset: 0,
            limit: SESSIONS_SHOWN,
        },
    )
    .await
    {
        Ok(found) => found,
        Err(e) => return signed.refused(e),
    };
    let filter = EventFilter {
        user_id: Some(id),
        ..EventFilter::default()
    };
    let events = match accounts::sessions::events(
        app,
        caller,
        &filter,
        Page {
            offset: 0,
            limit: EVENTS_SHOWN,
        },
    )
    .await
    {
        Ok((events, _)) => events,
        Err(e) => return signed.refused(e),
    };
    let (can_write, read_only_reason) = write_access(http, caller, &user);
    let can_grant = can_grant(caller);
    let chrome = signed.chrome("users");
    let page = UserPage {
        chrome,
        user: Row::from(&user),
        has_usable_password: user.has_usable_password(),
        form: form.unwrap_or_else(|| EditForm::of(&user)),
        password_errors,
        can_write,
        read_only_reason,
        can_grant,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id,
                created: when_opt(s.created_at),
                last_used: when_opt(s.last_used_at),
                expires: when_opt(s.expires_at),
                client: [s.ip_address, s.user_agent]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
            })
            .collect(),
        session_count,
        events: events.into_iter().map(EventRow::from).collect(),
    };
    signed.render(status, &page)
}

/// `GET /admin/users/{id}/`
pub async fn detail(http: Http, req: HttpRequest) -> HttpResponse {
    let signed = match signed_in(&http, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match path_id(&req) {
        Ok(id) => user_page(&http, signed, id, StatusCode::OK, None, Vec::new()).await,
        Err(e) => signed.refused(e),
    }
}

/// `POST /admin/users/{id}/`: the fields and flags. The flags' checkboxes are sent only
/// when the operator may change them (`flags`), so a staff member's edit leaves them be.
pub async fn edit(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let (signed, data, id) = match user_form(&http, &req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let field = |name| text(&data, name).unwrap_or_default();
    let flags = super::checked(&data, "flags");
    let fields = UserFields {
        username: Some(field("username").trim().to_string()),
        password: None,
        email: Some(field("email").trim().to_string()),
        first_name: Some(field("first_name").trim().to_string()),
        last_name: Some(field("last_name").trim().to_string()),
        is_active: Some(super::checked(&data, "is_active")),
        is_staff: flags.then(|| super::checked(&data, "is_staff")),
        is_superuser: flags.then(|| super::checked(&data, "is_superuser")),
    };
    match accounts::admin::update(
        &http.app,
        &signed.caller,
        id,
        fields.clone(),
        FieldMessages::default(),
    )
    .await
    {
        Ok(user) => done(
            &format!("/admin/users/{id}/"),
            &format!("Saved the changes to {}.", user.username),
        ),
        Err(AccountError::Invalid(errors)) => {
            let form = EditForm {
                username: fields.username.unwrap_or_default(),
                email: fields.email.unwrap_or_default(),
                first_name: fields.first_name.unwrap_or_default(),
                last_name: fields.last_name.unwrap_or_default(),
                is_active: fields.is_active.unwrap_or_default(),
                is_staff: super::checked(&data, "is_staff"),
                is_superuser: super::checked(&data, "is_superuser"),
                errors,
            };
            user_page(&http, signed, id, StatusCode::BAD_REQUEST, Some(form), Vec::new()).await
        }
        Err(e) => signed.refused(e),
    }
}

/// `POST /admin/users/{id}/active/`: `is_active` as the form says (`true`/`false`). An
/// inactive user can neither sign in nor refresh.
pub async fn set_active(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let (signed, data, id) = match user_form(&http, &req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let active = super::checked(&data, "is_active");
    let fields = UserFields {
        is_active: Some(active),
        ..UserFields::default()
    };
    match accounts::admin::update(&http.app, &signed.caller, id, fields, FieldMessages::default()).await {
        Ok(user) if active => signed.finish(done(
            &format!("/admin/users/{id}/"),
            &format!("Activated {}: they can sign in again.", user.username),
        )),
        Ok(user) => signed.finish(done(
            &format!("/admin/users/{id}/"),
            &format!(
                "Deactivated {}: they can no longer sign in, and their tokens are refused.",
                user.username
            ),
        )),
        Err(e) => signed.refused(e),
    }
}

/// `POST /admin/users/{id}/password/`: the policy's messages come back next to the field.
pub async fn set_password(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let (signed, data, id) = match user_form(&http, &req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let password = text(&data, "password").unwrap_or_default();
    let confirmation = text(&data, "password2").unwrap_or_default();
    let keep_sessions = super::checked(&data, "keep_sessions");
    let change = if password.is_empty() {
        let mut m = FieldMessages::default();
        m.add("password", "This field may not be blank.");
        Err(m)
    } else if password != confirmation {
        // Django's SetPasswordForm.
        let mut m = FieldMessages::default();
        m.add("password", "The two password fields didn’t match.");
        Err(m)
    } else {
        Ok(PasswordChange {
            password,
            keep_sessions,
        })
    };
    match accounts::admin::set_password(&http.app, &signed.caller, id, change).await {
        Ok(()) => {
            let then = if keep_sessions {
                "their sessions were kept"
            } else {
                "they were signed out everywhere"
            };
            signed.finish(done(
                &format!("/admin/users/{id}/"),
                &format!("Set a new password; {then}."),
            ))
        }
        Err(AccountError::Invalid(errors)) => {
            let messages = messages_of(&errors, "password");
            user_page(&http, signed, id, StatusCode::BAD_REQUEST, None, messages).await
        }
        Err(e) => signed.refused(e),
    }
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    title: String,
    message: String,
    action: String,
    button: &'static str,
    back: String,
}

/// A confirmation page for a destructive action on the user `id`.
async fn confirm(
    http: Http,
    req: HttpRequest,
    title: fn(&User) -> String,
    message: fn(&User) -> String,
    action: &'static str,
    button: &'static str,
) -> HttpResponse {
    let mut signed = match signed_in(&http, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match path_id(&req) {
        Ok(id) => id,
        Err(e) => return signed.refused(e),
    };
    let user = match accounts::admin::get(&http.app, &signed.caller, id).await {
        Ok(u) => u,
        Err(e) => return signed.refused(e),
    };
    // Refused now rather than after the confirmation.
    if let Err(e) = accounts::permissions::check_access(&http.app, &signed.caller, true)
        .and_then(|()| accounts::permissions::check_target(&signed.caller, &user))
    {
        return signed.refused(e);
    }
    let chrome = signed.chrome("users");
    let page = ConfirmPage {
        chrome,
        title: title(&user),
        message: message(&user),
        action: format!("/admin/users/{id}/{action}/"),
        button,
        back: format!("/admin/users/{id}/"),
    };
    signed.render(StatusCode::OK, &page)
}

/// `GET /admin/users/{id}/delete/`
pub async fn confirm_delete(http: Http, req: HttpRequest) -> HttpResponse {
    confirm(
        http,
        req,
        |u| format!("Delete {}?", u.username),
        |u| {
            format!(
                "The user {} (#{}) will be deleted and every token of theirs refused. \
                 Their events stay in the audit trail. This cannot be undone.",
                u.username, u.id
            )
        },
        "delete",
        "Delete user",
    )
    .await
}

/// `POST /admin/users/{id}/delete/`
pub async fn delete(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let (signed, _, id) = match user_form(&http, &req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let name = match accounts::admin::get(&http.app, &signed.caller, id).await {
        Ok(u) => u.username,
        Err(e) => return signed.refused(e),
    };
    match accounts::admin::delete(&http.app, &signed.caller, id).await {
        Ok(()) => signed.finish(done("/admin/users/", &format!("Deleted the user {name}."))),
        Err(e) => signed.refused(e),
    }
}

/// `GET /admin/users/{id}/unusable-password/`
pub async fn confirm_unusable(http: Http, req: HttpRequest) -> HttpResponse {
    confirm(
        http,
        req,
        |u| format!("Make {}’s password unusable?", u.username),
        |u| {
            format!(
                "No password will let {} sign in any more, and they will be signed out \
                 everywhere. Setting a new password undoes it.",
                u.username
            )
        },
        "unusable-password",
        "Make password unusable",
    )
    .await
}

/// `POST /admin/users/{id}/unusable-password/`
pub async fn unusable(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let (signed, _, id) = match user_form(&http, &req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match accounts::admin::set_unusable_password(&http.app, &signed.caller, id).await {
        Ok(()) => signed.finish(done(
            &format!("/admin/users/{id}/"),
            "The password is now unusable; the user was signed out everywhere.",
        )),
        Err(e) => signed.refused(e),
    }
}

/// `GET /admin/users/{id}/sessions/revoke-all/`
pub async fn confirm_revoke_all(http: Http, req: HttpRequest) -> HttpResponse {
    confirm(
        http,
        req,
        |u| format!("Sign {} out everywhere?", u.username),
        |u| {
            format!(
                "Every session of {} will be revoked: their refresh tokens are refused at \
                 once and their access tokens as soon as they are checked.",
                u.username
            )
        },
        "sessions/revoke-all",
        "Revoke all sessions",
    )
    .await
}

/// `POST /admin/users/{id}/sessions/revoke-all/`
pub async fn revoke_all(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let (signed, _, id) = match user_form(&http, &req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let client = http.client(&req);
    match accounts::sessions::revoke_all(&http.app, &signed.caller, &client, id).await {
        Ok(()) => signed.finish(done(
            &format!("/admin/users/{id}/"),
            "Revoked every session of this user.",
        )),
        Err(e) => signed.refused(e),
    }
}

/// `POST /admin/users/{id}/sessions/revoke/` with `session`: one session.
pub async fn revoke_session(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let (signed, data, id) = match user_form(&http, &req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let session = text(&data, "session").unwrap_or_default();
    let client = http.client(&req);
    match accounts::sessions::revoke_of_user(&http.app, &signed.caller, &client, id, &session).await {
        Ok(()) => signed.finish(done(
            &format!("/admin/users/{id}/"),
            "Revoked the session: its tokens are refused from now on.",
        )),
        Err(e) => signed.refused(e),
    }
}

#[derive(Template)]
#[template(path = "console/new_user.html")]
struct NewUserPage {
    chrome: Chrome,
    form: EditForm,
    password_errors: Vec<String>,
    can_grant: bool,
}

/// The new-user form, empty or as given after a refusal.
fn new_user_page(
    mut signed: Signed,
    status: StatusCode,
    form: EditForm,
    password_errors: Vec<String>,
) -> HttpResponse {
    let can_grant = can_grant(&signed.caller);
    let chrome = signed.chrome("users");
    let page = NewUserPage {
        chrome,
        form,
        password_errors,
        can_grant,
    };
    signed.render(status, &page)
}

/// `GET /admin/users/new/`
pub async fn new_user(http: Http, req: HttpRequest) -> HttpResponse {
    let signed = match signed_in(&http, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = accounts::permissions::check_access(&http.app, &signed.caller, true) {
        return signed.refused(e);
    }
    let form = EditForm {
        is_active: true,
        ..EditForm::default()
    };
    new_user_page(signed, StatusCode::OK, form, Vec::new())
}

/// `POST /admin/users/new/`: `POST /api/admin/users/`'s rules; without a password the user
/// gets an unusable one.
pub async fn create(http: Http, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let (signed, data) = match form(&http, &req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let field = |name| text(&data, name).unwrap_or_default().trim().to_string();
    let flags = super::checked(&data, "flags");
    let password = text(&data, "password").unwrap_or_default();
    let mut errors = FieldMessages::default();
    if password != text(&data, "password2").unwrap_or_default() {
        errors.add("password", "The two password fields didn’t match.");
    }
    let fields = UserFields {
        username: Some(field("username")),
        password: Some(password).filter(|p| !p.is_empty()),
        email: Some(field("email")),
        first_name: Some(field("first_name")),
        last_name: Some(field("last_name")),
        is_active: Some(super::checked(&data, "is_active")),
        is_staff: flags.then(|| super::checked(&data, "is_staff")),
        is_superuser: flags.then(|| super::checked(&data, "is_superuser")),
    };
    match accounts::admin::create(&http.app, &signed.caller, fields.clone(), errors).await {
        Ok(user) => signed.finish(done(
            &format!("/admin/users/{}/", user.id),
            &format!("Created the user {}.", user.username),
        )),
        Err(AccountError::Invalid(errors)) => {
            let password_errors = messages_of(&errors, "password");
            let form = EditForm {
                username: fields.username.unwrap_or_default(),
                email: fields.email.unwrap_or_default(),
                first_name: fields.first_name.unwrap_or_default(),
                last_name: fields.last_name.unwrap_or_default(),
                is_active: fields.is_active.unwrap_or_default(),
                is_staff: super::checked(&data, "is_staff"),
                is_superuser: super::checked(&data, "is_superuser"),
                errors,
            };
            new_user_page(signed, StatusCode::BAD_REQUEST, form, password_errors)
        }
        Err(e) => signed.refused(e),
    }
}
