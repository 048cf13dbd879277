//! Integration tests: real HTTP on 127.0.0.1 against real SQLite files and real Postgres
//! databases. One binary, one module per concern.

mod common;

mod account;
mod admin;
mod caches;
mod cli;
mod concurrency;
mod cookies;
mod django;
mod drf_jwt;
mod faults;
mod housekeeping;
mod impersonation;
mod keys;
mod lifecycle;
mod me;
mod oauth;
mod obtain;
mod production;
mod refresh;
mod robustness;
mod sessions;
mod settings;
mod throttle;
mod verify;
