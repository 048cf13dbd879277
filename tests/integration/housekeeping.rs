//! Housekeeping at scale: the flush deletes in bounded batches and ends where one big
//! delete would; one instance of several on a Postgres database runs the periodic flush.

use serde_json::json;
use std::sync::atomic::Ordering::Relaxed;

use crate::both_databases;
use crate::common::*;

both_databases!(flush_deletes_in_bounded_batches);

const ROTATE: &str = "rotate_refresh_tokens = true\nblacklist_after_rotation = true";

/// Rows of `table`, read with SQL of the test's own.
async fn rows(storage: &Storage, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let sql = sqlx::AssertSqlSafe(sql);
    match &storage.pg {
        Some(pg) => {
            let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        None => {
            let url = format!("sqlite://{}", storage.dir.path().join("jwtd.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

async fn flush_deletes_in_bounded_batches(db: Db) {
    let s = TestServer::start(db, &format!("{ROTATE}\nflush_batch_size = 3")).await;
    s.user("alice", "pw-alice-1").await;
    let mut refresh = Vec::new();
    for _ in 0..7 {
        refresh.push(s.login("alice", "pw-alice-1").await.0);
    }
    for t in &refresh[..2] {
        s.post("/api/token/blacklist/", json!({"refresh": t}))
            .await
            .expect(200, json!({}));
    }
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh[2]}))
            .await
            .status,
        200
    );
    let store = &s.state().store;
    // Tokens that outlive the flush (recorded without a session), and a family recorded
    // without an expiry and without tokens (a revocation of a family nothing was issued in).
    for i in 0..4 {
        let t = jwtd::store::OutstandingToken {
            user_id: Some(1),
            jti: format!("long-lived-{i}"),
            family: None,
            created_at: jwtd::store::now(),
            expires_at: jwtd::store::now() + time::Duration::days(30),
        };
        store.add_outstanding(&t).await.unwrap();
    }
    store
        .blacklist_family("no-tokens-ever", jwtd::store::Reason::Revoke)
        .await
        .unwrap();
    assert_eq!(rows(&s.storage, "outstanding_tokens").await, 12);
    assert_eq!(rows(&s.storage, "blacklisted_tokens").await, 3);
    assert_eq!(rows(&s.storage, "token_families").await, 8);
    let events = rows(&s.storage, "audit_events").await;
    assert!(events >= 9, "{events}");

    // Nothing has expired yet.
    let now = jwtd::store::now();
    assert_eq!(store.flush_expired(now, 3).await.unwrap().tokens.rows, 0);
    let sessions = store.flush_ended_sessions(now, 3).await.unwrap();
    assert_eq!(sessions.rows, 1, "only the family without tokens or expiry");

    // Two days on, the day-long tokens have expired: 8 of them, at most 3 per transaction
    // (on SQLite, the expired among 3 ids at a time, from the first expired id to the last).
    let later = now + time::Duration::days(2);
    let tokens = store.flush_expired(later, 3).await.unwrap();
    assert_eq!((tokens.tokens.rows, tokens.blacklisted), (8, 3));
    assert!(tokens.tokens.batches >= 3, "{tokens:?}");
    let sessions = store.flush_ended_sessions(later, 3).await.unwrap();
    // Three pages of ended sessions, one (empty) of families without an expiry.
    assert_eq!((sessions.rows, sessions.batches), (7, 4));
    let pruned = store.prune_events(later, 3).await.unwrap();
    assert_eq!(pruned.rows as i64, events);
    assert_eq!(pruned.batches, events as u64 / 3 + 1);

    // Where one big delete would have ended.
    let left: Vec<String> = s.storage.outstanding().await.into_iter().map(|o| o.jti).collect();
    assert_eq!(
        left,
        (0..4)
            .map(|i| stored_id(&format!("long-lived-{i}")))
            .collect::<Vec<_>>()
    );
    assert_eq!(rows(&s.storage, "blacklisted_tokens").await, 0);
    assert_eq!(rows(&s.storage, "token_families").await, 0);
    assert_eq!(rows(&s.storage, "audit_events").await, 0);

    // And the whole flush, as the server and the CLI run it, finds nothing more.
    let flushed = jwtd::tokens::housekeeping::flush(store, &s.state().settings)
        .await
        .unwrap();
    assert_eq!(flushed.tokens + flushed.sessions + flushed.events, 0);
    assert_eq!(flushed.batches, 5, "one empty batch per kind, two for sessions");
}

/// Two instances on one Postgres database, both flushing periodically: one holds the
/// advisory lock and flushes at every turn, the other skips its turns and serves on; when
/// the first stops, the second takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_of_two_runs_the_periodic_flush() {
    if postgres_url().is_none() {
        skipped("housekeeping::one_instance_of_two_runs_the_periodic_flush");
        return;
    }
    let storage = std::sync::Arc::new(Storage::new(Db::Postgres).await);
    let a = TestServer::start_on(storage.clone(), "flush_expired_interval = \"1s\"").await;
    let b = TestServer::start_on(storage.clone(), "flush_expired_interval = \"1s\"").await;
    a.user("alice", "pw-alice-1").await;
    assert!(a.state().flush_once().await.is_some());
    assert!(b.state().flush_once().await.is_none());
    assert!(a.state().flush_once().await.is_some(), "the lock is kept");

    let every = std::time::Duration::from_secs(1);
    let tasks: Vec<_> = [&a, &b]
        .into_iter()
        .map(|s| {
            let http = s.http.clone();
            tokio::spawn(async move { http.app.flush_expired_periodically(every).await })
        })
        .collect();
    let mut turns = 0;
    while a.state().flush_stats.runs.load(Relaxed) < 4 || b.state().flush_stats.skipped.load(Relaxed) < 3 {
        turns += 1;
        assert!(turns < 100, "the periodic flush did not turn");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(b.state().flush_stats.runs.load(Relaxed), 0, "b never flushed");
    for s in [&a, &b] {
        assert_eq!(s.get("/readyz", None).await.status, 200);
        s.login("alice", "pw-alice-1").await;
    }
    let metrics = b.get("/metrics", None).await.text;
    assert!(metrics.contains("jwtd_flush_skipped_total "), "{metrics}");
    let metrics = a.get("/metrics", None).await.text;
    assert!(
        metrics.contains("jwtd_flush_duration_seconds_count "),
        "{metrics}"
    );
    assert!(
        metrics.contains("jwtd_flush_deleted_total{kind=\"tokens\"}"),
        "{metrics}"
    );
    for t in tasks {
        t.abort();
    }

    // a stops: its connection, and with it the lock, goes away.
    a.state().store.close().await;
    assert!(b.state().flush_once().await.is_some(), "b takes over");
}
