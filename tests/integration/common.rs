//! The test harness: a real jwtd on 127.0.0.1 over a real SQLite file or a real Postgres
//! database (one fresh database per test), reached with a real HTTP client.

use std::process::Stdio;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncBufReadExt, BufReader};

use jwtd::config::{Settings, Sources};
use jwtd::http::HttpState;
use jwtd::store::{NewUser, User};
use jwtd::tokens::state::State;
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_jwtd");

pub const KEY: &str = "jwtd-integration-test-signing-key-0123456789abcdef";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per database. The Postgres run needs
/// `JWTD_TEST_POSTGRES_URL`; without it the run says plainly that it was skipped.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Db::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::common::postgres_url().is_none() {
                        $crate::common::skipped(concat!(module_path!(), "::postgres"));
                        return;
                    }
                    super::$name($crate::common::Db::Postgres).await
                }
            }
        )*
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("JWTD_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Postgres variants, and browser tests, that returned without running: libtest counts them
/// as passed.
static SKIPPED: AtomicUsize = AtomicUsize::new(0);
static SKIPPED_BROWSER: AtomicUsize = AtomicUsize::new(0);
static SUMMARY: std::sync::Once = std::sync::Once::new();

/// Counts a Postgres variant that checked nothing, for one line at the end of the run.
pub fn skipped(_name: &str) {
    count_skip(&SKIPPED);
}

/// Counts a browser test that checked nothing (no Chromium), for one line at the end.
pub fn skipped_browser() {
    count_skip(&SKIPPED_BROWSER);
}

fn count_skip(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
    // libtest has no hook after its last test; the C library's exit handlers run after it
    // has printed its results, once, whichever test finished last.
    SUMMARY.call_once(|| {
        // SAFETY: registers a function that takes no arguments and never unwinds.
        unsafe { libc::atexit(summarize_skipped) };
    });
}

extern "C" fn summarize_skipped() {
    let mut lines = String::new();
    let n = SKIPPED.load(Ordering::Relaxed);
    if n > 0 {
        lines.push_str(&format!(
            "\n{n} tests ran on SQLite only: set JWTD_TEST_POSTGRES_URL (e.g. \
             postgres://postgres@127.0.0.1:5432/postgres) to run their Postgres variants, \
             which passed without checking anything\n"
        ));
    }
    let n = SKIPPED_BROWSER.load(Ordering::Relaxed);
    if n > 0 {
        lines.push_str(&format!(
            "\n{n} browser tests passed without checking anything: no Chromium and chromedriver \
             at /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium \
             chromium-driver; or name them in JWTD_TEST_CHROMIUM and JWTD_TEST_CHROMEDRIVER)\n"
        ));
    }
    // Straight to file descriptor 2: the standard library may be shutting down.
    // SAFETY: writes a buffer that lives through the call.
    unsafe { libc::write(2, lines.as_ptr().cast(), lines.len()) };
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "jwtd-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh Postgres database, dropped (with its connections) when this is dropped.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let admin_url = postgres_url().expect("JWTD_TEST_POSTGRES_URL");
        let name = format!("jwtd_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = replace_database(&admin_url, &name);
        PgDatabase { admin_url, name, url }
    }
}

/// The same server URL with another database name.
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// Where a test server keeps its data; shared by servers that should see the same database.
pub struct Storage {
    pub dir: TempDir,
    pub pg: Option<PgDatabase>,
}

impl Storage {
    pub async fn new(db: Db) -> Storage {
        let pg = match db {
            Db::Postgres => Some(PgDatabase::create().await),
            Db::Sqlite => None,
        };
        Storage {
            dir: TempDir::new(),
            pg,
        }
    }

    /// The settings file for a server on this storage, with `extra` TOML appended.
    pub fn settings(&self, extra: &str) -> Settings {
        self.settings_without_key(&format!("signing_key = \"{KEY}\"\n{extra}"))
    }

    /// As `settings`, without the test HMAC key (for tests that bring their own keys).
    pub fn settings_without_key(&self, extra: &str) -> Settings {
        self.settings_with_url(&self.database_url(), extra)
    }

    pub fn database_url(&self) -> String {
        match &self.pg {
            Some(pg) => pg.url.clone(),
            None => format!("sqlite://{}", self.dir.path().join("jwtd.db").display()),
        }
    }

    /// Settings reaching this storage's database by another URL (through a proxy, say).
    pub fn settings_with_url(&self, database_url: &str, extra: &str) -> Settings {
        let toml = format!(
            "data_dir = \"{}\"\ndatabase_url = \"{database_url}\"\nworkers = 2\n{extra}\n",
            self.dir.path().display()
        );
        let file = self
            .dir
            .path()
            .join(format!("jwtd-{}.toml", COUNTER.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&file, toml).unwrap();
        Settings::load(&Sources {
            default_file: None,
            file: Some(file),
            env: Some(Default::default()),
        })
        .expect("test settings load")
    }
}

/// A row of `outstanding_tokens`, read with SQL of the test's own; ids as `stored_id` gives
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outstanding {
    pub jti: String,
    pub family: Option<String>,
    pub user_id: Option<i64>,
    pub blacklist_reason: Option<String>,
}

/// How jwtd stores a jti or a family, shown as hex: a uuid's hex digits as they are, any
/// other id as the first 16 bytes of its SHA-256.
pub fn stored_id(id: &str) -> String {
    if id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return id.to_string();
    }
    sha256_hex(id)[..32].to_string()
}

impl Storage {
    /// The rows a query selects (`pg` on Postgres, `sqlite` on SQLite: ids are stored as
    /// bytes, read back as hex), with a connection of the test's own.
    async fn fetch_all<T>(&self, pg: &'static str, sqlite: &'static str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        match &self.pg {
            Some(server) => {
                let pool = sqlx::PgPool::connect(&server.url).await.unwrap();
                let rows = sqlx::query_as(pg).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
            None => {
                let url = format!("sqlite://{}", self.dir.path().join("jwtd.db").display());
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                let rows = sqlx::query_as(sqlite).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
        }
    }

    /// Every outstanding token with its blacklist reason, oldest first.
    pub async fn outstanding(&self) -> Vec<Outstanding> {
        type Row = (String, Option<String>, Option<i64>, Option<String>);
        let rows: Vec<Row> = self
            .fetch_all(
                "SELECT replace(o.jti::text, '-', ''), replace(o.family::text, '-', ''), o.user_id, b.reason \
                 FROM outstanding_tokens o LEFT JOIN blacklisted_tokens b ON b.jti = o.jti \
                 ORDER BY o.expires_at, o.ctid",
                "SELECT lower(hex(o.jti)), lower(hex(o.family)), o.user_id, b.reason \
                 FROM outstanding_tokens o LEFT JOIN blacklisted_tokens b ON b.jti = o.jti ORDER BY o.rowid",
            )
            .await;
        rows.into_iter()
            .map(|(jti, family, user_id, blacklist_reason)| Outstanding {
                jti,
                family,
                user_id,
                blacklist_reason,
            })
            .collect()
    }

    /// The token families (sessions) that are not revoked, as hex.
    pub async fn unrevoked_families(&self) -> Vec<String> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                "SELECT replace(family::text, '-', '') FROM token_families WHERE revoked_at IS NULL ORDER BY 1",
                "SELECT lower(hex(family)) FROM token_families WHERE revoked_at IS NULL ORDER BY 1",
            )
            .await;
        rows.into_iter().map(|(f,)| f).collect()
    }

    /// What the migrations made of the users table: its indexes (and on SQLite the search
    /// table and the triggers that keep it), each as the statement that made it.
    pub async fn users_schema(&self) -> Vec<String> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'users' ORDER BY indexname",
                "SELECT sql FROM sqlite_master WHERE tbl_name IN ('users', 'users_search') \
                 AND sql IS NOT NULL ORDER BY type, name",
            )
            .await;
        rows.into_iter().map(|(sql,)| sql).collect()
    }

    pub async fn outstanding_jti(&self, jti: &str) -> Option<Outstanding> {
        let id = stored_id(jti);
        self.outstanding().await.into_iter().find(|o| o.jti == id)
    }
}

