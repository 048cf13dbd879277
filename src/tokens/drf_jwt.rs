//! drf-jwt's protocol (`rest_framework_jwt` 1.17–1.19): what its serializers, its
//! `JSONWebTokenAuthentication` and its blacklist app do, on jwtd's keys and blacklist.
//!
//! drf-jwt's tokens are one kind (no type claim): `username`, `iat`, `exp`, `jti`, `user_id`,
//! `orig_iat`, and `orig_jti` once refreshed. A refresh makes a new token for the same login,
//! so drf-jwt blacklists a whole login at once by its first token's id (`orig_jti` or `jti`);
//! jwtd records that login as one outstanding-token row under that id, so that `jwtd token
//! revoke`, `jwtd user passwd` and `jwtd token blacklist` reach drf-jwt's tokens too.

use serde_json::Value;
use time::OffsetDateTime;

use super::audit::{self, Client};
use super::backend::PyJwtError;
use super::error::AuthError;
use super::impersonation::IMPERSONATOR_CLAIM;
use super::serializers::{self, sha256_hex};
use super::token::{Claims, is_truthy, number_as_secs, python_int};
use super::{now_f64, now_secs};
use crate::config::JwtTokenId;
use crate::store::{EventType, NewEvent, OutstandingToken, Reason, User};
use crate::tokens::state::State;

/// drf-jwt's refusals, with its messages. Where they show (a serializer's
/// `non_field_errors`, an authentication failure) is the HTTP layer's business.
#[derive(Debug, thiserror::Error)]
pub enum DrfJwtError {
    /// PyJWT's `ExpiredSignatureError`.
    #[error("Token has expired.")]
    Expired,
    /// PyJWT's `DecodeError`: unreadable, or a wrong signature.
    #[error("Error decoding token.")]
    Undecodable,
    /// Any other refusal of the token itself.
    #[error("Invalid token.")]
    Invalid,
    #[error("Token is blacklisted.")]
    Blacklisted,
    /// `check_user`: nobody has the token's username.
    #[error("User doesn't exist.")]
    UserDoesNotExist,
    #[error("User account is disabled.")]
    UserDisabled,
    #[error("orig_iat field not found in token.")]
    NoOrigIat,
    #[error("Refresh has expired.")]
    RefreshExpired,
    /// `orig_jti or jti field not found in token.` (under `jwt_token_id = "require"`).
    #[error("orig_jti or jti field not found in token.")]
    NoTokenId,
    #[error("Unable to log in with provided credentials.")]
    BadCredentials,
    /// Django's `UUIDField` refusing the token id the blacklist is searched by.
    #[error("\u{201c}{0}\u{201d} is not a valid UUID.")]
    NotAUuid(String),
    /// Authentication: the token names no user.
    #[error("Invalid payload.")]
    InvalidPayload,
    /// The database or the password hasher failed.
    #[error("{0}")]
    Other(#[from] AuthError),
}

impl DrfJwtError {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            DrfJwtError::Expired => "expired",
            DrfJwtError::Undecodable => "undecodable",
            DrfJwtError::Invalid | DrfJwtError::InvalidPayload | DrfJwtError::NotAUuid(_) => "invalid",
            DrfJwtError::Blacklisted => "blacklisted",
            DrfJwtError::UserDoesNotExist | DrfJwtError::UserDisabled => "user",
            DrfJwtError::NoOrigIat | DrfJwtError::RefreshExpired | DrfJwtError::NoTokenId => "refresh",
            DrfJwtError::BadCredentials => "credentials",
            DrfJwtError::Other(_) => "other",
        }
    }
}

impl From<crate::store::StoreError> for DrfJwtError {
    fn from(e: crate::store::StoreError) -> Self {
        DrfJwtError::Other(e.into())
    }
}

impl From<PyJwtError> for DrfJwtError {
    fn from(e: PyJwtError) -> Self {
        match e {
            PyJwtError::Expired => DrfJwtError::Expired,
            PyJwtError::Decode => DrfJwtError::Undecodable,
            PyJwtError::Invalid => DrfJwtError::Invalid,
        }
    }
}

/// What the three token views answer: `{"pk": issued_at, "token": token}`. drf-jwt names
/// the `iat` claim `pk` ("for forward compatibility with drf add-ons").
#[derive(Debug, Clone)]
pub struct Issued {
    pub pk: Value,
    pub token: String,
}

