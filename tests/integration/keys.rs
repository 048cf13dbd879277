//! Signing keys: every JWS algorithm, refused keys and tokens, the key ring with key ids,
//! the published JWKS and discovery documents, and verification against a remote JWKS.
//! Keys do not depend on the database, so these run on SQLite only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use crate::common::*;

const ALL: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A fresh key for `alg`, written to a file in `dir`; returns (settings line, key text).
fn key_file(dir: &std::path::Path, alg: Algorithm, name: &str) -> (String, String) {
    let text = jwtd::keys::generate(alg).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &text).unwrap();
    (format!("file:{}", path.display()), text)
}

/// The public PEM of a private PEM, by way of the JWKS a server publishes.
fn encoding_key(alg: Algorithm, text: &str) -> EncodingKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => EncodingKey::from_secret(text.as_bytes()),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(text.as_bytes()).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(text.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(text.as_bytes()).unwrap(),
    }
}

async fn server_with(extra: &str) -> TestServer {
    let storage = Arc::new(Storage::new(Db::Sqlite).await);
    // The harness sets an HMAC signing_key; key tests bring their own settings instead.
    let settings = format!("{extra}\n");
    TestServer::start_on_without_key(storage, &settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_algorithm_signs_and_verifies() {
    for alg in ALL {
        let dir = TempDir::new();
        let (key, text) = key_file(dir.path(), alg, "key.pem");
        let name = jwtd::keys::alg_name(alg);
        let s = server_with(&format!("algorithm = \"{name}\"\nsigning_key = \"{key}\"")).await;
        s.user("alice", "pw-alice-1").await;
        let (refresh, access) = s.login("alice", "pw-alice-1").await;
        let header = header_of(&access);
        assert_eq!(header["alg"], name);
        assert_eq!(s.me(&access).await.status, 200, "{name}");
        assert_eq!(
            s.post("/api/token/refresh/", json!({"refresh": refresh}))
                .await
                .status,
            200,
            "{name}"
        );
        let jwks = s.get("/.well-known/jwks.json", None).await;
        let keys = jwks.body["keys"].as_array().unwrap().clone();
        if jwtd::keys::is_hmac(alg) {
            assert!(keys.is_empty(), "secrets are never published: {}", jwks.text);
            assert!(
                header.get("kid").is_none(),
                "a lone HMAC key stays unnamed, as Simple JWT"
            );
            let mut validation = Validation::new(alg);
            validation.validate_aud = false;
            jsonwebtoken::decode::<Value>(&access, &DecodingKey::from_secret(text.as_bytes()), &validation)
                .unwrap();
        } else {
            assert_eq!(keys.len(), 1);
            let jwk = &keys[0];
            assert_eq!(
                (jwk["use"].as_str(), jwk["alg"].as_str()),
                (Some("sig"), Some(name))
            );
            assert_eq!(header["kid"], jwk["kid"], "the kid names the published key");
            assert!(jwk.get("d").is_none(), "no private parts");
            // An independent implementation verifies the token with the published JWK alone.
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
            assert_eq!(
                jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap(),
                header["kid"].as_str().unwrap()
            );
            let mut validation = Validation::new(alg);
            validation.validate_aud = false;
            jsonwebtoken::decode::<Value>(&access, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // A token signed elsewhere with the same key is accepted.
        let foreign = jsonwebtoken::encode(
            &Header::new(alg),
            &sj_claims("access", "1"),
            &encoding_key(alg, &text),
        )
        .unwrap();
        assert_eq!(s.me(&foreign).await.status, 200, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_do_not_fit_stop_start_up() {
    let dir = TempDir::new();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (es384, _) = key_file(dir.path(), Algorithm::ES384, "p384.pem");
    let (es256, _) = key_file(dir.path(), Algorithm::ES256, "p256.pem");
    let (ed, _) = key_file(dir.path(), Algorithm::EdDSA, "ed.pem");
    let (rsa, _) = key_file(dir.path(), Algorithm::RS256, "rsa.pem");
    let (_, other_text) = key_file(dir.path(), Algorithm::ES256, "other.pem");
    let other_public = dir.path().join("other.pub.pem");
    std::fs::write(&other_public, public_pem_of(Algorithm::ES256, &other_text)).unwrap();
    let cases = [
        (
            format!(
                "algorithm = \"RS256\"\nsigning_key = \"file:{}\"",
                fixtures.join("rsa-1024.pem").display()
            ),
            "at least 2048 bits",
        ),
        (
            format!("algorithm = \"ES256\"\nsigning_key = \"{es384}\""),
            "P-256",
        ),
        (
            format!("algorithm = \"ES384\"\nsigning_key = \"{es256}\""),
            "P-384",
        ),
        (format!("algorithm = \"RS256\"\nsigning_key = \"{es256}\""), "RSA"),
        (
            format!("algorithm = \"EdDSA\"\nsigning_key = \"{rsa}\""),
            "Ed25519",
        ),
        (format!("algorithm = \"ES256\"\nsigning_key = \"{ed}\""), "P-256"),
        (
            "algorithm = \"HS256\"\nsigning_key = \"0123456789012345678901234567890\"".into(),
            "at least 32 bytes",
        ),
        (
            format!("algorithm = \"HS384\"\nsigning_key = \"{}\"", "x".repeat(47)),
            "at least 48 bytes",
        ),
        (
            format!("algorithm = \"HS512\"\nsigning_key = \"{}\"", "x".repeat(63)),
            "at least 64 bytes",
        ),
        ("algorithm = \"RS256\"\nsigning_key = \"not a key\"".into(), "PEM"),
        (
            format!(
                "algorithm = \"ES256\"\nsigning_key = \"{es256}\"\nverifying_key = \"file:{}\"",
                other_public.display()
            ),
            "does not verify",
        ),
        (
            format!(
                "[[keys]]\nkid = \"a\"\nalgorithm = \"ES256\"\nverifying_key = \"file:{}\"",
                other_public.display()
            ),
            "first key signs",
        ),
        (
            format!(
                "[[keys]]\nkid = \"a\"\nalgorithm = \"ES256\"\nsigning_key = \"{es256}\"\n[[keys]]\nkid = \"a\"\nalgorithm = \"ES256\"\nsigning_key = \"{es256}\""
            ),
            "used twice",
        ),
    ];
    for (settings, message) in cases {
        let storage = Storage::new(Db::Sqlite).await;
        let err = jwtd::tokens::state::State::build(storage.settings_without_key(&settings))
            .await
            .err()
            .unwrap_or_else(|| panic!("accepted: {settings}"));
        let err = err.to_string();
        assert!(err.contains(message), "{settings}\n→ {err}");
        assert_eq!(err.lines().count(), 1);
    }
    // SEC1 EC keys (openssl ecparam) and OpenSSL's Ed25519 keys are read too.
    for (alg, file) in [("ES256", "ec-p256-sec1.pem"), ("EdDSA", "ed25519-openssl.pem")] {
        let storage = Storage::new(Db::Sqlite).await;
        let settings = format!(
            "algorithm = \"{alg}\"\nsigning_key = \"file:{}\"",
            fixtures.join(file).display()
        );
        jwtd::tokens::state::State::build(storage.settings_without_key(&settings))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_alg_none_key_confusion_and_foreign_algorithms() {
    let dir = TempDir::new();
    let (key, text) = key_file(dir.path(), Algorithm::RS256, "rsa.pem");
    let s = server_with(&format!("algorithm = \"RS256\"\nsigning_key = \"{key}\"")).await;
    s.user("alice", "pw-alice-1").await;
    let jwks = s.get("/.well-known/jwks.json", None).await.body;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();
    // The attacker knows the public key and signs with it as an HMAC secret.
    let public_pem = public_pem_of(Algorithm::RS256, &text);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.clone());
    for h in [header, Header::new(Algorithm::HS256)] {
        let confused = jsonwebtoken::encode(
            &h,
            &sj_claims("access", "1"),
            &EncodingKey::from_secret(public_pem.as_bytes()),
        )
        .unwrap();
        s.me(&confused)
            .await
            .expect_401(not_valid_for_any("Token is invalid"));
    }
    let none = crate::refresh::alg_none(&sj_claims("access", "1"));
    s.me(&none)
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    // Same key, an algorithm outside the allow-list (PS256 is an RSA algorithm too).
    let ps = jsonwebtoken::encode(
        &Header::new(Algorithm::PS256),
        &sj_claims("access", "1"),
        &encoding_key(Algorithm::RS256, &text),
    )
    .unwrap();
    s.me(&ps).await.expect_401(not_valid_for_any("Token is invalid"));
    // The right algorithm and key are accepted, with or without the kid.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid);
    let good = jsonwebtoken::encode(
        &header,
        &sj_claims("access", "1"),
        &encoding_key(Algorithm::RS256, &text),
    )
    .unwrap();
    assert_eq!(s.me(&good).await.status, 200);
    let _ = jwk;
}

/// The SPKI PEM of the public half of a PKCS#8 private key.
fn public_pem_of(alg: Algorithm, private_pem: &str) -> String {
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::signature::KeyPair;
    let der = pem::parse(private_pem).unwrap().into_contents();
    let spki: PublicKeyX509Der = match alg {
        Algorithm::ES256 => aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
        )
        .unwrap()
        .public_key()
        .as_der()
        .unwrap(),
        _ => aws_lc_rs::rsa::KeyPair::from_pkcs8(&der)
            .unwrap()
            .public_key()
            .as_der()
            .unwrap(),
    };
    pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_ring_signs_with_the_first_key_and_verifies_with_all() {
    let dir = TempDir::new();
    let (new_key, new_text) = key_file(dir.path(), Algorithm::ES256, "new.pem");
    let (_, old_text) = key_file(dir.path(), Algorithm::RS256, "old.pem");
    let (gone_key, gone_text) = key_file(dir.path(), Algorithm::ES256, "gone.pem");
    let old_public = dir.path().join("old.pub.pem");
    std::fs::write(&old_public, public_pem_of(Algorithm::RS256, &old_text)).unwrap();
    let ring = format!(
        "[[keys]]\nkid = \"2026-11\"\nalgorithm = \"ES256\"\nsigning_key = \"{new_key}\"\n\
         [[keys]]\nkid = \"2026-05\"\nalgorithm = \"RS256\"\nverifying_key = \"file:{}\"\n\
         [[keys]]\nkid = \"shared\"\nalgorithm = \"HS256\"\nsigning_key = \"{KEY}\"",
        old_public.display()
    );
    let s = server_with(&ring).await;
    let strict =
        TestServer::start_on_without_key(s.storage.clone(), &format!("insist_on_kid = true\n{ring}")).await;
    s.user("alice", "pw-alice-1").await;
    let (_, access) = s.login("alice", "pw-alice-1").await;
    assert_eq!(
        header_of(&access),
        json!({"alg": "ES256", "typ": "JWT", "kid": "2026-11"})
    );
    let jwks = s.get("/.well-known/jwks.json", None).await.body;
    let kids: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kids, ["2026-11", "2026-05"], "the HMAC key is not published");

    let sign = |alg: Algorithm, text: &str, kid: Option<&str>| {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, &sj_claims("access", "1"), &encoding_key(alg, text)).unwrap()
    };
    // Tokens of the verify-only key, and of the shared secret, still verify.
    for server in [&s, &strict] {
        assert_eq!(
            server
                .me(&sign(Algorithm::RS256, &old_text, Some("2026-05")))
                .await
                .status,
            200
        );
        assert_eq!(
            server
                .me(&sign(Algorithm::HS256, KEY, Some("shared")))
                .await
                .status,
            200
        );
        assert_eq!(server.me(&access).await.status, 200);
    }
    // A kid verifies only with its own key.
    s.me(&sign(Algorithm::ES256, &gone_text, Some("2026-11")))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    s.me(&sign(Algorithm::RS256, &old_text, Some("2026-11")))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    // A rotated-out key (not in the ring any more) and an unknown kid are refused.
    s.me(&sign(Algorithm::ES256, &gone_text, Some("2025-01")))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    s.me(&sign(Algorithm::ES256, &gone_text, None))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    // Without a kid, each key of the token's algorithm is tried — unless insist_on_kid.
    assert_eq!(s.me(&sign(Algorithm::RS256, &old_text, None)).await.status, 200);
    strict
        .me(&sign(Algorithm::RS256, &old_text, None))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    strict
        .me(&sign(Algorithm::ES256, &new_text, None))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    let _ = gone_key;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_jwks_and_discovery_documents() {
    let dir = TempDir::new();
    let (key, _) = key_file(dir.path(), Algorithm::ES256, "k.pem");
    let s = server_with(&format!(
        "algorithm = \"ES256\"\nsigning_key = \"{key}\"\nissuer = \"https://auth.example.com\"\nwell_known_max_age = \"10m\""
    ))
    .await;
    let jwks = s.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=600"));
    let etag = jwks.header("etag").unwrap().to_string();
    let again = Reply::from(
        s.client
            .get(s.url("/.well-known/jwks.json"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((again.status, again.text.as_str()), (304, ""));
    let jwk = &jwks.body["keys"][0];
    for member in ["kty", "kid", "use", "alg", "crv", "x", "y"] {
        assert!(jwk[member].is_string(), "{member} in {jwk}");
    }
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let d = s.get(path, None).await;
        assert_eq!(d.status, 200);
        assert_eq!(d.header("cache-control"), Some("public, max-age=600"));
        assert!(d.header("etag").is_some());
        assert_eq!(d.body["issuer"], "https://auth.example.com");
        assert_eq!(
            d.body["jwks_uri"],
            "https://auth.example.com/.well-known/jwks.json"
        );
        assert_eq!(d.body["token_endpoint"], "https://auth.example.com/api/token/");
        assert_eq!(d.body["id_token_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(
            d.body["introspection_endpoint"],
            "https://auth.example.com/api/token/introspect/"
        );
    }
    // With public_url, URLs come from it; with neither, from the request's address.
    let p = server_with(&format!(
        "algorithm = \"ES256\"\nsigning_key = \"{key}\"\npublic_url = \"https://jwtd.internal:8443/\""
    ))
    .await;
    let d = p.get("/.well-known/openid-configuration", None).await;
    assert_eq!(
        d.body["jwks_uri"],
        "https://jwtd.internal:8443/.well-known/jwks.json"
    );
    assert!(d.body.get("issuer").is_none());
    let h = server_with("").await;
    let d = h.get("/.well-known/openid-configuration", None).await;
    assert_eq!(d.body["jwks_uri"], format!("{}/.well-known/jwks.json", h.base));
    assert_eq!(
        h.get("/.well-known/jwks.json", None).await.body,
        json!({"keys": []})
    );
    let r = h.post("/.well-known/jwks.json", json!({})).await;
    assert_eq!(r.status, 405);
}

/// The discovery documents never take their URLs from a client's headers: `public_url`
/// (or `issuer`) when set; else the request's own address, with forwarded headers believed
/// only from `trusted_proxies`, and then never publicly cacheable — one request must not
/// poison a shared cache for every client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_documents_are_not_poisoned_by_request_headers() {
    let dir = TempDir::new();
    let (key, _) = key_file(dir.path(), Algorithm::ES256, "k.pem");
    let es256 = format!("algorithm = \"ES256\"\nsigning_key = \"{key}\"\n");
    let poisons: [&[(&str, &str)]; 3] = [
        &[
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
        ],
        &[("forwarded", "host=evil.example;proto=https")],
        &[("host", "evil.example")],
    ];
    let discovery = |s: &TestServer, headers: &[(&str, &str)]| {
        let mut req = s.client.get(s.url("/.well-known/openid-configuration"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        async move { Reply::from(req.send().await.unwrap()).await }
    };
    for configured in [
        "public_url = \"https://auth.example.com/\"",
        "issuer = \"https://auth.example.com\"",
    ] {
        let s = server_with(&format!("{es256}{configured}")).await;
        for headers in poisons {
            let d = discovery(&s, headers).await;
            assert_eq!(d.status, 200, "{headers:?}");
            assert_eq!(
                d.body["jwks_uri"], "https://auth.example.com/.well-known/jwks.json",
                "{configured} {headers:?}"
            );
            assert_eq!(d.body["token_endpoint"], "https://auth.example.com/api/token/");
            assert_eq!(d.header("cache-control"), Some("public, max-age=300"));
        }
    }
    // Neither set: forwarded headers of a peer that is no trusted proxy are ignored, and
    // the answer, made from the request, is for this client only.
    let s = server_with(&es256).await;
    for headers in &poisons[..2] {
        let d = discovery(&s, headers).await;
        assert_eq!(
            d.body["jwks_uri"],
            format!("{}/.well-known/jwks.json", s.base),
            "{headers:?}"
        );
        assert_eq!(d.header("cache-control"), Some("no-store"), "{headers:?}");
    }
    let d = discovery(&s, poisons[2]).await;
    assert_eq!(d.header("cache-control"), Some("no-store"));
    // A trusted proxy's forwarded headers are believed; still not publicly cacheable.
    let s = server_with(&format!("{es256}trusted_proxies = [\"127.0.0.1\"]")).await;
    for headers in &poisons[..2] {
        let d = discovery(&s, headers).await;
        assert_eq!(
            d.body["jwks_uri"], "https://evil.example/.well-known/jwks.json",
            "{headers:?}"
        );
        assert_eq!(d.header("cache-control"), Some("no-store"), "{headers:?}");
    }
    // The JWKS holds no URL: its answer is the same for everyone and stays cacheable.
    let jwks = s.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
}

/// Public keys without `public_url`: the discovery documents can only be made from each
/// request, and the start-up log says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_warns_when_public_keys_have_no_public_url() {
    let dir = TempDir::new();
    let (key, _) = key_file(dir.path(), Algorithm::ES256, "k.pem");
    let env = [("JWTD__ALGORITHM", "ES256"), ("JWTD__SIGNING_KEY", key.as_str())];
    let (_, child, log) = start_binary(dir.path(), &env).await;
    drop(child);
    assert!(log.contains("public_url"), "{log}");
    let with_url = [env[0], env[1], ("JWTD__PUBLIC_URL", "https://auth.example.com")];
    let (_, child, log) = start_binary(dir.path(), &with_url).await;
    drop(child);
    assert!(!log.contains("public_url"), "{log}");
    // HMAC only: nothing is published, nothing to say.
    let hmac = [("JWTD__SIGNING_KEY", KEY)];
    let (_, child, log) = start_binary(dir.path(), &hmac).await;
    drop(child);
    assert!(!log.contains("public_url"), "{log}");
}

/// A stand-in identity provider serving a JWK Set, counting requests; it can be stopped.
struct Provider {
    url: String,
    hits: Arc<AtomicUsize>,
    up: Arc<AtomicBool>,
    handle: actix_web::dev::ServerHandle,
}

impl Provider {
    async fn start(jwks: Value, cache_control: &'static str) -> Provider {
        let hits = Arc::new(AtomicUsize::new(0));
        let up = Arc::new(AtomicBool::new(true));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let (h, u) = (hits.clone(), up.clone());
        let body = jwks.to_string();
        let server = actix_web::HttpServer::new(move || {
            let (h, u, body) = (h.clone(), u.clone(), body.clone());
            actix_web::App::new().route(
                "/jwks.json",
                actix_web::web::get().to(move || {
                    let (h, u, body) = (h.clone(), u.clone(), body.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        if u.load(Ordering::SeqCst) {
                            actix_web::HttpResponse::Ok()
                                .insert_header(("cache-control", cache_control))
                                .content_type("application/json")
                                .body(body)
                        } else {
                            actix_web::HttpResponse::ServiceUnavailable().finish()
                        }
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Provider {
            url,
            hits,
            up,
            handle,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifies_tokens_of_another_issuer_through_jwk_url() {
    // The other issuer's key, published as a JWK Set by the stand-in provider.
    let dir = TempDir::new();
    let (_, remote_text) = key_file(dir.path(), Algorithm::ES256, "remote.pem");
    let kid = jwtd::keys::thumbprint_of(Algorithm::ES256, &remote_text)
        .unwrap()
        .unwrap();
    let publisher = server_with(&format!(
        "algorithm = \"ES256\"\nsigning_key = \"file:{}\"",
        dir.path().join("remote.pem").display()
    ))
    .await;
    let jwks = publisher.get("/.well-known/jwks.json", None).await.body;
    let provider = Provider::start(jwks, "public, max-age=1").await;

    let s = server_with(&format!(
        "signing_key = \"{KEY}\"\njwk_url = \"{}\"\njwk_algorithms = [\"ES256\"]\njwk_refetch_interval = \"2s\"\njwk_cache_max_age = \"1h\"",
        provider.url
    ))
    .await;
    s.user("alice", "pw-alice-1").await;
    let remote_token = |kid: &str| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(
            &header,
            &sj_claims("access", "1"),
            &encoding_key(Algorithm::ES256, &remote_text),
        )
        .unwrap()
    };
    assert_eq!(s.me(&remote_token(&kid)).await.status, 200);
    assert_eq!(provider.hits.load(Ordering::SeqCst), 1);
    // jwtd's own tokens still verify with its own key, without asking the provider.
    let (_, own) = s.login("alice", "pw-alice-1").await;
    assert_eq!(s.me(&own).await.status, 200);
    // A flood of made-up kids: refused, and at most one more fetch per refetch interval.
    for i in 0..50 {
        s.me(&remote_token(&format!("made-up-{i}")))
            .await
            .expect_401(not_valid_for_any("Token is invalid"));
    }
    assert!(
        provider.hits.load(Ordering::SeqCst) <= 2,
        "hits: {}",
        provider.hits.load(Ordering::SeqCst)
    );
    // The remote goes down (errors, then gone): known keys keep working past max-age,
    // unknown ones fail with the invalid-token answer, never a 500.
    provider.up.store(false, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(s.me(&remote_token(&kid)).await.status, 200);
    s.me(&remote_token("unknown"))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    provider.handle.stop(false).await;
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(s.me(&remote_token(&kid)).await.status, 200);
    s.me(&remote_token("unknown-2"))
        .await
        .expect_401(not_valid_for_any("Token is invalid"));
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": remote_token(&kid)}))
            .await
            .status,
        200
    );
    // An algorithm outside jwk_algorithms is refused even with a known kid.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.clone());
    let hs = jsonwebtoken::encode(
        &header,
        &sj_claims("access", "1"),
        &EncodingKey::from_secret(b"x"),
    )
    .unwrap();
    s.me(&hs).await.expect_401(not_valid_for_any("Token is invalid"));
}

/// `jwtd key generate --out DIR` run by the binary: the key's path and the settings it prints.
async fn generate_with_cli(dir: &std::path::Path, alg: &str) -> (std::path::PathBuf, String) {
    let o = crate::cli::jwtd(
        dir,
        &[],
        &["key", "generate", "--alg", alg, "--out", "keys"],
        None,
    )
    .await;
    let out = crate::cli::text(&o.stdout);
    assert!(o.status.success(), "{out}{}", crate::cli::text(&o.stderr));
    let path = out
        .lines()
        .find_map(|l| l.strip_prefix("JWTD__SIGNING_KEY=file:"))
        .unwrap_or_else(|| panic!("{out}"));
    (std::path::PathBuf::from(path), out)
}

fn set_age(path: &std::path::Path, seconds_ago: u64) {
    let at = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

/// What `jwtd key generate` prints is exactly what docs/keys.md shows, and the settings it
/// names work from the environment: a single key, or the whole folder as the ring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_dir_makes_the_ring_from_a_folder_of_pem_files() {
    let work = TempDir::new();
    let (es256, out) = generate_with_cli(work.path(), "ES256").await;
    let folder = std::fs::canonicalize(work.path().join("keys")).unwrap();
    let file_kid = es256.file_stem().unwrap().to_str().unwrap().to_string();
    let thumbprint = file_kid.strip_prefix("ES256-").unwrap();
    assert_eq!(
        out,
        format!(
            "wrote {path} (mode 0600)\n\nTo sign with this key alone (its kid: {thumbprint}):\n\
             JWTD__ALGORITHM=ES256\nJWTD__SIGNING_KEY=file:{path}\n\n\
             Or to use every key in {folder}, the newest signing (this one's kid: {file_kid}):\n\
             JWTD__KEYS_DIR={folder}\n",
            path = es256.display(),
            folder = folder.display()
        )
    );
    let (eddsa, _) = generate_with_cli(work.path(), "EdDSA").await;
    let (rsa, _) = generate_with_cli(work.path(), "RS256").await;
    let (_, hmac_out) = generate_with_cli(work.path(), "HS256").await;
    assert!(
        hmac_out.contains("(tokens carry no kid):\nJWTD__ALGORITHM=HS256\n")
            && !hmac_out.contains("KEYS_DIR"),
        "{hmac_out}"
    );
    // Not keys: other names, hidden entries (Kubernetes' ..data), folders.
    std::fs::write(folder.join("README.txt"), "not a key").unwrap();
    std::fs::create_dir(folder.join("..data")).unwrap();
    std::fs::create_dir(folder.join("old.pem")).unwrap();
    set_age(&es256, 300);
    set_age(&rsa, 200);
    set_age(&eddsa, 100);
    let kid_of = |p: &std::path::PathBuf| p.file_stem().unwrap().to_str().unwrap().to_string();

    // One key alone, as printed.
    let storage = Storage::new(Db::Sqlite).await;
    let db = storage.database_url();
    let signing_key = format!("file:{}", es256.display());
    let env = [
        ("JWTD__DATABASE_URL", db.as_str()),
        ("JWTD__ALGORITHM", "ES256"),
        ("JWTD__SIGNING_KEY", signing_key.as_str()),
    ];
    let o = crate::cli::jwtd(
        work.path(),
        &env,
        &["user", "create", "alice", "--password", "pw-alice-1"],
        None,
    )
    .await;
    assert!(o.status.success(), "{}", crate::cli::text(&o.stderr));
    let client = reqwest::Client::new();
    let login = |base: String| {
        let client = client.clone();
        async move {
            let r = client
                .post(format!("{base}/api/token/"))
                .json(&json!({"username": "alice", "password": "pw-alice-1"}))
                .send()
                .await
                .unwrap();
            let body: Value = r.json().await.unwrap();
            body["access"].as_str().unwrap().to_string()
        }
    };
    let (addr, mut single, _) = start_binary(work.path(), &env).await;
    let access = login(format!("http://{addr}")).await;
    assert_eq!(
        header_of(&access),
        json!({"alg": "ES256", "typ": "JWT", "kid": thumbprint})
    );
    single.kill().await.unwrap();

    // The folder: every key published with its file's name and its own algorithm; the
    // newest file signs.
    let keys_dir = folder.display().to_string();
    let env = [
        ("JWTD__DATABASE_URL", db.as_str()),
        ("JWTD__KEYS_DIR", keys_dir.as_str()),
    ];
    let (addr, mut ring, _) = start_binary(work.path(), &env).await;
    let base = format!("http://{addr}");
    let access = login(base.clone()).await;
    assert_eq!(
        header_of(&access),
        json!({"alg": "EdDSA", "typ": "JWT", "kid": kid_of(&eddsa)})
    );
    let jwks: Value = client
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut published: Vec<(String, String)> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().into(),
                k["alg"].as_str().unwrap().into(),
            )
        })
        .collect();
    published.sort();
    let mut expected = vec![
        (kid_of(&es256), "ES256".to_string()),
        (kid_of(&eddsa), "EdDSA".to_string()),
        (kid_of(&rsa), "RS256".to_string()),
    ];
    expected.sort();
    assert_eq!(published, expected);
    // Every key verifies: a token of the ES256 file, named by its kid.
    let me = |token: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            client
                .get(format!("{base}/api/me/"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid_of(&es256));
    let es_text = std::fs::read_to_string(&es256).unwrap();
    let es_token = jsonwebtoken::encode(
        &header,
        &sj_claims("access", "1"),
        &encoding_key(Algorithm::ES256, &es_text),
    )
    .unwrap();
    assert_eq!(me(es_token.clone()).await, 200);
    assert_eq!(me(access).await, 200);
    ring.kill().await.unwrap();

    // signing_kid picks the signing key; an RSA key takes `algorithm` when it is an RSA one.
    let rsa_kid = kid_of(&rsa);
    let env = [
        ("JWTD__DATABASE_URL", db.as_str()),
        ("JWTD__KEYS_DIR", keys_dir.as_str()),
        ("JWTD__SIGNING_KID", rsa_kid.as_str()),
        ("JWTD__ALGORITHM", "PS256"),
    ];
    let (addr, mut pinned, _) = start_binary(work.path(), &env).await;
    let access = login(format!("http://{addr}")).await;
    assert_eq!(
        header_of(&access),
        json!({"alg": "PS256", "typ": "JWT", "kid": rsa_kid})
    );
    pinned.kill().await.unwrap();

    // A file that is not a key stops start-up, named.
    std::fs::write(
        folder.join("broken.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let o = crate::cli::jwtd(work.path(), &env, &["token", "mint", "alice"], None).await;
    assert_eq!(o.status.code(), Some(1));
    let stderr = crate::cli::text(&o.stderr);
    assert!(
        stderr.trim().ends_with(&format!(
            "configuration error: `keys_dir`: {}: not a key jwtd knows (PRIVATE KEY in PEM): \
             expected a P-256 (ES256), P-384 (ES384), Ed25519 (EdDSA) or RSA (PS256) private key",
            folder.join("broken.pem").display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_dir_errors_name_the_file_or_the_setting() {
    let dir = TempDir::new();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    key_file(&keys, Algorithm::ES384, "a.pem");
    let (_, es256) = key_file(dir.path(), Algorithm::ES256, "outside.pem");
    let public = dir.path().join("public");
    std::fs::create_dir(&public).unwrap();
    std::fs::write(public.join("p.pem"), public_pem_of(Algorithm::ES256, &es256)).unwrap();
    let dangling = dir.path().join("dangling");
    std::fs::create_dir(&dangling).unwrap();
    std::os::unix::fs::symlink("/no/such/key", dangling.join("gone.pem")).unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rsa-1024.pem"),
        small.join("old.pem"),
    )
    .unwrap();
    let at = |d: &std::path::Path| format!("keys_dir = \"{}\"", d.display());
    let cases = vec![
        (
            "keys_dir = \"/no/such/folder\"".to_string(),
            "`keys_dir`: cannot read /no/such/folder: ".to_string(),
        ),
        (
            at(&empty),
            format!("`keys_dir`: {} holds no .pem file", empty.display()),
        ),
        (
            at(&public),
            format!("`keys_dir`: {}: a public key", public.join("p.pem").display()),
        ),
        (
            at(&dangling),
            format!(
                "`keys_dir`: cannot read {}: ",
                dangling.join("gone.pem").display()
            ),
        ),
        (
            format!("{}\nsigning_kid = \"b\"", at(&keys)),
            format!(
                "`signing_kid`: no key \"b\" in {}: there is no b.pem (the keys there: a)",
                keys.display()
            ),
        ),
        (
            format!("{}\nsigning_key = \"{KEY}\"", at(&keys)),
            "`keys_dir`: set either keys_dir or signing_key, not both".into(),
        ),
        (
            format!("{}\n[[keys]]\nkid = \"x\"\nsigning_key = \"{KEY}\"", at(&keys)),
            "`keys_dir`: set either keys_dir or keys, not both".into(),
        ),
        (
            format!("signing_key = \"{KEY}\"\nsigning_kid = \"a\""),
            "`signing_kid`: names a key of keys_dir, which is not set".into(),
        ),
        (
            at(&small),
            format!(
                "{}: RSA keys must have at least 2048 bits",
                small.join("old.pem").display()
            ),
        ),
    ];
    for (settings, message) in cases {
        let storage = Storage::new(Db::Sqlite).await;
        let err = jwtd::tokens::state::State::build(storage.settings_without_key(&settings))
            .await
            .err()
            .unwrap_or_else(|| panic!("accepted: {settings}"));
        let err = err.to_string();
        assert!(err.contains(&message), "{settings}\n→ {err}");
        assert_eq!(err.lines().count(), 1);
    }
    // The P-384 key alone: ES384, named by its file.
    let storage = Storage::new(Db::Sqlite).await;
    let state = jwtd::tokens::state::State::build(storage.settings_without_key(&at(&keys)))
        .await
        .unwrap();
    let ring = state.backend.keys();
    assert_eq!(
        (ring.algorithm(), ring.signing_kid()),
        (Algorithm::ES384, Some("a"))
    );
}