pub fn jti(token: &str) -> String {
    claims(token)["jti"].as_str().unwrap().to_string()
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        text.as_bytes(),
    ))
}

pub struct TestServer {
    pub base: String,
    pub http: Arc<HttpState>,
    pub client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
    // Dropped after the server is told to stop.
    pub storage: Arc<Storage>,
}

impl TestServer {
    /// A server with its own fresh database and the given extra settings (TOML).
    pub async fn start(db: Db, extra: &str) -> TestServer {
        let storage = Arc::new(Storage::new(db).await);
        TestServer::start_on(storage, extra).await
    }

    /// A server on existing storage (several servers may share one database).
    pub async fn start_on(storage: Arc<Storage>, extra: &str) -> TestServer {
        let settings = storage.settings(extra);
        TestServer::start_with(storage, settings).await
    }

    /// A server reaching the database by `database_url` (with the test signing key).
    pub async fn start_on_url(storage: Arc<Storage>, database_url: &str, extra: &str) -> TestServer {
        let settings = storage.settings_with_url(database_url, &format!("signing_key = \"{KEY}\"\n{extra}"));
        TestServer::start_with(storage, settings).await
    }

    /// A server with keys of the test's own choosing (no harness signing key).
    pub async fn start_on_without_key(storage: Arc<Storage>, extra: &str) -> TestServer {
        let settings = storage.settings_without_key(extra);
        TestServer::start_with(storage, settings).await
    }

