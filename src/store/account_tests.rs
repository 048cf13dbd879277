//! Sessions, the audit trail and the admin's user changes, on a real SQLite file and — with
//! `JWTD_TEST_POSTGRES_URL` — a fresh Postgres database.

use time::{Duration, OffsetDateTime};

use super::*;

/// A database of its own for one test, removed when dropped.
struct TestDb {
    db: Database,
    url: String,
    dir: Option<std::path::PathBuf>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// `None`: Postgres asked for without `JWTD_TEST_POSTGRES_URL`.
    async fn new(postgres: bool, migrations: Option<i64>) -> Option<TestDb> {
        let (url, dir, pg) = if postgres {
            let admin = std::env::var("JWTD_TEST_POSTGRES_URL")
                .ok()
                .filter(|u| !u.is_empty())?;
            let name = format!("jwtd_unit_{}", uuid::Uuid::new_v4().simple());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            let base = admin.split('?').next().unwrap();
            let cut = base
                .rfind('/')
                .filter(|i| *i > base.find("://").unwrap() + 2)
                .unwrap_or(base.len());
            (format!("{}/{name}", &base[..cut]), None, Some((admin, name)))
        } else {
            let dir = std::env::temp_dir().join(format!("jwtd-accounts-{}", uuid::Uuid::new_v4().simple()));
            (
                format!("sqlite://{}", dir.join("jwtd.db").display()),
                Some(dir),
                None,
            )
        };
        let db = Database::connect(&url, &ConnectOptions::default()).await.unwrap();
        match migrations {
            Some(last) => db.migrate_to(last).await.unwrap(),
            None => db.migrate().await.unwrap(),
        }
        Some(TestDb { db, url, dir, pg })
    }

    /// Another instance on the same database.
    async fn other(&self) -> Database {
        Database::connect(&self.url, &ConnectOptions::default())
            .await
            .unwrap()
    }

    /// Runs SQL of the test's own.
    async fn exec(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db.pool {
            Pool::Sqlite { writer, .. } => drop(sqlx::raw_sql(sql).execute(writer).await.unwrap()),
            Pool::Postgres(pool) => drop(sqlx::raw_sql(sql).execute(pool).await.unwrap()),
        }
    }

    async fn count(&self, sql: &'static str) -> i64 {
        let store = &self.db;
        on_pool!(store, read, |db| sqlx::query_scalar(sql).fetch_one(db).await?)
            .await
            .unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin, name)) = self.pg.take() {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// Each test once per database; the Postgres run returns at once without the URL.
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = super::TestDb::new(false, None).await.unwrap();
                super::$name(&t).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(t) = super::TestDb::new(true, None).await {
                    super::$name(&t).await
                }
            }
        }
    )*};
}

both_databases!(
    sessions_are_listed_newest_first_a_page_at_a_time,
    revoking_a_session_blacklists_its_tokens_and_stops_rotation,
    revoking_other_sessions_keeps_the_current_one,
    touching_a_session_writes_at_most_once_a_minute,
    events_are_filtered_paged_and_pruned,
    users_are_searched_filtered_and_ordered,
    updating_a_user_checks_expectations_and_usernames,
    deleting_a_user_blacklists_their_tokens_in_one_transaction,
    a_password_change_revokes_every_other_session,
    audited_twins_write_their_events_with_the_change,
    one_imported_hash_of_each_kind_is_read_off_an_index,
    an_import_larger_than_a_batch_moves_names_across_batches,
);

fn t0() -> OffsetDateTime {
    now()
}

fn user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        password: "$argon2id$x".into(),
        email: format!("{name}@example.com"),
        is_active: true,
        ..NewUser::default()
    }
}

fn token(user_id: i64, jti: &str, family: &str, created: OffsetDateTime) -> OutstandingToken {
    OutstandingToken {
        user_id: Some(user_id),
        jti: jti.into(),
        family: Some(family.into()),
        created_at: created,
        expires_at: created + Duration::days(1),
    }
}

fn session(user_id: i64, created: OffsetDateTime) -> NewSession {
    NewSession {
        user_id,
        created_at: created,
        expires_at: created + Duration::days(1),
        user_agent: Some("curl/8".into()),
        ip_address: Some("192.0.2.1".into()),
    }
}

/// A login of `user_id` at `created`: its first token `jti`, which is the session's id.
async fn login(db: &Database, user_id: i64, jti: &str, created: OffsetDateTime) {
    db.add_outstanding_with_session(
        &token(user_id, jti, jti, created),
        &session(user_id, created),
        &[],
    )
    .await
    .unwrap();
}

fn page(offset: i64, limit: i64) -> Page {
    Page { offset, limit }
}