/// `JSONWebTokenSerializer`: Django's `authenticate()`, then a new token.
pub async fn obtain(
    state: &State,
    username: &str,
    password: &str,
    client: &Client<'_>,
) -> Result<Issued, DrfJwtError> {
    let user = match serializers::authenticate(state, username, password, client).await {
        Ok(user) => user,
        Err(AuthError::NoActiveAccount) => return Err(DrfJwtError::BadCredentials),
        Err(e) => return Err(e.into()),
    };
    let now = now_secs();
    let payload = create_payload(state, &user, now);
    let token = encode_login(state, &payload, &user, client).await?;
    serializers::update_last_login(state, &user).await?;
    Ok(Issued {
        pk: now.into(),
        token,
    })
}

/// `RefreshAuthTokenSerializer`: a new token for the same login, while its first token's
/// `orig_iat` is within `jwt_refresh_expiration_delta`.
pub async fn refresh(state: &State, raw: &str, client: &Client<'_>) -> Result<Issued, DrfJwtError> {
    let s = &state.settings.drf_jwt;
    let payload = check_payload(state, raw).await?;
    let user = check_user(state, &payload).await?;
    let orig_iat = match payload.get("orig_iat") {
        None | Some(Value::Null) => return Err(DrfJwtError::NoOrigIat),
        Some(v) => v.clone(),
    };
    // drf-jwt fails with a 500 on a non-numeric orig_iat; the token is simply not valid.
    let origin = orig_iat.as_f64().ok_or(DrfJwtError::Invalid)?;
    let now = now_secs();
    if now as f64 > origin + s.jwt_refresh_expiration_delta.as_secs_f64() {
        return Err(DrfJwtError::RefreshExpired);
    }
    let mut new = create_payload(state, &user, now);
    new.insert("orig_iat".into(), orig_iat);
    match token_id(&payload) {
        Some(id) => new.insert("orig_jti".into(), id.clone()),
        None if s.jwt_token_id == JwtTokenId::Require => return Err(DrfJwtError::NoTokenId),
        None => {}
    }
    let (token, record) = encode_recorded(state, &new, &user).await?;
    // The login's row is its session (`orig_jti`): its `last_used`, coalesced. A token
    // without id makes a row of its own at every refresh: no session to follow.
    let family = record.family.as_deref().unwrap_or(&record.jti);
    if new.get("orig_jti").is_none() {
        return Ok(Issued {
            pk: now.into(),
            token,
        });
    }
    // Bookkeeping, as for Simple JWT's refresh: a failed write does not refuse it.
    if let Err(e) = state
        .store
        .touch_session(family, crate::store::now(), record.expires_at)
        .await
    {
        tracing::warn!(error = %e, session = family, "could not note the use of a session");
    }
    if state.settings.audit.audit_token_refreshed {
        let event = audit::event(
            &state.settings.audit,
            client,
            EventType::TokenRefreshed,
            Some(&user),
            Some(family),
        );
        audit::record(state, event).await;
    }
    Ok(Issued {
        pk: now.into(),
        token,
    })
}

/// `VerifyAuthTokenSerializer`: the token as it came, and its `iat` (null without one).
pub async fn verify(state: &State, raw: &str) -> Result<Issued, DrfJwtError> {
    let payload = check_payload(state, raw).await?;
    check_user(state, &payload).await?;
    Ok(Issued {
        pk: payload.get("iat").cloned().unwrap_or(Value::Null),
        token: raw.to_string(),
    })
}

/// `JSONWebTokenAuthentication.authenticate` for a token found in the request: the user,
/// or why not. Its messages differ from the serializers' (`Invalid payload.` for a token
/// without username, `Invalid token.` for an unknown user), and it never asks for a `jti`.
pub async fn authenticate(state: &State, raw: &str) -> Result<User, DrfJwtError> {
    let payload = decode_signed(state, raw).await?;
    if shared_with_simple_jwt(state, &payload) {
        // drf-jwt would take a Simple JWT token's claims and look for a username in them.
        return Err(match username(&payload) {
            None => DrfJwtError::InvalidPayload,
            Some(_) => DrfJwtError::Invalid,
        });
    }
    // drf-jwt fails with a 500 when the token id is not a UUID; here it is not valid.
    check_not_blacklisted(state, raw, &payload)
        .await
        .map_err(|e| match e {
            DrfJwtError::NotAUuid(_) => DrfJwtError::Invalid,
            e => e,
        })?;
    let Some(username) = username(&payload) else {
        return Err(DrfJwtError::InvalidPayload);
    };
    let user = state.store.user_by_username(&username).await?;
    match user.filter(|u| serializers::issued_to_holder(u, payload.get("iat"))) {
        None => Err(DrfJwtError::Invalid),
        Some(user) if !user.is_active => Err(DrfJwtError::UserDisabled),
        Some(user) => Ok(user),
    }
}

