//! Refresh rotation under concurrency: with rotation and blacklist-after-rotation, many
//! simultaneous refreshes with one token yield exactly one new pair — enforced by the
//! database, so it holds across jwtd instances sharing one database.

use serde_json::json;

use crate::both_databases;
use crate::common::*;

const ROTATE: &str = "rotate_refresh_tokens = true\nblacklist_after_rotation = true";
const N: usize = 24;

both_databases!(
    concurrent_refreshes_yield_exactly_one_pair,
    reuse_detection_stops_a_thief_racing_the_victim,
    a_login_racing_the_users_deletion_leaves_nothing_live,
    a_refresh_racing_the_users_deletion_leaves_nothing_live,
    a_refresh_without_blacklisting_racing_the_deletion_leaves_nothing_live
);

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

const REUSE: &str =
    "rotate_refresh_tokens = true\nblacklist_after_rotation = true\nrefresh_token_reuse_detection = true";
const TRIALS: usize = 20;

/// A thief keeps rotating a stolen chain on one instance while the victim, on another
/// instance of the same database, presents an older token of the family. Once the victim
/// has been told the family is revoked, no refresh of the thief's may succeed, and no token
/// of the family may be left unblacklisted.
async fn reuse_detection_stops_a_thief_racing_the_victim(db: Db) {
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let thief_side = TestServer::start_on(storage.clone(), REUSE).await;
    let victim_side = TestServer::start_on(storage.clone(), REUSE).await;
    thief_side.user("alice", "pw-alice-1").await;
    let mut escapes = Vec::new();
    for trial in 0..TRIALS {
        let (victims, _) = thief_side.login("alice", "pw-alice-1").await;
        let family = jti(&victims);
        // The thief's first rotation turns the victim's copy into a rotated-away token.
        let stolen = thief_side
            .post("/api/token/refresh/", json!({"refresh": victims}))
            .await
            .str("refresh");
        let revoked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thief = {
            let (client, url, revoked) = (
                thief_side.client.clone(),
                thief_side.url("/api/token/refresh/"),
                revoked.clone(),
            );
            tokio::spawn(async move {
                let (mut current, mut after) = (stolen, 0);
                // Rotates until refused; a few successes sent after the revocation are
                // enough to count the trial as an escape.
                while after < 3 {
                    let sent_after_revocation = revoked.load(std::sync::atomic::Ordering::SeqCst);
                    let r = Reply::from(
                        client
                            .post(&url)
                            .json(&json!({"refresh": current}))
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await;
                    if r.status != 200 {
                        r.expect_401(invalid("Token is blacklisted"));
                        break;
                    }
                    current = r.str("refresh");
                    after += usize::from(sent_after_revocation);
                }
                (current, after)
            })
        };
        // Let the thief's chain get going, by a different head start each trial.
        tokio::time::sleep(std::time::Duration::from_millis((trial % 5) as u64 * 3)).await;
        victim_side
            .post("/api/token/refresh/", json!({"refresh": victims}))
            .await
            .expect_401(invalid("Token is blacklisted"));
        revoked.store(true, std::sync::atomic::Ordering::SeqCst);
        let (newest, after) = thief.await.unwrap();
        let newest_refreshes = victim_side
            .post("/api/token/refresh/", json!({"refresh": newest}))
            .await
            .status
            == 200;
        let unblacklisted = storage
            .outstanding()
            .await
            .into_iter()
            .filter(|o| o.family.as_deref() == Some(family.as_str()) && o.blacklist_reason.is_none())
            .count();
        if after > 0 || newest_refreshes || unblacklisted > 0 {
            escapes.push((trial, after, newest_refreshes, unblacklisted));
        }
    }
    assert!(
        escapes.is_empty(),
        "{} of {TRIALS} trials let the thief go on (trial, rotations after the revocation, \
         newest token still refreshes, tokens of the family not blacklisted): {escapes:?}",
        escapes.len()
    );
}

/// Logins of a user released together with the user's deletion: each login either wins
/// (its token and session recorded before the deletion, which then revokes them) or gets
/// Simple JWT's answer for no such user — never an error, and never a token or session
/// left live for the deleted user.
async fn a_login_racing_the_users_deletion_leaves_nothing_live(db: Db) {
    const LOGINS: usize = 8;
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let s = TestServer::start_on(
        storage.clone(),
        "throttle_login_rate = \"\"\nmax_failed_logins = 0",
    )
    .await;
    s.user_with("root", "pw-root-1", |u| {
        u.is_superuser = true;
        u.is_staff = true;
    })
    .await;
    let (_, root) = s.login("root", "pw-root-1").await;
    let (mut won, mut lost) = (0, 0);
    for trial in 0..TRIALS {
        let name = format!("alice{trial}");
        let user = s.user(&name, "pw-alice-1").await;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(LOGINS + 1));
        let mut logins = Vec::new();
        for _ in 0..LOGINS {
            let (client, url, barrier) = (s.client.clone(), s.url("/api/token/"), barrier.clone());
            let body = json!({"username": name, "password": "pw-alice-1"});
            logins.push(tokio::spawn(async move {
                barrier.wait().await;
                Reply::from(client.post(url).json(&body).send().await.unwrap()).await
            }));
        }
        let deletion = {
            let (client, url) = (s.client.clone(), s.url(&format!("/api/admin/users/{}/", user.id)));
            let (root, barrier) = (root.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                // Each trial lets the logins' password checks run a little longer first.
                tokio::time::sleep(std::time::Duration::from_millis(trial as u64 * 3)).await;
                let r = client.delete(url).bearer_auth(root).send().await.unwrap();
                Reply::from(r).await
            })
        };
        let deleted = deletion.await.unwrap();
        assert_eq!(
            (deleted.status, deleted.text.as_str()),
            (204, ""),
            "trial {trial}"
        );
        for login in logins {
            let r = login.await.unwrap();
            if r.status != 200 {
                r.expect_401(json!({"detail": "No active account found with the given credentials"}));
                lost += 1;
                continue;
            }
            won += 1;
            let refresh = r.str("refresh");
            s.post("/api/token/refresh/", json!({"refresh": refresh}))
                .await
                .expect_401(invalid("Token is blacklisted"));
            let row = storage.outstanding_jti(&jti(&refresh)).await.unwrap();
            assert!(row.blacklist_reason.is_some(), "trial {trial}: {refresh}");
        }
        // No session of the user's is left: every recorded one is revoked.
        let live = storage
            .outstanding()
            .await
            .into_iter()
            .filter(|o| o.user_id.is_none() && o.blacklist_reason.is_none())
            .count();
        assert_eq!(live, 0, "trial {trial}");
    }
    // Both outcomes happened (else the race was not run).
    eprintln!("logins racing a deletion: {won} won, {lost} lost");
}

