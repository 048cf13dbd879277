//! `database_cache_ttl`: reads on the hot paths are reused for a short time; writes through
//! the same instance take effect at once, writes by other instances within the TTL.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::both_databases;
use crate::common::*;

both_databases!(cached_reads_follow_local_writes_at_once_and_remote_ones_within_the_ttl);

async fn cached_reads_follow_local_writes_at_once_and_remote_ones_within_the_ttl(db: Db) {
    let storage = Arc::new(Storage::new(db).await);
    let cached = TestServer::start_on(storage.clone(), r#"database_cache_ttl = "1h""#).await;
    let other = TestServer::start_on(storage.clone(), "database_cache_ttl = 0").await;
    let alice = cached.user("alice", "pw-a").await;
    let bob = cached.user("bob", "pw-b").await;

    // A user row: another instance's change is not seen while the copy lives...
    let (_, access) = cached.login("alice", "pw-a").await;
    assert_eq!(cached.me(&access).await.status, 200);
    other.state().store.set_active(alice.id, false).await.unwrap();
    assert_eq!(other.me(&access).await.body["code"], "user_inactive");
    assert_eq!(cached.me(&access).await.status, 200, "the copy is used");
    // ...and this instance's own change is seen at once.
    cached.state().store.set_active(alice.id, false).await.unwrap();
    assert_eq!(cached.me(&access).await.body["code"], "user_inactive");

    // "Not blacklisted": the same, through the HTTP endpoints.
    let (refresh, _) = cached.login("bob", "pw-b").await;
    let body = json!({"refresh": refresh});
    assert_eq!(cached.post("/api/token/refresh/", body.clone()).await.status, 200);
    assert_eq!(
        other.post("/api/token/blacklist/", body.clone()).await.status,
        200
    );
    assert_eq!(other.post("/api/token/refresh/", body.clone()).await.status, 401);
    assert_eq!(
        cached.post("/api/token/refresh/", body.clone()).await.status,
        200,
        "the copy is used"
    );
    // Blacklisting it here (refused: it already is) drops the copy all the same.
    let again = cached.post("/api/token/blacklist/", body.clone()).await;
    again.expect_401(invalid("Token is blacklisted"));
    cached
        .post("/api/token/refresh/", body.clone())
        .await
        .expect_401(invalid("Token is blacklisted"));

    // Copies expire: with a short TTL, another instance's change shows soon.
    let brief = TestServer::start_on(storage.clone(), r#"database_cache_ttl = "300ms""#).await;
    let (_, access) = brief.login("bob", "pw-b").await;
    assert_eq!(brief.me(&access).await.status, 200);
    other.state().store.set_active(bob.id, false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(brief.me(&access).await.body["code"], "user_inactive");
}