/// `BlacklistTokenSerializer.save`: blacklists the token's login — or, without a token id,
/// the token itself — and ends its session. Logging out twice is no error (drf-jwt's `get_or_create`). Returns
/// the token for the answer, which drf-jwt leaves out when `jwt_token_id = "require"`.
pub async fn logout(state: &State, raw: &str, client: &Client<'_>) -> Result<Option<String>, DrfJwtError> {
    let payload = decode(state, raw).await?;
    let user = check_user(state, &payload).await?;
    let record = outstanding(state, raw, &payload, Some(user.id))?;
    let events = [audit::event(
        &state.settings.audit,
        client,
        EventType::Logout,
        Some(&user),
        record.family.as_deref(),
    )];
    // The login's session ends with it.
    if state
        .store
        .end_session_audited(&record, Reason::Blacklist, &events)
        .await?
    {
        audit::written(Some(&state.audit_counts), &events);
    }
    Ok((state.settings.drf_jwt.jwt_token_id != JwtTokenId::Require).then(|| raw.to_string()))
}

/// RFC 7009 for a drf-jwt token: its login (or, without id, the token) is blacklisted under
/// the key drf-jwt's endpoints look up. Anything drf-jwt's endpoints would not accept is
/// ignored, as the RFC asks for invalid tokens.
pub async fn revoke(state: &State, raw: &str) -> Result<(), AuthError> {
    let Ok(payload) = decode(state, raw).await else {
        return Ok(());
    };
    let user_id = match username(&payload) {
        Some(name) => state.store.user_by_username(&name).await?.map(|u| u.id),
        None => None,
    };
    let Ok(record) = outstanding(state, raw, &payload, user_id) else {
        return Ok(());
    };
    let mut event = NewEvent::new(EventType::TokenRevoked);
    event.user_id = user_id;
    event.session = record.family.clone();
    let events = [event];
    if state
        .store
        .blacklist_audited(&record, Reason::Revoke, &events)
        .await?
    {
        audit::written(Some(&state.audit_counts), &events);
    }
    Ok(())
}

/// `jwt_create_payload`: drf-jwt's claims in its order (`aud` and `iss` are added by the
/// backend when configured).
fn create_payload(state: &State, user: &User, now: i64) -> Claims {
    let s = &state.settings.drf_jwt;
    let mut payload = Claims::new();
    payload.insert("username".into(), user.username.clone().into());
    payload.insert("iat".into(), now.into());
    payload.insert(
        "exp".into(),
        (now + s.jwt_expiration_delta.as_secs() as i64).into(),
    );
    if s.jwt_token_id != JwtTokenId::Off {
        // `str(uuid4())`: drf-jwt's ids have hyphens, unlike Simple JWT's.
        payload.insert("jti".into(), super::token::random_uuid().to_string().into());
    }
    if s.jwt_payload_include_user_id {
        // `user.pk`: a number, where Simple JWT 5.5 writes a string.
        payload.insert("user_id".into(), user.id.into());
    }
    if s.jwt_allow_refresh {
        payload.insert("orig_iat".into(), now.into());
    }
    payload
}

/// Signs the claims and records the token's login as outstanding, so that it can be
/// revoked with the user's other tokens. A refreshed token updates its login's row.
async fn encode_recorded(
    state: &State,
    payload: &Claims,
    user: &User,
) -> Result<(String, OutstandingToken), DrfJwtError> {
    let raw = state.backend.encode(payload);
    let record = outstanding(state, &raw, payload, Some(user.id))?;
    state.store.add_outstanding(&record).await?;
    Ok((raw, record))
}

/// A login's first token: signed, and recorded as outstanding with the session it starts
/// (named by its row's key) and the `login_succeeded` event, in one transaction.
async fn encode_login(
    state: &State,
    payload: &Claims,
    user: &User,
    client: &Client<'_>,
) -> Result<String, DrfJwtError> {
    let raw = state.backend.encode(payload);
    let record = outstanding(state, &raw, payload, Some(user.id))?;
    let (session, events) = audit::login(&state.settings.audit, client, user, &record);
    // Without a jti the row is keyed by the token's hash, which two identical tokens (the
    // same user in the same second) share: the row is upserted, and the session kept.
    if !state
        .store
        .add_outstanding_with_session(&record, &session, &events)
        .await?
    {
        // Deleted since it was authenticated: as drf-jwt answers for no such user.
        return Err(DrfJwtError::BadCredentials);
    }
    audit::written(Some(&state.audit_counts), &events);
    Ok(raw)
}

