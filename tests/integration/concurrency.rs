//! Refresh rotation under concurrency: with rotation and blacklist-after-rotation, many
//! simultaneous refreshes with one token yield exactly one new pair — enforced by the
//! database, so it holds across jwtd instances sharing one database.

use serde_json::json;

use crate::both_databases;
use crate::common::*;

const ROTATE: &str = "rotate_refresh_tokens = true\nblacklist_after_rotation = true";
const N: usize = 24;

both_databases!(concurrent_refreshes_yield_exactly_one_pair);

async fn concurrent_refreshes_yield_exactly_one_pair(db: Db) {
    let s = TestServer::start(db, ROTATE).await;
    s.user("alice", "pw-alice-1").await;
    for round in 0..3 {
        let (refresh, _) = s.login("alice", "pw-alice-1").await;
        let replies = fire(&[&s], &refresh).await;
        assert_exactly_one_winner(&replies, &format!("round {round}"));
    }
}

/// Two instances on one Postgres database, requests alternating between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_yield_exactly_one_pair() {
    if postgres_url().is_none() {
        skipped("concurrency::two_instances_on_one_postgres_yield_exactly_one_pair");
        return;
    }
    let storage = std::sync::Arc::new(Storage::new(Db::Postgres).await);
    let a = TestServer::start_on(storage.clone(), ROTATE).await;
    let b = TestServer::start_on(storage.clone(), ROTATE).await;
    a.user("alice", "pw-alice-1").await;
    for round in 0..3 {
        let (refresh, _) = a.login("alice", "pw-alice-1").await;
        let replies = fire(&[&a, &b], &refresh).await;
        assert_exactly_one_winner(&replies, &format!("round {round}"));
    }
}

/// N refreshes at once, spread over the servers, released together.
async fn fire(servers: &[&TestServer], refresh: &str) -> Vec<Reply> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let server = servers[i % servers.len()];
        let (client, url, barrier) = (
            server.client.clone(),
            server.url("/api/token/refresh/"),
            barrier.clone(),
        );
        let body = json!({"refresh": refresh});
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            Reply::from(client.post(url).json(&body).send().await.unwrap()).await
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    replies
}

fn assert_exactly_one_winner(replies: &[Reply], round: &str) {
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "{round}: {:?}",
        replies.iter().map(|r| (r.status, &r.text)).collect::<Vec<_>>()
    );
    assert!(winners[0].body["refresh"].is_string());
    for r in replies.iter().filter(|r| r.status != 200) {
        r.expect_401(invalid("Token is blacklisted"));
    }
}
