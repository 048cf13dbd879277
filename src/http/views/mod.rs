//! The endpoints: Simple JWT's token views (`tokens`), drf-jwt's (`drf_jwt`), the
//! authenticated user (`me`) and their own account (`account`), impersonation, OAuth revocation and introspection, the
//! published keys and discovery documents (`well_known`), and the cookie transport for
//! browser apps (`cookies`), the user's own sessions and security events (`sessions`) and their admin twins
//! (`admin_sessions`), and the API page (`api_docs`).

pub(super) mod account;
pub(super) mod admin;
pub(super) mod admin_sessions;
pub(super) mod api_docs;
pub mod cookies;
pub(super) mod drf_jwt;
pub(super) mod impersonate;
pub(super) mod me;
pub(super) mod oauth;
pub(super) mod sessions;
pub(super) mod tokens;
pub(super) mod well_known;

/// The HTTP layer's field errors, handed to the rules to be completed in field order:
/// each under its field's name among `fields`, else under `non_field_errors`.
fn to_messages(
    errors: crate::http::drf::fields::FieldErrors,
    fields: &[&'static str],
) -> crate::accounts::FieldMessages {
    let mut messages = crate::accounts::FieldMessages::default();
    if let serde_json::Value::Object(map) = errors.to_json() {
        for (field, list) in map {
            let field = fields
                .iter()
                .find(|f| **f == field)
                .copied()
                .unwrap_or("non_field_errors");
            for m in list.as_array().into_iter().flatten() {
                messages.add(field, m.as_str().unwrap_or_default());
            }
        }
    }
    messages
}