/// `check_payload`: decoded as PyJWT does for drf-jwt, and not blacklisted.
async fn check_payload(state: &State, raw: &str) -> Result<Claims, DrfJwtError> {
    let payload = decode(state, raw).await?;
    check_not_blacklisted(state, raw, &payload).await?;
    Ok(payload)
}

async fn check_not_blacklisted(state: &State, raw: &str, payload: &Claims) -> Result<(), DrfJwtError> {
    let key = blacklist_key(state, raw, payload)?;
    // Until tokens logged out by earlier versions, which keyed a token without id by the
    // hash of all of it, have expired, such a token is looked up under that key too.
    let blacklisted = state.store.is_blacklisted(&key).await?
        || (key.starts_with(SIGNING_INPUT_PREFIX)
            && state
                .store
                .is_blacklisted(&format!("sha256:{}", sha256_hex(raw)))
                .await?);
    if blacklisted {
        return Err(DrfJwtError::Blacklisted);
    }
    Ok(())
}

async fn decode(state: &State, raw: &str) -> Result<Claims, DrfJwtError> {
    let payload = decode_signed(state, raw).await?;
    if shared_with_simple_jwt(state, &payload) {
        return Err(DrfJwtError::Invalid);
    }
    Ok(payload)
}

/// The claims of a token signed by one of jwtd's keys, checked as PyJWT checks them.
async fn decode_signed(state: &State, raw: &str) -> Result<Claims, DrfJwtError> {
    Ok(state
        .backend
        .decode_as_pyjwt(raw.as_bytes(), now_f64(), true)
        .await?)
}

/// The keys are shared with Simple JWT's endpoints: their tokens (typed, and impersonation
/// tokens) must not pass for drf-jwt logins, whatever claims they carry.
fn shared_with_simple_jwt(state: &State, payload: &Claims) -> bool {
    payload.get(&state.settings.tokens.token_type_claim).is_some()
        || payload.get(IMPERSONATOR_CLAIM).is_some()
}

/// `check_user`: the active user the token names.
async fn check_user(state: &State, payload: &Claims) -> Result<User, DrfJwtError> {
    let Some(username) = username(payload) else {
        return Err(DrfJwtError::Invalid);
    };
    if state.settings.drf_jwt.jwt_token_id == JwtTokenId::Require
        && !payload.get("jti").is_some_and(is_truthy)
    {
        return Err(DrfJwtError::Invalid);
    }
    let user = state.store.user_by_username(&username).await?;
    match user.filter(|u| serializers::issued_to_holder(u, payload.get("iat"))) {
        None => Err(DrfJwtError::UserDoesNotExist),
        Some(user) if !user.is_active => Err(DrfJwtError::UserDisabled),
        Some(user) => Ok(user),
    }
}

/// The `username` claim as Django looks it up (`str()` of a number); `None` when falsy.
fn username(payload: &Claims) -> Option<String> {
    match payload.get("username")? {
        v if !is_truthy(v) => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(_) => Some("True".into()),
        // A list or an object matches no username.
        _ => Some(String::new()),
    }
}

/// The id of the token's login: `orig_jti or jti`.
fn token_id(payload: &Claims) -> Option<&Value> {
    ["orig_jti", "jti"]
        .into_iter()
        .find_map(|claim| payload.get(claim).filter(|v| is_truthy(v)))
}

/// What the token is blacklisted under — the outstanding-token row's `jti`. drf-jwt's
/// blacklist holds the token id (a UUID) and the token itself; jwtd never stores tokens,
/// so a token without id (or any token under `jwt_token_id = "off"`, where drf-jwt
/// compares tokens only) is blacklisted under the SHA-256 of its signing input
/// (`header.payload`). Not of the whole token: an ECDSA signature (r, s) has a twin
/// (r, n − s) that verifies as well, and the twin of a logged-out token would have another
/// hash. High-S signatures cannot simply be refused: PyJWT makes them half the time.
fn blacklist_key(state: &State, raw: &str, payload: &Claims) -> Result<String, DrfJwtError> {
    let id = match state.settings.drf_jwt.jwt_token_id {
        JwtTokenId::Off => None,
        JwtTokenId::Include | JwtTokenId::Require => token_id(payload),
    };
    match id {
        Some(id) => uuid_field(id),
        None => {
            let signing_input = raw.rsplit_once('.').map_or(raw, |(input, _)| input);
            Ok(format!("{SIGNING_INPUT_PREFIX}{}", sha256_hex(signing_input)))
        }
    }
}