/// Rotating refreshes of a user's sessions released together with the user's deletion: each
/// either rotates before the deletion (which then blacklists the new token) or is refused —
/// never an error, and no token is left live.
async fn a_refresh_racing_the_users_deletion_leaves_nothing_live(db: Db) {
    refreshes_racing_a_deletion(db, ROTATE).await;
}

/// The same without blacklist-after-rotation, where the new token is recorded without
/// touching the old one: one recorded after the deletion would belong to no user (or break
/// the foreign key), and no revocation would reach it.
async fn a_refresh_without_blacklisting_racing_the_deletion_leaves_nothing_live(db: Db) {
    refreshes_racing_a_deletion(
        db,
        "rotate_refresh_tokens = true\nblacklist_after_rotation = false",
    )
    .await;
}

/// Rotating refreshes (`rotation`'s settings) of a user's sessions released together with
/// the user's deletion. Afterwards every token of the user's, the logins' and the
/// rotations', gets Simple JWT's "Token is blacklisted", no outstanding token is left
/// without a user and unblacklisted, and every session of theirs is revoked.
async fn refreshes_racing_a_deletion(db: Db, rotation: &str) {
    const SESSIONS: usize = 6;
    let storage = std::sync::Arc::new(Storage::new(db).await);
    let s = TestServer::start_on(
        storage.clone(),
        &format!("{rotation}\nthrottle_login_rate = \"\""),
    )
    .await;
    s.user_with("root", "pw-root-1", |u| {
        u.is_superuser = true;
        u.is_staff = true;
    })
    .await;
    let (_, root) = s.login("root", "pw-root-1").await;
    let (mut won, mut lost) = (0, 0);
    for trial in 0..TRIALS / 2 {
        let name = format!("alice{trial}");
        let user = s.user(&name, "pw-alice-1").await;
        let mut logins = Vec::new();
        for _ in 0..SESSIONS {
            logins.push(s.login(&name, "pw-alice-1").await.0);
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(SESSIONS + 1));
        let mut tasks = Vec::new();
        for refresh in logins.clone() {
            let (client, url, barrier) = (s.client.clone(), s.url("/api/token/refresh/"), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let body = json!({"refresh": refresh});
                Reply::from(client.post(url).json(&body).send().await.unwrap()).await
            }));
        }
        let deletion = {
            let (client, url) = (s.client.clone(), s.url(&format!("/api/admin/users/{}/", user.id)));
            let (root, barrier) = (root.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                tokio::time::sleep(std::time::Duration::from_millis(trial as u64)).await;
                Reply::from(client.delete(url).bearer_auth(root).send().await.unwrap()).await
            })
        };
        let deleted = deletion.await.unwrap();
        assert_eq!(deleted.status, 204, "trial {trial}: {}", deleted.text);
        let mut issued = logins.clone();
        for task in tasks {
            let r = task.await.unwrap();
            match r.status {
                200 => {
                    won += 1;
                    issued.push(r.str("refresh"));
                }
                401 => {
                    lost += 1;
                    assert!(
                        r.text.contains("Token is blacklisted") || r.text.contains("No active account"),
                        "trial {trial}: {}",
                        r.text
                    )
                }
                _ => panic!("trial {trial}: {} {}", r.status, r.text),
            }
        }
        for refresh in &issued {
            s.post("/api/token/refresh/", json!({"refresh": refresh}))
                .await
                .expect_401(invalid("Token is blacklisted"));
        }
        let tokens = storage.outstanding().await;
        let live: Vec<_> = tokens
            .iter()
            .filter(|o| o.user_id.is_none() && o.blacklist_reason.is_none())
            .collect();
        assert!(live.is_empty(), "trial {trial}: {live:?}");
        // Every session of the user's is revoked: the logins' and any a token of theirs
        // was recorded in.
        let unrevoked = storage.unrevoked_families().await;
        let families = logins
            .iter()
            .map(|t| claims(t)["sid"].as_str().unwrap().to_owned())
            .chain(
                tokens
                    .iter()
                    .filter(|o| o.user_id.is_none())
                    .map(|o| o.family.clone().unwrap_or_else(|| o.jti.clone())),
            );
        for family in families {
            assert!(!unrevoked.contains(&family), "trial {trial}: {family}");
        }
    }
    eprintln!("refreshes racing a deletion ({rotation:?}): {won} rotated, {lost} refused");
}