    async fn start_with(storage: Arc<Storage>, settings: Settings) -> TestServer {
        let state = State::build(settings).await.expect("state builds");
        let http = Arc::new(HttpState::new(state));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = jwtd::http::server(http.clone(), listener, 2).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        TestServer {
            base: format!("http://{addr}"),
            http,
            client: reqwest::Client::new(),
            handle,
            storage,
        }
    }

    pub fn state(&self) -> &State {
        &self.http.app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn user(&self, username: &str, password: &str) -> User {
        self.user_with(username, password, |_| {}).await
    }

    pub async fn user_with(&self, username: &str, password: &str, change: impl FnOnce(&mut NewUser)) -> User {
        let hash = self.state().hasher.hash(password).await.unwrap();
        let mut new = NewUser {
            username: username.into(),
            password: hash,
            email: format!("{username}@example.test"),
            is_active: true,
            ..Default::default()
        };
        change(&mut new);
        self.state().store.create_user(&new).await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        Reply::from(self.client.post(self.url(path)).json(&body).send().await.unwrap()).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        Reply::from(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut req = self.client.get(self.url(path));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        Reply::from(req.send().await.unwrap()).await
    }

    pub async fn me(&self, access: &str) -> Reply {
        self.get("/api/me/", Some(&format!("Bearer {access}"))).await
    }

    /// Obtains a pair and returns (refresh, access).
    pub async fn login(&self, username: &str, password: &str) -> (String, String) {
        let r = self
            .post("/api/token/", json!({"username": username, "password": password}))
            .await;
        assert_eq!(r.status, 200, "login failed: {}", r.body);
        (r.str("refresh"), r.str("access"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Sends the stop command; the database is dropped after this.
        drop(self.handle.stop(false));
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub async fn from(r: reqwest::Response) -> Reply {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    pub fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {}", self.body))
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Status and body at once, for readable assertions.
    #[track_caller]
    pub fn expect(&self, status: u16, body: Value) {
        assert_eq!((self.status, &self.body), (status, &body), "raw: {}", self.text);
    }

    /// A 401 with `WWW-Authenticate` as DRF sends it.
    #[track_caller]
    pub fn expect_401(&self, body: Value) {
        self.expect(401, body);
        assert_eq!(self.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
}

/// `{"detail": msg, "code": "token_not_valid"}`
pub fn invalid(msg: &str) -> Value {
    json!({"detail": msg, "code": "token_not_valid"})
}

/// The `/api/me/` error for a token no class accepts.
pub fn not_valid_for_any(msg: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": msg}],
    })
}

/// The claims of a token, read without checking anything.
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

pub fn header_of(token: &str) -> Value {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap()
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Signs claims with an independent JWT implementation (jsonwebtoken's own encoder).
pub fn forge(claims: &Value, key: &str) -> String {
    forge_alg(claims, key, jsonwebtoken::Algorithm::HS256)
}

pub fn forge_alg(claims: &Value, key: &str, alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

/// Simple JWT's claims for a token of `token_type` for user `user_id`, valid for 5 minutes.
pub fn sj_claims(token_type: &str, user_id: &str) -> Value {
    let now = now();
    json!({
        "token_type": token_type,
        "exp": now + 300,
        "iat": now,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
        "user_id": user_id,
    })
}

/// `claims` with `changes` applied; a `null` value removes the claim.
pub fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

/// Starts `jwtd` on a free port; returns its address, the process and its log so far.
pub async fn start_binary(dir: &Path, env: &[(&str, &str)]) -> (String, tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(dir)
        .env_clear()
        .env("JWTD__BIND", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let addr = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("jwtd exited: {log}");
    })
    .await
    .expect("jwtd starts within 30 s");
    // Keep draining the log so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (addr, child, log)
}

/// As `start_binary`, keeping every log line the process writes, for tests that read logs.
pub async fn start_binary_logged(
    dir: &Path,
    env: &[(&str, &str)],
) -> (
    String,
    tokio::process::Child,
    std::sync::Arc<std::sync::Mutex<String>>,
) {
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(dir)
        .env_clear()
        .env("JWTD__BIND", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let sink = log.clone();
    tokio::spawn(async move {
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("listening on http://").nth(1)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(
                    rest.split(|c: char| c.is_whitespace() || c == '"')
                        .next()
                        .unwrap()
                        .to_string(),
                );
            }
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let addr = tokio::time::timeout(std::time::Duration::from_secs(30), rx)
        .await
        .expect("jwtd starts within 30 s")
        .unwrap_or_else(|_| panic!("jwtd exited: {}", log.lock().unwrap()));
    (addr, child, log)
}