fn ids(sessions: &[Session]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

async fn sessions_are_listed_newest_first_a_page_at_a_time(t: &TestDb) {
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let bob = db.create_user(&user("bob")).await.unwrap();
    let now = t0();
    assert_eq!(
        db.sessions_of_user(alice.id, now, page(0, 10)).await.unwrap(),
        (vec![], 0)
    );
    for (i, jti) in ["s1", "s2", "s3", "s4"].into_iter().enumerate() {
        login(db, alice.id, jti, now - Duration::minutes(10 - i as i64)).await;
    }
    login(db, bob.id, "b1", now).await;
    // Expired, and revoked: not active.
    login(db, alice.id, "old", now - Duration::days(2)).await;
    login(db, alice.id, "gone", now).await;
    db.revoke_session("gone", Some(alice.id), Reason::Revoke, &[])
        .await
        .unwrap()
        .unwrap();

    let (all, count) = db.sessions_of_user(alice.id, now, page(0, 10)).await.unwrap();
    assert_eq!((ids(&all), count), (vec!["s4", "s3", "s2", "s1"], 4));
    let s = &all[0];
    assert_eq!(s.user_id, Some(alice.id));
    assert_eq!(s.created_at, Some(now - Duration::minutes(7)));
    assert_eq!(s.last_used_at, s.created_at);
    assert_eq!(s.expires_at, Some(now - Duration::minutes(7) + Duration::days(1)));
    assert_eq!(s.user_agent.as_deref(), Some("curl/8"));
    assert_eq!(s.ip_address.as_deref(), Some("192.0.2.1"));
    assert_eq!(s.revoked_at, None);
    // Pages: exactly full, the remainder, past the end.
    let (p, count) = db.sessions_of_user(alice.id, now, page(0, 2)).await.unwrap();
    assert_eq!((ids(&p), count), (vec!["s4", "s3"], 4));
    let (p, _) = db.sessions_of_user(alice.id, now, page(2, 2)).await.unwrap();
    assert_eq!(ids(&p), ["s2", "s1"]);
    let (p, _) = db.sessions_of_user(alice.id, now, page(3, 2)).await.unwrap();
    assert_eq!(ids(&p), ["s1"]);
    let (p, count) = db.sessions_of_user(alice.id, now, page(4, 2)).await.unwrap();
    assert_eq!((ids(&p), count), (vec![], 4));
    // A refresh moves a session to the front.
    assert!(
        db.touch_session("s1", now, now + Duration::days(1))
            .await
            .unwrap()
    );
    let (p, _) = db.sessions_of_user(alice.id, now, page(0, 1)).await.unwrap();
    assert_eq!(ids(&p), ["s1"]);

    assert!(db.session("gone").await.unwrap().unwrap().revoked_at.is_some());
    assert_eq!(db.session("b1").await.unwrap().unwrap().user_id, Some(bob.id));
    assert_eq!(db.session("nothing").await.unwrap(), None);
}

async fn revoking_a_session_blacklists_its_tokens_and_stops_rotation(t: &TestDb) {
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let bob = db.create_user(&user("bob")).await.unwrap();
    let now = t0();
    login(db, alice.id, "a1", now).await;
    let first = token(alice.id, "a1", "a1", now);
    let second = token(alice.id, "a2", "a1", now);
    assert_eq!(db.rotate(&first, &second).await.unwrap(), Rotation::Rotated);

    // Somebody else's session, or none: nothing happens.
    assert_eq!(
        db.revoke_session("a1", Some(bob.id), Reason::Revoke, &[])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.revoke_session("zz", None, Reason::Revoke, &[]).await.unwrap(),
        None
    );
    assert!(!db.is_blacklisted("a2").await.unwrap());

    let event = NewEvent::new(EventType::SessionRevoked).user(&alice);
    let revoked = db
        .revoke_session("a1", Some(alice.id), Reason::Revoke, &[event])
        .await
        .unwrap();
    assert_eq!(
        revoked,
        Some(Revoked {
            sessions: 1,
            tokens: 1
        })
    );
    assert!(db.is_blacklisted("a2").await.unwrap());
    let third = token(alice.id, "a3", "a1", now);
    assert_eq!(db.rotate(&second, &third).await.unwrap(), Rotation::FamilyRevoked);
    assert_eq!(db.add_to_family(&third).await.unwrap(), Joined::FamilyRevoked);
    // Once revoked it is no longer there to revoke.
    assert_eq!(
        db.revoke_session("a1", None, Reason::Revoke, &[]).await.unwrap(),
        None
    );
    let (events, count) = db.events(&EventFilter::default(), page(0, 10)).await.unwrap();
    assert_eq!(count, 1);
    assert_eq!(events[0].kind, "session_revoked");
    assert_eq!(events[0].user_id, Some(alice.id));
}

async fn revoking_other_sessions_keeps_the_current_one(t: &TestDb) {
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let bob = db.create_user(&user("bob")).await.unwrap();
    let now = t0();
    for jti in ["here", "phone", "laptop"] {
        login(db, alice.id, jti, now).await;
    }
    login(db, bob.id, "bobs", now).await;
    // A login recorded without a session (as before sessions existed) is a device too.
    db.add_outstanding(&token(alice.id, "bare", "bare", now))
        .await
        .unwrap();
    db.rotate(
        &token(alice.id, "here", "here", now),
        &token(alice.id, "here2", "here", now),
    )
    .await
    .unwrap();

    let event = NewEvent::new(EventType::SessionRevoked).user(&alice);
    let revoked = db
        .revoke_other_sessions(alice.id, "here", Reason::Revoke, std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(
        revoked,
        Revoked {
            sessions: 2,
            tokens: 3
        }
    );
    for jti in ["phone", "laptop", "bare"] {
        assert!(db.is_blacklisted(jti).await.unwrap(), "{jti}");
    }
    for jti in ["here2", "bobs"] {
        assert!(!db.is_blacklisted(jti).await.unwrap(), "{jti}");
    }
    assert_eq!(
        db.add_to_family(&token(alice.id, "bare2", "bare", now))
            .await
            .unwrap(),
        Joined::FamilyRevoked
    );
    let (left, count) = db.sessions_of_user(alice.id, now, page(0, 10)).await.unwrap();
    assert_eq!((ids(&left), count), (vec!["here"], 1));
    // Again: nothing left to revoke.
    let again = db
        .revoke_other_sessions(alice.id, "here", Reason::Revoke, &[])
        .await
        .unwrap();
    assert_eq!(again, Revoked::default());

    let all = db
        .revoke_all_sessions(alice.id, Reason::Revoke, &[event])
        .await
        .unwrap();
    assert_eq!(
        all,
        Revoked {
            sessions: 1,
            tokens: 1
        }
    );
    assert!(db.is_blacklisted("here2").await.unwrap());
    assert_eq!(
        db.sessions_of_user(alice.id, now, page(0, 10)).await.unwrap().1,
        0
    );
    assert_eq!(db.sessions_of_user(bob.id, now, page(0, 10)).await.unwrap().1, 1);
}

async fn touching_a_session_writes_at_most_once_a_minute(t: &TestDb) {
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let start = t0() - Duration::minutes(10);
    login(db, alice.id, "s", start).await;
    let last_used = || async { db.session("s").await.unwrap().unwrap().last_used_at.unwrap() };
    let expires = |at: OffsetDateTime| at + Duration::days(1);

    // Within a minute of the login: nothing written.
    let at = start + Duration::seconds(59);
    assert!(!db.touch_session("s", at, expires(at)).await.unwrap());
    assert_eq!(last_used().await, start);
    let at = start + Duration::seconds(60);
    assert!(db.touch_session("s", at, expires(at)).await.unwrap());
    assert_eq!(last_used().await, at);
    let session = db.session("s").await.unwrap().unwrap();
    assert_eq!(session.expires_at, Some(expires(at)));
    // This instance remembers its write: no statement at all.
    let queries = db.queries();
    assert!(
        !db.touch_session("s", at + Duration::seconds(30), expires(at))
            .await
            .unwrap()
    );
    assert_eq!(db.queries(), queries);
    // Another instance does not, and the statement's condition stops it.
    let other = t.other().await;
    assert!(
        !other
            .touch_session("s", at + Duration::seconds(30), expires(at))
            .await
            .unwrap()
    );
    assert_eq!(last_used().await, at);
    assert!(
        other
            .touch_session("s", at + Duration::seconds(61), expires(at))
            .await
            .unwrap()
    );
    assert_eq!(last_used().await, at + Duration::seconds(61));
    // A revoked session stays as it was.
    db.revoke_session("s", None, Reason::Revoke, &[])
        .await
        .unwrap()
        .unwrap();
    assert!(
        !db.touch_session("s", at + Duration::minutes(5), expires(at))
            .await
            .unwrap()
    );
    other.close().await;
}

fn event_at(kind: EventType, user: Option<i64>, at: OffsetDateTime) -> NewEvent {
    NewEvent {
        at,
        user_id: user,
        username: user.map(|u| format!("user{u}")),
        detail: Some(serde_json::json!({"n": at.unix_timestamp()})),
        ..NewEvent::new(kind)
    }
}

async fn events_are_filtered_paged_and_pruned(t: &TestDb) {
    let db = &t.db;
    let base = t0() - Duration::hours(10);
    for i in 0..10 {
        let kind = if i % 2 == 0 {
            EventType::LoginSucceeded
        } else {
            EventType::LoginFailed
        };
        db.record_event(&event_at(kind, Some(i % 3), base + Duration::hours(i)))
            .await
            .unwrap();
    }
    let long = NewEvent {
        username: Some("é".repeat(200)),
        user_agent: Some("u".repeat(1000)),
        ip_address: Some("2001:db8::1".into()),
        session: Some("fam".into()),
        actor_id: Some(7),
        ..NewEvent::new(EventType::LockedOut)
    };
    db.record_event(&long).await.unwrap();

    let all = EventFilter::default();
    let (events, count) = db.events(&all, page(0, 3)).await.unwrap();
    assert_eq!(count, 11);
    assert_eq!(events[0].kind, "locked_out");
    assert_eq!(
        events[0].username.as_deref().map(|u| u.chars().count()),
        Some(150)
    );
    assert_eq!(events[0].user_agent.as_deref().map(str::len), Some(512));
    assert_eq!(events[0].ip_address.as_deref(), Some("2001:db8::1"));
    assert_eq!(events[0].session.as_deref(), Some("fam"));
    assert_eq!(events[0].actor_id, Some(7));
    assert_eq!(events[0].detail, None);
    assert_eq!(events[1].at, base + Duration::hours(9));
    assert_eq!(
        events[1].detail,
        Some(serde_json::json!({"n": (base + Duration::hours(9)).unix_timestamp()}))
    );
    assert_eq!(events[2].at, base + Duration::hours(8));
    let (events, _) = db.events(&all, page(10, 3)).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].at, base);
    assert_eq!(db.events(&all, page(11, 3)).await.unwrap(), (vec![], 11));

    let user1 = EventFilter {
        user_id: Some(1),
        ..EventFilter::default()
    };
    let (events, count) = db.events(&user1, page(0, 10)).await.unwrap();
    assert_eq!(count, 3);
    let hours: Vec<i64> = events.iter().map(|e| (e.at - base).whole_hours()).collect();
    assert_eq!(hours, [7, 4, 1]);
    let failed_since = EventFilter {
        kind: Some(EventType::LoginFailed),
        since: Some(base + Duration::hours(3)),
        until: Some(base + Duration::hours(9)),
        ..EventFilter::default()
    };
    let (events, count) = db.events(&failed_since, page(0, 10)).await.unwrap();
    let hours: Vec<i64> = events.iter().map(|e| (e.at - base).whole_hours()).collect();
    assert_eq!((hours, count), (vec![7, 5, 3], 3));
    let both = EventFilter {
        user_id: Some(1),
        kind: Some(EventType::LoginFailed),
        ..failed_since
    };
    assert_eq!(db.events(&both, page(0, 10)).await.unwrap().1, 1);

    // Pruned in batches smaller than the backlog.
    let pruned = db.prune_events(base + Duration::hours(7), 3).await.unwrap();
    assert_eq!((pruned.rows, pruned.batches), (7, 3));
    assert_eq!(db.events(&all, page(0, 100)).await.unwrap().1, 4);
    assert_eq!(
        db.prune_events(base + Duration::hours(7), 3).await.unwrap().rows,
        0
    );
    for kind in EventType::ALL {
        assert_eq!(EventType::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(EventType::parse("nope"), None);
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

async fn users_are_searched_filtered_and_ordered(t: &TestDb) {
    let db = &t.db;
    let people = [
        ("ann", "ann@example.com", "Ann", "Lee", true, false),
        ("bo_b", "bob@x.org", "Robert", "Smith", true, true),
        ("carl", "c%100@example.com", "Carl", "Back\\slash", false, false),
        ("dora", "dora@EXAMPLE.com", "Dóra", "Nagy", true, false),
        ("boxb", "boxb@example.com", "", "", true, false),
    ];
    for (name, email, first, last, active, staff) in people {
        db.create_user(&NewUser {
            username: name.into(),
            password: "x".into(),
            email: email.into(),
            first_name: first.into(),
            last_name: last.into(),
            is_active: active,
            is_staff: staff,
            is_superuser: false,
        })
        .await
        .unwrap();
    }
    let search = |s: &str| UserQuery {
        // The HTTP layer splits as DRF does (http::drf::search); plain terms here.
        terms: s
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        limit: 50,
        ..UserQuery::default()
    };
    let found = |q: UserQuery| async move {
        let (users, count) = db.search_users(&q).await.unwrap();
        assert_eq!(
            users.len() as i64,
            count.min(q.limit).min((count - q.offset).max(0))
        );
        names(&users).join(" ")
    };
    // Case-insensitive, in any of the four fields.
    assert_eq!(found(search("EXAMPLE")).await, "ann carl dora boxb");
    assert_eq!(found(search("robert")).await, "bo_b");
    assert_eq!(found(search("lee")).await, "ann");
    // `_`, `%` and `\` are themselves, not wildcards.
    assert_eq!(found(search("o_b")).await, "bo_b");
    assert_eq!(found(search("%1")).await, "carl");
    assert_eq!(found(search("k\\s")).await, "carl");
    assert_eq!(found(search("%")).await, "carl");
    // Every term must match (DRF's SearchFilter).
    assert_eq!(found(search("example ann")).await, "ann");
    assert_eq!(found(search(" example,, dora ")).await, "dora");
    assert_eq!(found(search("")).await, "ann bo_b carl dora boxb");
    // Non-ASCII case folds too, except in SQLite's terms too short for its index.
    assert_eq!(found(search("DÓRA")).await, "dora");
    assert_eq!(found(search("Dóra")).await, "dora");
    assert_eq!(found(search("óR")).await, "dora");
    let short = found(search("ÓR")).await;
    assert_eq!(short, if db.kind() == "postgres" { "dora" } else { "" });
    assert_eq!(found(search("Sm")).await, "bo_b");
    assert_eq!(found(search("\"x")).await, "");
    // The index follows changes and deletions.
    let boxb = db.user_by_username("boxb").await.unwrap().unwrap();
    let changes = UserChanges {
        last_name: Some("Zebra".into()),
        ..UserChanges::default()
    };
    db.update_user(boxb.id, &changes, &Expected::default(), &[])
        .await
        .unwrap();
    assert_eq!(found(search("zebr")).await, "boxb");
    let gone = db.create_user(&user("zebrafish")).await.unwrap();
    assert_eq!(found(search("zebr")).await, "boxb zebrafish");
    db.delete_user(gone.id).await.unwrap();
    assert_eq!(found(search("zebr")).await, "boxb");

    let filtered = UserQuery {
        is_active: Some(true),
        is_staff: Some(false),
        limit: 50,
        ..UserQuery::default()
    };
    assert_eq!(found(filtered.clone()).await, "ann dora boxb");
    assert_eq!(
        found(UserQuery {
            terms: vec!["b".into()],
            ..filtered.clone()
        })
        .await,
        "boxb"
    );

    // Orderings, and pages of them.
    let ordered = |o: &str, offset: i64, limit: i64| UserQuery {
        ordering: Ordering::parse(o).unwrap(),
        offset,
        limit,
        ..UserQuery::default()
    };
    assert_eq!(found(ordered("username", 0, 50)).await, "ann bo_b boxb carl dora");
    assert_eq!(
        found(ordered("-username", 0, 50)).await,
        "dora carl boxb bo_b ann"
    );
    assert_eq!(found(ordered("-id", 0, 2)).await, "boxb dora");
    assert_eq!(found(ordered("-id", 4, 2)).await, "ann");
    assert_eq!(found(ordered("-id", 5, 2)).await, "");
    assert_eq!(
        found(ordered("date_joined", 0, 50)).await,
        "ann bo_b carl dora boxb"
    );
    assert_eq!(
        found(ordered("-date_joined", 0, 50)).await,
        "boxb dora carl bo_b ann"
    );
    let carl = db.user_by_username("carl").await.unwrap().unwrap();
    let ann = db.user_by_username("ann").await.unwrap().unwrap();
    db.set_last_login(carl.id, now() - Duration::hours(1))
        .await
        .unwrap();
    db.set_last_login(ann.id, now()).await.unwrap();
    // Never logged in: last in ascending order, first in descending (Postgres's NULLs).
    assert_eq!(
        found(ordered("last_login", 0, 50)).await,
        "carl ann bo_b dora boxb"
    );
    assert_eq!(
        found(ordered("-last_login", 0, 50)).await,
        "boxb dora bo_b ann carl"
    );
    assert_eq!(found(ordered("-last_login", 1, 3)).await, "dora bo_b ann");
    assert_eq!(Ordering::parse("password"), None);
    assert_eq!(Ordering::parse("--id"), None);
    assert_eq!(Ordering::parse("id; DROP TABLE users"), None);
}

async fn updating_a_user_checks_expectations_and_usernames(t: &TestDb) {
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let root = db
        .create_user(&NewUser {
            is_superuser: true,
            ..user("root")
        })
        .await
        .unwrap();
    let changes = UserChanges {
        email: Some("new@example.com".into()),
        first_name: Some("Alice".into()),
        is_staff: Some(true),
        ..UserChanges::default()
    };
    let event = NewEvent::new(EventType::UserUpdated).user(&alice);
    let not_superuser = Expected {
        is_superuser: Some(false),
        ..Expected::default()
    };
    let updated = db
        .update_user(alice.id, &changes, &not_superuser, std::slice::from_ref(&event))
        .await
        .unwrap();
    let UserUpdate::Updated(updated) = updated else {
        panic!("{updated:?}")
    };
    assert_eq!(
        (
            updated.email.as_str(),
            updated.first_name.as_str(),
            updated.is_staff
        ),
        ("new@example.com", "Alice", true)
    );
    assert_eq!(
        (updated.username.as_str(), updated.last_name.as_str()),
        ("alice", "")
    );
    assert_eq!(db.user_by_id(alice.id).await.unwrap(), Some(updated));

    // Staff may not touch a superuser: the row is checked when the write lands.
    let refused = db
        .update_user(root.id, &changes, &not_superuser, std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(refused, UserUpdate::Unexpected(Box::new(root.clone())));
    let taken = UserChanges {
        username: Some("root".into()),
        ..UserChanges::default()
    };
    let conflict = db
        .update_user(
            alice.id,
            &taken,
            &Expected::default(),
            std::slice::from_ref(&event),
        )
        .await
        .unwrap();
    assert_eq!(conflict, UserUpdate::UsernameTaken);
    let missing = db
        .update_user(9999, &changes, &Expected::default(), &[event])
        .await
        .unwrap();
    assert_eq!(missing, UserUpdate::NotFound);
    // Only the update that happened was recorded.
    assert_eq!(
        db.events(&EventFilter::default(), page(0, 10)).await.unwrap().1,
        1
    );
    let renamed = UserChanges {
        username: Some("alicia".into()),
        ..UserChanges::default()
    };
    let UserUpdate::Updated(alicia) = db
        .update_user(alice.id, &renamed, &Expected::default(), &[])
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(alicia.username, "alicia");
    assert!(alicia.has_usable_password());
}

async fn deleting_a_user_blacklists_their_tokens_in_one_transaction(t: &TestDb) {
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let bob = db.create_user(&user("bob")).await.unwrap();
    let now = t0();
    login(db, alice.id, "a1", now).await;
    login(db, alice.id, "a2", now).await;
    login(db, bob.id, "b1", now).await;
    let event = NewEvent::new(EventType::UserDeleted).user(&alice);

    // A superuser is not what staff expect: nothing happens.
    let staff_only = Expected {
        is_superuser: Some(true),
        ..Expected::default()
    };
    let refused = db
        .delete_user_and_tokens(alice.id, &staff_only, std::slice::from_ref(&event))
        .await
        .unwrap();
    assert!(matches!(refused, Guarded::Unexpected(_)), "{refused:?}");
    assert!(!db.is_blacklisted("a1").await.unwrap());

    // The events cannot be written: the whole transaction rolls back, the tokens with it.
    t.exec("ALTER TABLE audit_events RENAME TO audit_events_away")
        .await;
    assert!(
        db.delete_user_and_tokens(alice.id, &Expected::default(), std::slice::from_ref(&event))
            .await
            .is_err()
    );
    t.exec("ALTER TABLE audit_events_away RENAME TO audit_events")
        .await;
    assert!(db.user_by_id(alice.id).await.unwrap().is_some());
    assert!(!db.is_blacklisted("a1").await.unwrap());
    assert_eq!(
        db.sessions_of_user(alice.id, now, page(0, 10)).await.unwrap().1,
        2
    );

    let done = db
        .delete_user_and_tokens(alice.id, &Expected::default(), std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(
        done,
        Guarded::Done(Revoked {
            sessions: 2,
            tokens: 2
        })
    );
    assert!(db.user_by_id(alice.id).await.unwrap().is_none());
    assert!(db.is_blacklisted("a1").await.unwrap());
    assert!(db.is_blacklisted("a2").await.unwrap());
    assert!(!db.is_blacklisted("b1").await.unwrap());
    // The families stay revoked, now without a user; the event keeps the username.
    assert_eq!(
        db.rotate(
            &token(alice.id, "a1", "a1", now),
            &token(alice.id, "a3", "a1", now)
        )
        .await
        .unwrap(),
        Rotation::FamilyRevoked
    );
    assert_eq!(
        db.add_to_family(&token(alice.id, "a4", "a1", now)).await.unwrap(),
        Joined::FamilyRevoked
    );
    // A family the deletion did not know of takes no token of the deleted user's either
    // (one recorded would belong to nobody), while bob's and a userless token join theirs.
    let recorded = t.count("SELECT COUNT(*) FROM outstanding_tokens").await;
    assert_eq!(
        db.add_to_family(&token(alice.id, "a5", "elsewhere", now))
            .await
            .unwrap(),
        Joined::UserDeleted
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM outstanding_tokens").await, recorded);
    assert_eq!(
        db.add_to_family(&token(bob.id, "b2", "b1", now)).await.unwrap(),
        Joined::Added
    );
    let userless = OutstandingToken {
        user_id: None,
        ..token(bob.id, "n1", "n1", now)
    };
    assert_eq!(db.add_to_family(&userless).await.unwrap(), Joined::Added);
    assert_eq!(db.session("a1").await.unwrap(), None);
    let (events, _) = db.events(&EventFilter::default(), page(0, 10)).await.unwrap();
    assert_eq!(
        (events[0].kind.as_str(), events[0].username.as_deref()),
        ("user_deleted", Some("alice"))
    );
    assert_eq!(
        db.delete_user_and_tokens(alice.id, &Expected::default(), &[event])
            .await
            .unwrap(),
        Guarded::NotFound
    );
    assert_eq!(
        db.events(&EventFilter::default(), page(0, 10)).await.unwrap().1,
        1
    );
}

async fn a_password_change_revokes_every_other_session(t: &TestDb) {
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let now = t0();
    for jti in ["here", "there", "elsewhere"] {
        login(db, alice.id, jti, now).await;
    }
    let event = NewEvent::new(EventType::PasswordChanged).user(&alice);
    let kept = db
        .set_password_and_revoke(
            alice.id,
            "$argon2id$new",
            Some("here"),
            &Expected::default(),
            std::slice::from_ref(&event),
        )
        .await
        .unwrap();
    assert_eq!(
        kept,
        Guarded::Done(Revoked {
            sessions: 2,
            tokens: 2
        })
    );
    assert_eq!(
        db.user_by_id(alice.id).await.unwrap().unwrap().password,
        "$argon2id$new"
    );
    assert!(!db.is_blacklisted("here").await.unwrap());
    assert!(db.is_blacklisted("there").await.unwrap());

    let unusable = db
        .set_unusable_password(alice.id, &Expected::default(), &[event])
        .await
        .unwrap();
    assert_eq!(
        unusable,
        Guarded::Done(Revoked {
            sessions: 1,
            tokens: 1
        })
    );
    let alice = db.user_by_id(alice.id).await.unwrap().unwrap();
    assert!(!alice.has_usable_password());
    assert!(!crate::passwords::is_verifiable(&alice.password));
    assert!(db.is_blacklisted("here").await.unwrap());
    assert_eq!(
        db.events(&EventFilter::default(), page(0, 10)).await.unwrap().1,
        2
    );
    assert_eq!(
        db.set_unusable_password(9999, &Expected::default(), &[])
            .await
            .unwrap(),
        Guarded::NotFound
    );
}

async fn audited_twins_write_their_events_with_the_change(t: &TestDb) {
    let db = &t.db;
    let alice = db
        .create_user_audited(&user("alice"), |u| {
            vec![NewEvent::new(EventType::UserCreated).user(u)]
        })
        .await
        .unwrap();
    assert!(matches!(
        db.create_user_audited(&user("alice"), |_| vec![]).await,
        Err(StoreError::Conflict(_))
    ));
    let ev = |kind| [NewEvent::new(kind).user(&alice)];
    assert!(
        db.set_password_audited(alice.id, "$argon2id$y", &ev(EventType::PasswordChanged))
            .await
            .unwrap()
    );
    assert!(
        !db.set_password_audited(9999, "$argon2id$y", &ev(EventType::PasswordChanged))
            .await
            .unwrap()
    );
    assert!(
        db.set_active_audited(alice.id, false, &ev(EventType::UserUpdated))
            .await
            .unwrap()
    );
    assert!(!db.user_by_id(alice.id).await.unwrap().unwrap().is_active);
    let now = t0();
    login(db, alice.id, "f", now).await;
    let logout = token(alice.id, "solo", "solo", now);
    assert!(
        db.blacklist_audited(&logout, Reason::Blacklist, &ev(EventType::Logout))
            .await
            .unwrap()
    );
    assert!(
        !db.blacklist_audited(&logout, Reason::Blacklist, &ev(EventType::Logout))
            .await
            .unwrap()
    );
    assert_eq!(
        db.blacklist_jti_audited("f", Reason::Revoke, &ev(EventType::TokenRevoked))
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        db.blacklist_jti_audited("f", Reason::Revoke, &ev(EventType::TokenRevoked))
            .await
            .unwrap(),
        Some(false)
    );
    assert_eq!(
        db.blacklist_jti_audited("zz", Reason::Revoke, &ev(EventType::TokenRevoked))
            .await
            .unwrap(),
        None
    );
    login(db, alice.id, "g", now).await;
    let reuse = ev(EventType::RefreshReuseDetected);
    assert_eq!(
        db.blacklist_family_audited("g", Reason::Reuse, &reuse)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.add_to_family(&token(alice.id, "g2", "g", now)).await.unwrap(),
        Joined::FamilyRevoked
    );

    let (events, count) = db.events(&EventFilter::default(), page(0, 20)).await.unwrap();
    let kinds: Vec<&str> = events.iter().rev().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user_created",
            "password_changed",
            "user_updated",
            "logout",
            "token_revoked",
            "refresh_reuse_detected"
        ]
    );
    assert_eq!(count, 6);
    assert!(events.iter().all(|e| e.user_id == Some(alice.id)));
}

/// The writes of a version before migration 0009, on its schema (the store's own SQL is
/// for the current one): a token, its blacklisting, its family's revocation.
async fn old_token(t: &TestDb, user_id: i64, jti: &str, family: Option<&str>, created: OffsetDateTime) {
    old_token_expiring(t, user_id, jti, family, created, created + Duration::days(1)).await
}

async fn old_token_expiring(
    t: &TestDb,
    user_id: i64,
    jti: &str,
    family: Option<&str>,
    created: OffsetDateTime,
    expires: OffsetDateTime,
) {
    let store = &t.db;
    let done = on_pool!(store, write, |db| {
        sqlx::query(
            "INSERT INTO outstanding_tokens (user_id, jti, token_sha256, family, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user_id)
        .bind(jti)
        .bind(format!("sha-{jti}"))
        .bind(family)
        .bind(created)
        .bind(expires)
        .execute(db)
        .await?;
    });
    done.await.unwrap();
}

async fn old_blacklist(t: &TestDb, jti: &str, reason: Reason, at: OffsetDateTime) {
    old_mark(
        t,
        "INSERT INTO blacklisted_tokens (token_id, blacklisted_at, reason) \
         SELECT id, $2, $3 FROM outstanding_tokens WHERE jti = $1",
        jti,
        reason,
        at,
    )
    .await
}

async fn old_revoked_family(t: &TestDb, family: &str, reason: Reason, at: OffsetDateTime) {
    old_mark(
        t,
        "INSERT INTO token_families (family, revoked_at, reason) VALUES ($1, $2, $3)",
        family,
        reason,
        at,
    )
    .await
}

/// Runs `sql` with the id `$1`, when `$2` and why `$3`.
async fn old_mark(t: &TestDb, sql: &'static str, id: &str, reason: Reason, at: OffsetDateTime) {
    let store = &t.db;
    let done = on_pool!(store, write, |db| {
        sqlx::query(sql)
            .bind(id)
            .bind(at)
            .bind(reason.as_str())
            .execute(db)
            .await?;
    });
    done.await.unwrap();
}

/// A database that an older version filled (migrations up to 0004) is upgraded in place:
/// every live login becomes a session. Its ids are no uuid hex: they are keyed by their
/// SHA-256 on the way (in SQL on Postgres, before the migration on SQLite), as jwtd keys
/// them.
async fn upgrading_makes_live_logins_sessions(postgres: bool) {
    let Some(t) = TestDb::new(postgres, Some(4)).await else {
        return;
    };
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let now = t0();
    let ago = |m: i64| now - Duration::minutes(m);
    // A login refreshed twice (the first two tokens rotated away), a login recorded before
    // families were (no family), a logged-out one, an expired one, one revoked for reuse.
    old_token(&t, alice.id, "r1", Some("r1"), ago(30)).await;
    old_token(&t, alice.id, "r2", Some("r1"), ago(20)).await;
    old_token(&t, alice.id, "r3", Some("r1"), ago(10)).await;
    old_blacklist(&t, "r1", Reason::Rotation, ago(20)).await;
    old_blacklist(&t, "r2", Reason::Rotation, ago(10)).await;
    old_token(&t, alice.id, "legacy", None, ago(50)).await;
    old_token(&t, alice.id, "out", Some("out"), ago(5)).await;
    old_blacklist(&t, "out", Reason::Blacklist, ago(4)).await;
    let expired = now - Duration::days(3);
    old_token_expiring(
        &t,
        alice.id,
        "expired",
        Some("expired"),
        expired,
        now - Duration::days(1),
    )
    .await;
    old_token(&t, alice.id, "reused", Some("reused"), ago(40)).await;
    old_revoked_family(&t, "reused", Reason::Reuse, ago(35)).await;
    old_blacklist(&t, "reused", Reason::Reuse, ago(35)).await;

    db.migrate().await.unwrap();
    assert_eq!(db.latest_migration().await.unwrap(), db.known_migration());
    let (sessions, count) = db.sessions_of_user(alice.id, now, page(0, 10)).await.unwrap();
    assert_eq!((ids(&sessions), count), (vec!["r1", "legacy"], 2));
    let r1 = &sessions[0];
    assert_eq!((r1.created_at, r1.last_used_at), (Some(ago(30)), Some(ago(10))));
    assert_eq!(r1.expires_at, Some(ago(10) + Duration::days(1)));
    assert_eq!((r1.user_agent.as_deref(), r1.ip_address.as_deref()), (None, None));
    // The family revoked for reuse is no session, and stays revoked.
    assert_eq!(db.session("reused").await.unwrap(), None);
    let retry = token(alice.id, "reused2", "reused", now);
    assert_eq!(db.add_to_family(&retry).await.unwrap(), Joined::FamilyRevoked);
    assert!(db.is_blacklisted("r2").await.unwrap());
    assert!(!db.is_blacklisted("r3").await.unwrap());
    // And the new tables work on the upgraded database.
    let revoked = db
        .revoke_other_sessions(alice.id, "r1", Reason::Revoke, &[])
        .await
        .unwrap();
    assert_eq!(
        revoked,
        Revoked {
            sessions: 1,
            tokens: 1
        }
    );
    assert!(db.is_blacklisted("legacy").await.unwrap());
    assert_eq!(t.count("SELECT COUNT(*) FROM audit_events").await, 0);
}

/// A database at migration 0008 holding tokens — rotated, blacklisted, expired, in sessions
/// and revoked families, with jwtd's jtis (uuid hex) and a drf-jwt token id — is upgraded
/// to 16-byte keys in place (0009): every token keeps its blacklisting and its family, and
/// is refreshed, blacklisted and flushed as before.
async fn upgrading_keys_tokens_by_their_jti_bytes(postgres: bool) {
    let Some(t) = TestDb::new(postgres, Some(8)).await else {
        return;
    };
    let db = &t.db;
    let alice = db.create_user(&user("alice")).await.unwrap();
    let now = t0();
    let ago = |m: i64| now - Duration::minutes(m);
    let hex = |_| uuid::Uuid::new_v4().simple().to_string();
    let [login, rotated, out, expired, revoked] = [0; 5].map(hex);
    let drf = "7a0c3c4e-2f1d-4b7e-9a51-0d3f1c2b4e5a";
    // A session: its login's token rotated once.
    old_token(&t, alice.id, &login, Some(&login), ago(30)).await;
    old_token(&t, alice.id, &rotated, Some(&login), ago(20)).await;
    old_blacklist(&t, &login, Reason::Rotation, ago(20)).await;
    // A logged-out token, an expired blacklisted one, a family revoked for reuse, and a
    // drf-jwt login (a session) blacklisted under its token id.
    old_token(&t, alice.id, &out, Some(&out), ago(10)).await;
    old_blacklist(&t, &out, Reason::Blacklist, ago(9)).await;
    old_token_expiring(
        &t,
        alice.id,
        &expired,
        Some(&expired),
        now - Duration::days(3),
        ago(60),
    )
    .await;
    old_blacklist(&t, &expired, Reason::Blacklist, now - Duration::days(2)).await;
    old_token(&t, alice.id, &revoked, Some(&revoked), ago(40)).await;
    old_revoked_family(&t, &revoked, Reason::Reuse, ago(35)).await;
    old_blacklist(&t, &revoked, Reason::Reuse, ago(35)).await;
    old_token(&t, alice.id, drf, Some(drf), ago(5)).await;
    old_blacklist(&t, drf, Reason::Blacklist, ago(4)).await;
    // Their sessions (the login's as its latest token left it).
    t.exec(&format!(
        "INSERT INTO token_families (family, user_id, created_at, last_used_at, expires_at, user_agent) \
         SELECT family, user_id, created_at, created_at, expires_at, 'curl/8' FROM outstanding_tokens \
         WHERE jti IN ('{rotated}', '{drf}')"
    ))
    .await;

    db.migrate().await.unwrap();
    assert_eq!(db.latest_migration().await.unwrap(), db.known_migration());
    assert_eq!(t.count("SELECT COUNT(*) FROM outstanding_tokens").await, 6);
    assert_eq!(t.count("SELECT COUNT(*) FROM blacklisted_tokens").await, 5);
    for (jti, blacklisted) in [
        (&login, true),
        (&rotated, false),
        (&out, true),
        (&expired, true),
        (&revoked, true),
    ] {
        assert_eq!(db.is_blacklisted(jti).await.unwrap(), blacklisted, "{jti}");
    }
    assert!(db.is_blacklisted(drf).await.unwrap());
    // The sessions read back under their logins' ids, as they were written.
    let (sessions, count) = db.sessions_of_user(alice.id, now, page(0, 10)).await.unwrap();
    assert_eq!((ids(&sessions), count), (vec![drf, login.as_str()], 2));
    assert_eq!(sessions[0].user_agent.as_deref(), Some("curl/8"));
    let b = db.blacklisting(&login).await.unwrap().unwrap();
    assert_eq!((b.reason, b.family.as_str()), (Reason::Rotation, login.as_str()));

    // Rotation: one winner, then reuse of the rotated-away token finds its family.
    let next = token(alice.id, &hex(0), &login, now);
    let old = token(alice.id, &rotated, &login, ago(20));
    assert_eq!(db.rotate(&old, &next).await.unwrap(), Rotation::Rotated);
    assert_eq!(
        db.rotate(&old, &token(alice.id, &hex(0), &login, now))
            .await
            .unwrap(),
        Rotation::AlreadyBlacklisted
    );
    assert_eq!(db.blacklisting(&rotated).await.unwrap().unwrap().family, login);
    assert_eq!(db.blacklist_family(&login, Reason::Reuse).await.unwrap(), 1);
    assert!(db.is_blacklisted(&next.jti).await.unwrap());
    // The family revoked before the upgrade stays revoked.
    let retry = token(alice.id, &hex(0), &revoked, now);
    assert_eq!(db.add_to_family(&retry).await.unwrap(), Joined::FamilyRevoked);
    // Blacklisting by jti, of a token recorded before the upgrade.
    assert_eq!(
        db.blacklist_jti(&rotated, Reason::Revoke).await.unwrap(),
        Some(false)
    );
    let mut fresh = token(alice.id, &hex(0), &hex(0), now);
    fresh.family = None;
    db.add_outstanding(&fresh).await.unwrap();
    assert_eq!(
        db.blacklist_jti(&fresh.jti, Reason::Revoke).await.unwrap(),
        Some(true)
    );
    // The flush deletes the expired token with its blacklist row, and nothing else.
    let flushed = db.flush_expired(now, 1).await.unwrap();
    assert_eq!((flushed.tokens.rows, flushed.blacklisted), (1, 1));
    assert_eq!(db.blacklisting(&expired).await.unwrap(), None);
    assert_eq!(t.count("SELECT COUNT(*) FROM outstanding_tokens").await, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_keys_tokens_by_their_jti_bytes_sqlite() {
    upgrading_keys_tokens_by_their_jti_bytes(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_keys_tokens_by_their_jti_bytes_postgres() {
    upgrading_keys_tokens_by_their_jti_bytes(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_makes_live_logins_sessions_sqlite() {
    upgrading_makes_live_logins_sessions(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_makes_live_logins_sessions_postgres() {
    upgrading_makes_live_logins_sessions(true).await
}

/// Start-up times one stored hash of each imported kind (algorithm and cost): read one kind
/// at a time off `users_legacy_hash_kind`, never by reading every user.
async fn one_imported_hash_of_each_kind_is_read_off_an_index(t: &TestDb) {
    let db = &t.db;
    for (name, password) in [
        ("a", "pbkdf2_sha256$870000$saltA$hashA"),
        ("b", "pbkdf2_sha256$870000$saltB$hashB"),
        ("c", "pbkdf2_sha256$600000$saltC$hashC"),
        ("d", "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv"),
        ("e", "$argon2id$v=19$m=19456,t=2,p=1$jwtd-own"),
        ("f", "!unusable"),
        ("g", ""),
    ] {
        let mut u = user(name);
        u.password = password.into();
        db.create_user(&u).await.unwrap();
    }
    let mut kinds: Vec<String> = db
        .legacy_password_hashes()
        .await
        .unwrap()
        .iter()
        .map(|h| h.chars().take(24).collect())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "bcrypt_sha256$$2b$12$abc",
            "pbkdf2_sha256$600000$sal",
            "pbkdf2_sha256$870000$sal",
        ]
    );
}

fn imported(position: usize, id: i64, username: &str) -> ImportedUser {
    ImportedUser {
        position,
        id,
        fields: NewUser {
            username: username.into(),
            password: "!x".into(),
            is_active: true,
            ..NewUser::default()
        },
        last_login: None,
        date_joined: Some(t0()),
    }
}

/// An import is planned and written a batch at a time, yet as the whole file at once: a name
/// that a record of the first batch takes from a user the file renames in the third is
/// given up in time, and counts as changing hands; a conflict in the last batch leaves
/// nothing written by the first ones.
async fn an_import_larger_than_a_batch_moves_names_across_batches(t: &TestDb) {
    let db = &t.db;
    let n = 2 * IMPORT_BATCH + 100;
    let users: Vec<ImportedUser> = (1..=n).map(|i| imported(i, i as i64, &format!("u{i}"))).collect();
    let report = db.import_users(&users, ImportOptions::default()).await.unwrap();
    assert_eq!((report.counts.created, report.written), (n, true));
    assert!(report.created.is_empty(), "users one by one only for a dry run");

    let late = n - 50;
    let mut moved = users.clone();
    moved[4].fields.username = format!("u{late}");
    moved[late - 1].fields.username = "renamed".into();
    let dry = ImportOptions {
        dry_run: true,
        ..Default::default()
    };
    let plan = db.import_users(&moved, dry).await.unwrap();
    let changed: Vec<i64> = plan
        .updated
        .iter()
        .filter(|p| p.changes_hands)
        .map(|p| p.id)
        .collect();
    assert_eq!(changed, [5, late as i64]);
    let report = db.import_users(&moved, ImportOptions::default()).await.unwrap();
    assert_eq!(
        report.counts,
        ImportCounts {
            created: 0,
            updated: 2,
            unchanged: n - 2,
            changed_hands: 2,
        }
    );
    assert_eq!(
        db.user_by_id(5).await.unwrap().unwrap().username,
        format!("u{late}")
    );
    assert_eq!(
        db.user_by_id(late as i64).await.unwrap().unwrap().username,
        "renamed"
    );

    // The last record takes the name of a user the file leaves alone: refused, and the
    // first batches, written meanwhile, are rolled back.
    let local = db.create_user(&user("local")).await.unwrap();
    let mut refused = moved.clone();
    refused[0].fields.email = "changed@example.test".into();
    refused[n - 1].fields.username = "local".into();
    let report = db.import_users(&refused, ImportOptions::default()).await.unwrap();
    assert!(!report.written);
    assert_eq!(report.conflicts.len(), 1, "{:?}", report.conflicts);
    assert!(
        report.conflicts[0]
            .message
            .contains(&format!("with id {}", local.id))
    );
    assert_eq!(db.user_by_id(1).await.unwrap().unwrap().email, "");
}
