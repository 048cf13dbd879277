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