const SIGNING_INPUT_PREFIX: &str = "sha256-input:";

/// Django's `UUIDField.to_python`: the canonical form of a token id, so that `ABC…`,
/// `abc…` and the form without hyphens are one login, as in drf-jwt's blacklist table.
fn uuid_field(value: &Value) -> Result<String, DrfJwtError> {
    let refused = |shown: String| DrfJwtError::NotAUuid(shown);
    match value {
        Value::String(text) => {
            // `uuid.UUID(hex=…)`: prefixes, braces and hyphens anywhere are dropped.
            let hex = text.replace("urn:", "").replace("uuid:", "");
            let hex = hex.trim_matches(|c| c == '{' || c == '}').replace('-', "");
            if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(refused(text.clone()));
            }
            let id = uuid::Uuid::try_parse(&hex).map_err(|_| refused(text.clone()))?;
            Ok(id.hyphenated().to_string())
        }
        // `uuid.UUID(int=…)`
        Value::Number(n) => match n.as_u64() {
            Some(i) => Ok(uuid::Uuid::from_u128(u128::from(i)).hyphenated().to_string()),
            None => Err(refused(n.to_string())),
        },
        other => Err(refused(other.to_string())),
    }
}

/// The outstanding-token row of a token's login. It must outlive every token the login
/// can still be refreshed into, or flushing expired rows would lift a logout: a refresh is
/// allowed until `orig_iat` + `jwt_refresh_expiration_delta`, and makes a token valid for
/// `jwt_expiration_delta` more.
fn outstanding(
    state: &State,
    raw: &str,
    payload: &Claims,
    user_id: Option<i64>,
) -> Result<OutstandingToken, DrfJwtError> {
    let s = &state.settings.drf_jwt;
    let key = blacklist_key(state, raw, payload)?;
    let at = |secs: i64| OffsetDateTime::from_unix_timestamp(secs).ok();
    let issued = payload.get("iat").and_then(python_int).unwrap_or_else(now_secs);
    // A token without exp never expires: neither may its row.
    let mut expires = payload.get("exp").and_then(python_int).unwrap_or(i64::MAX);
    if let Some(origin) = payload.get("orig_iat").and_then(number_as_secs) {
        let last_refresh = origin
            .saturating_add(s.jwt_refresh_expiration_delta.as_secs() as i64)
            .saturating_add(s.jwt_expiration_delta.as_secs() as i64);
        expires = expires.max(last_refresh);
    }
    Ok(OutstandingToken {
        user_id,
        jti: key.clone(),
        family: Some(key),
        created_at: at(issued).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        expires_at: at(expires).unwrap_or(FAR_FUTURE),
    })
}

/// The latest time both databases store alike.
const FAR_FUTURE: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_ids_are_read_as_django_reads_uuids() {
        let canonical = "8ff32c10-35b5-4575-a698-0b7dcb540bae";
        for form in [
            canonical,
            "8FF32C10-35B5-4575-A698-0B7DCB540BAE",
            "8ff32c1035b54575a6980b7dcb540bae",
            "{8ff32c10-35b5-4575-a698-0b7dcb540bae}",
            "urn:uuid:8ff32c10-35b5-4575-a698-0b7dcb540bae",
        ] {
            assert_eq!(uuid_field(&json!(form)).unwrap(), canonical, "{form}");
        }
        assert_eq!(
            uuid_field(&json!("abc")).unwrap_err().to_string(),
            "\u{201c}abc\u{201d} is not a valid UUID."
        );
        assert_eq!(
            uuid_field(&json!(5)).unwrap(),
            "00000000-0000-0000-0000-000000000005"
        );
    }

    #[test]
    fn usernames_as_django_looks_them_up() {
        let claims = |v: Value| {
            let mut c = Claims::new();
            c.insert("username".into(), v);
            c
        };
        assert_eq!(username(&claims(json!("alice"))).as_deref(), Some("alice"));
        assert_eq!(username(&claims(json!(5))).as_deref(), Some("5"));
        assert_eq!(username(&claims(json!(""))), None);
        assert_eq!(username(&claims(json!(0))), None);
        assert_eq!(username(&Claims::new()), None);
    }
}
