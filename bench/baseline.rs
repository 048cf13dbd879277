//! The benchmark's baseline: a bare actix-web server with jwtd's worker count that parses
//! the same small JSON body as `/api/token/verify/` and answers `{}`, and serves a static
//! document of the JWKS's size. What jwtd is measured against in `bench/run`.
//!
//!     cargo run --release --example baseline -- 127.0.0.1:8001 [WORKERS]

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;

#[derive(Deserialize)]
struct Verify {
    #[allow(dead_code)]
    token: String,
}

const DOCUMENT: &str = r#"{"keys":[{"crv":"P-256","kty":"EC","x":"s_QoQ8Y1lbF8DeB7ZT5uD1XlJYmsc9O8Z0mqCgMHwKk","y":"wr3A_pZ7c8IJmd8Dy8qFR0xQbc_4fmDGJZ3zmRc0x8E","kid":"x3kUDjZyf9TYEe1tP4uIAAPCgBa-Sn7pe7U3gU5Uf1c","use":"sig","alg":"ES256"}]}"#;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8001".into());
    let workers = args
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    HttpServer::new(|| {
        App::new()
            .route(
                "/verify",
                web::post().to(|_: web::Json<Verify>| async {
                    HttpResponse::Ok().content_type("application/json").body("{}")
                }),
            )
            .route(
                "/document",
                web::get()
                    .to(|| async { HttpResponse::Ok().content_type("application/json").body(DOCUMENT) }),
            )
    })
    .workers(workers)
    .bind(addr)?
    .run()
    .await
}
