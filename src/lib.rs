//! jwtd: a standalone JSON Web Token service speaking Simple JWT's protocol.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod http;
pub mod keys;
pub mod passwords;
pub mod store;
pub mod tokens;
