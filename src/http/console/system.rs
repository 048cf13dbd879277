//! `/admin/keys/` and `/admin/settings/`: the configuration, for superusers only (even when
//! `admin_api = "staff"` lets staff manage users). Public keys are shown; secrets never.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::{Chrome, Http, signed_in};
use crate::accounts::overview::check_configuration_access;
use crate::config::algorithm::{alg_name, is_hmac};
use crate::http::HttpState;

/// A key of the ring as the overview lists it.
pub struct KeyLine {
    pub kid: String,
    pub alg: &'static str,
    pub signs: bool,
}

/// The ring's keys in order: the first signs.
pub(super) fn key_lines(http: &HttpState) -> Vec<KeyLine> {
    http.app
        .backend
        .keys()
        .keys()
        .iter()
        .enumerate()
        .map(|(i, k)| KeyLine {
            kid: k.kid.clone().unwrap_or_else(|| "(no kid)".into()),
            alg: alg_name(k.alg),
            signs: i == 0,
        })
        .collect()
}

pub struct KeyRow {
    pub kid: String,
    pub alg: &'static str,
    pub signs: bool,
    pub kind: &'static str,
    /// The public JWK, pretty-printed; `None` for a shared secret.
    pub jwk: Option<String>,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    jwk_url: Option<String>,
}

/// `GET /admin/keys/`
pub async fn keys(http: Http, req: HttpRequest) -> HttpResponse {
    let mut signed = match signed_in(&http, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = check_configuration_access(&signed.caller) {
        return signed.refused(e);
    }
    let keys = http
        .app
        .backend
        .keys()
        .keys()
        .iter()
        .enumerate()
        .map(|(i, k)| KeyRow {
            kid: k.kid.clone().unwrap_or_else(|| "(no kid)".into()),
            alg: alg_name(k.alg),
            signs: i == 0,
            kind: if is_hmac(k.alg) {
                "shared secret (HMAC): not shown"
            } else {
                "asymmetric: the public half is published"
            },
            jwk: k
                .public
                .as_ref()
                .map(|p| p.jwk(k.kid.as_deref().unwrap_or_default(), k.alg))
                .and_then(|jwk| serde_json::to_string_pretty(&jwk).ok()),
        })
        .collect();
    let chrome = signed.chrome("keys");
    let page = KeysPage {
        chrome,
        keys,
        jwk_url: http.app.settings.keys.jwk_url.clone(),
    };
    signed.render(StatusCode::OK, &page)
}

pub struct SettingRow {
    pub key: &'static str,
    pub value: String,
    pub origin: String,
    pub secret: bool,
    pub changed: bool,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    rows: Vec<SettingRow>,
}

/// `GET /admin/settings/`
pub async fn settings(http: Http, req: HttpRequest) -> HttpResponse {
    let mut signed = match signed_in(&http, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = check_configuration_access(&signed.caller) {
        return signed.refused(e);
    }
    let rows = http
        .app
        .settings
        .effective()
        .into_iter()
        .map(|e| SettingRow {
            key: e.key,
            changed: e.origin != crate::config::Origin::Default,
            origin: e.origin.describe(),
            value: e.value,
            secret: e.secret,
        })
        .collect();
    let chrome = signed.chrome("settings");
    signed.render(StatusCode::OK, &SettingsPage { chrome, rows })
}
