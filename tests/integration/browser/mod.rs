//! The pages in a real browser: Debian's `chromium`, driven through its `chromedriver` over
//! WebDriver (fantoccini). Each test starts its own chromedriver on a free port and a
//! headless Chromium with a fresh profile, checks every page it visits with axe-core (no
//! serious or critical violation) and saves screenshots under `target/browser-screenshots/`.
//!
//! Without a browser the tests pass without checking anything and the run ends with one
//! line saying so, as the Postgres variants do without `JWTD_TEST_POSTGRES_URL`.
//! `JWTD_TEST_CHROMIUM` and `JWTD_TEST_CHROMEDRIVER` name other binaries.
//!
//! axe-core is vendored beside this file (`axe.min.js`, version 4.14.1, MPL-2.0: see
//! `axe-LICENSE`), so that the check needs no download.

mod api_docs;
mod console;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common::TempDir;

const AXE: &str = include_str!("axe.min.js");

/// Two browsers at a time: the machines that run the suite have few cores, and every other
/// test wants them too.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

fn binary(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    path.is_file().then_some(path)
}

/// A headless Chromium under its own chromedriver; both end when this is dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
    _slot: tokio::sync::SemaphorePermit<'static>,
    /// The scenario's name, for screenshot files.
    name: String,
}

impl Browser {
    /// A browser for the scenario `name`, or `None` (counted, for the closing line) where no
    /// Chromium and chromedriver are installed.
    pub async fn start(name: &str) -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) = (
            binary("JWTD_TEST_CHROMIUM", "/usr/bin/chromium"),
            binary("JWTD_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"),
        ) else {
            crate::common::skipped_browser();
            return None;
        };
        let slot = SLOTS.acquire().await.unwrap();
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, with the browser it starts: dropping the test kills both.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect("chromedriver starts");
        let profile = TempDir::new();
        let browser = Browser {
            client: connect(port, &chromium, profile.path()).await,
            driver,
            _profile: profile,
            _slot: slot,
            name: name.to_string(),
        };
        browser.client.set_window_size(1440, 900).await.unwrap();
        // A page that takes longer than this to load has a problem of its own.
        browser
            .client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .unwrap();
        Some(browser)
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }

    /// The first element matching `css`, waited for (pages may render after loading).
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no {css} on {}: {e}", self.url().await),
        }
    }

    /// Types `text` into the field matching `css`, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the element matching `css` and waits for the page it leads to (a link or a
    /// form's submit button) to load.
    pub async fn click_and_load(&self, css: &str) {
        let target = self.find(css).await;
        self.mark_page().await;
        target.click().await.unwrap();
        self.wait_for_new_page(&format!("clicking {css}")).await;
    }

    /// Presses and releases one key on the keyboard, wherever the focus is.
    pub async fn press(&self, key: impl Into<char>) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let value = key.into();
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Types `text` with the keyboard into whatever has the focus.
    pub async fn type_text(&self, text: &str) {
        for c in text.chars() {
            self.press(c).await;
        }
    }

    /// The focused element (`#id`, or its tag and text) and whether the focus is drawn: an
    /// outline or a shadow on it.
    pub async fn focus(&self) -> (String, bool) {
        let v = self
            .client
            .execute(
                "const e = document.activeElement;
                 const s = getComputedStyle(e);
                 const drawn = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                     || s.boxShadow !== 'none';
                 const name = e.id ? '#' + e.id
                     : e.tagName.toLowerCase() + ' ' + (e.innerText || '').trim().slice(0, 40);
                 return [name, drawn];",
                vec![],
            )
            .await
            .unwrap();
        (v[0].as_str().unwrap().to_string(), v[1] == Value::Bool(true))
    }

    /// Marks the page, so that `wait_for_new_page` can tell when another has replaced it.
    pub async fn mark_page(&self) {
        self.client
            .execute("window.__jwtd_old_page = true", vec![])
            .await
            .unwrap();
    }

    pub async fn wait_for_new_page(&self, why: &str) {
        self.wait_until(
            &format!("a new page after {why}"),
            "return window.__jwtd_old_page !== true && document.readyState === 'complete'",
        )
        .await;
    }

    /// Waits until the script (a function body returning a boolean) holds.
    pub async fn wait_until(&self, what: &str, script: &str) {
        for _ in 0..200 {
            // A page being replaced may not answer: asked again.
            if matches!(self.client.execute(script, vec![]).await, Ok(Value::Bool(true))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: never happened on {}", self.url().await);
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The text of the page's body.
    pub async fn text(&self) -> String {
        self.client
            .execute("return document.body.innerText", vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Scrolls the first element matching `css` to the middle of the viewport.
    pub async fn scroll_to(&self, css: &str) {
        self.find(css).await;
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
                vec![json!(css)],
            )
            .await
            .unwrap();
    }

    /// Saves the viewport as `target/browser-screenshots/{scenario}-{name}.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{}-{name}.png", self.name));
        std::fs::write(&file, png).unwrap();
        file
    }

    /// The page at phone width (375 CSS pixels), then back to the desktop size.
    pub async fn at_phone_width<F: AsyncFnOnce(&Browser)>(&self, check: F) {
        self.client.set_window_size(375, 812).await.unwrap();
        self.wait_until("a 375 px viewport", "return window.innerWidth === 375")
            .await;
        check(self).await;
        self.client.set_window_size(1440, 900).await.unwrap();
    }

    /// Runs axe-core on the page; panics on any serious or critical violation, naming each
    /// rule and the elements it found.
    pub async fn axe(&self, page: &str) {
        let loaded = self
            .client
            .execute("return typeof window.axe === 'object'", vec![])
            .await
            .unwrap();
        if loaded != Value::Bool(true) {
            self.client
                .execute(&format!("{AXE}\nreturn true;"), vec![])
                .await
                .unwrap();
        }
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)
                    }))))
                    .catch(e => done({error: String(e)}));",
                vec![],
            )
            .await
            .unwrap();
        if let Some(error) = result.get("error") {
            panic!("axe on {page}: {error}");
        }
        let serious: Vec<&Value> = result
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            serious.is_empty(),
            "axe-core on {page} ({}): {}",
            self.url().await,
            serde_json::to_string_pretty(&serious).unwrap()
        );
    }

    /// Messages the page's scripts and the browser wrote to the console at level SEVERE
    /// (failed loads, Content-Security-Policy refusals, uncaught errors), since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let logs = self.client.issue_cmd(BrowserLog).await.unwrap();
        logs.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    // The browser asks for /favicon.ico by itself when a page names no icon.
                    .filter(|e| {
                        !e["message"]
                            .as_str()
                            .unwrap_or_default()
                            .contains("/favicon.ico ")
                    })
                    .map(|e| e["message"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        let _ = self.driver.kill();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SAFETY: signals the process group chromedriver leads (its id), browser included.
        unsafe { libc::kill(-(self.driver.id() as i32), libc::SIGKILL) };
        let _ = self.driver.wait();
    }
}

async fn connect(port: u16, chromium: &Path, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    // chromedriver takes a moment to listen.
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no WebDriver session from chromedriver: {last:?}");
}

/// chromedriver's log endpoint (outside the W3C standard): the console messages.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("browser-screenshots")
}
