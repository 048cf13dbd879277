//! The endpoints: Simple JWT's token views (`tokens`), drf-jwt's (`drf_jwt`), the
//! authenticated user (`me`), impersonation, OAuth revocation and introspection, the
//! published keys and discovery documents (`well_known`), and the cookie transport for
//! browser apps (`cookies`).

pub mod cookies;
pub mod drf_jwt;
pub mod impersonate;
pub mod me;
pub mod oauth;
pub mod tokens;
pub mod well_known;
