//! Bad input of every kind gets a 4xx, never a 500 and never a dead server.

use serde_json::json;

use crate::both_databases;
use crate::common::*;

both_databases!(no_input_causes_a_server_error);

async fn no_input_causes_a_server_error(db: Db) {
    let s = TestServer::start(db, "").await;
    s.user("alice", "pw-alice-1").await;
    let (refresh, access) = s.login("alice", "pw-alice-1").await;
    let paths = [
        "/api/token/",
        "/api/token/refresh/",
        "/api/token/verify/",
        "/api/token/blacklist/",
        "/api/token/logout/",
        "/api/token/sliding/",
        "/api/token/sliding/refresh/",
    ];
    let long = "A".repeat(10_000);
    let bodies: Vec<(Option<&str>, Vec<u8>)> = vec![
        (Some("application/json"), b"{\"token\":".to_vec()),
        (
            Some("application/json"),
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".repeat(40),
        ),
        (
            Some("application/json"),
            format!("{{\"token\":\"{long}\",\"refresh\":\"{long}\"}}").into_bytes(),
        ),
        (
            Some("application/json"),
            b"{\"token\":\"a.b.c\",\"refresh\":\"a.b.c\",\"username\":\"x\",\"password\":\"y\"}".to_vec(),
        ),
        (
            Some("application/json"),
            format!("{{\"token\":\"{access}.\",\"refresh\":\"{refresh}x\"}}").into_bytes(),
        ),
        (
            Some("application/json"),
            b"{\"token\":\"\\u0000\",\"refresh\":1e999}".to_vec(),
        ),
        (Some("application/json"), vec![0xc3, 0x28, 0xa0, 0xa1]),
        (
            Some("application/x-www-form-urlencoded"),
            b"token=%ff%fe&refresh=%&&&==".to_vec(),
        ),
        (
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nContent-Disposition: form-data\r\n\r\n--x--".to_vec(),
        ),
        (Some("multipart/form-data; boundary=\"\""), b"--\r\n".to_vec()),
        (
            Some("*/*"),
            b"{\"token\": {\"a\": [1, 2, {\"b\": null}]}}".to_vec(),
        ),
    ];
    for path in paths {
        for (content_type, body) in &bodies {
            let r = s.post_raw(path, *content_type, body.clone()).await;
            assert!(r.status < 500, "{path} {content_type:?}: {} {}", r.status, r.text);
        }
    }
    // Tokens with strange parts and claims.
    let odd_tokens = [
        ".".to_string(),
        "..".into(),
        "a.b.c.d".into(),
        format!("{}.{}", access, access),
        forge(
            &json!({"exp": 1e300, "jti": "x", "token_type": "access", "user_id": "1"}),
            KEY,
        ),
        forge(
            &json!({"exp": -1, "jti": "x", "token_type": "access", "user_id": "1"}),
            KEY,
        ),
        forge(
            &json!({"exp": now() + 60, "jti": "x", "token_type": "access", "user_id": [1]}),
            KEY,
        ),
        forge(
            &json!({"exp": now() + 60, "jti": "x", "token_type": "access", "user_id": "99999999999999999999999"}),
            KEY,
        ),
        forge(
            &json!({"exp": now() + 60, "jti": "x", "token_type": "access", "user_id": 1.5}),
            KEY,
        ),
        forge(
            &json!({"exp": now() + 60, "jti": "x", "token_type": ["access"], "user_id": "1"}),
            KEY,
        ),
    ];
    for token in &odd_tokens {
        for (path, field) in [
            ("/api/token/verify/", "token"),
            ("/api/token/refresh/", "refresh"),
        ] {
            let r = s.post(path, json!({field: token})).await;
            assert!(r.status < 500, "{path} {token}: {} {}", r.status, r.text);
        }
        let r = s.me(token).await;
        assert!(r.status < 500, "/api/me/ {token}: {} {}", r.status, r.text);
    }
    for header in [
        b"Bearer \xff\xfe.\x80".to_vec(),
        b"Bearer \t\t".to_vec(),
        format!("Bearer {long}").into_bytes(),
    ] {
        let value = reqwest::header::HeaderValue::from_bytes(&header).unwrap();
        let r = Reply::from(
            s.client
                .get(s.url("/api/me/"))
                .header("authorization", value)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            r.status < 500,
            "{:?}: {}",
            String::from_utf8_lossy(&header),
            r.status
        );
    }
    // Still serving.
    assert_eq!(s.me(&access).await.status, 200);
}
