//! What Simple JWT's serializers do in `validate()`: obtain a pair or a sliding token,
//! refresh, verify and blacklist. Input arrives already checked field by field (the HTTP
//! layer does DRF's field validation); these functions apply the rules.

use serde_json::Value;

use super::audit::{self, Client};
use super::claims::SESSION_CLAIM;
use super::error::{AuthError, TokenError};
use super::token::{Token, TokenType, is_truthy};
use super::{now_f64, now_secs};
use crate::store::{EventType, Joined, NewEvent, OutstandingToken, Reason, Rotation, User};
use crate::tokens::state::State;

/// `{"refresh": …, "access": …}`
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub refresh: String,
    pub access: String,
}

/// `{"access": …}` and, with rotation, `{"refresh": …}` too.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub access: String,
    pub refresh: Option<String>,
}

/// `TokenObtainSerializer.validate`: Django's `authenticate()` (username lookup, password
/// check, inactive users refused) and the user authentication rule. Unknown users cost a
/// password check too, so timing does not reveal which usernames exist. A refusal is
/// recorded as `login_failed`, with the username as given.
pub async fn authenticate(
    state: &State,
    username: &str,
    password: &str,
    client: &Client<'_>,
) -> Result<User, AuthError> {
    let started = tokio::time::Instant::now();
    let user = state.store.user_by_username(username).await?;
    let verified = state
        .hasher
        .verify(password, user.as_ref().map(|u| u.password.as_str()))
        .await?;
    match user {
        Some(user) if verified.matches && user.is_active => {
            if verified.needs_rehash {
                return rehash(state, user, password).await;
            }
            Ok(user)
        }
        _ => {
            let mut event = audit::event(
                &state.settings.audit,
                client,
                EventType::LoginFailed,
                user.as_ref(),
                None,
            );
            event.username = Some(username.to_owned());
            audit::record(state, event).await;
            // Every refusal lasts as long as the dearest imported hash (see failure_floor).
            tokio::time::sleep_until(started + state.hasher.failure_floor()).await;
            Err(AuthError::NoActiveAccount)
        }
    }
}

/// Replaces a hash of another format or other parameters (an imported Django hash, say) by
/// jwtd's own, as Django's `check_password` does when its hasher settings changed: not a
/// password change, so no token is blacklisted. The new hash has a new fingerprint, so under
/// `check_revoke_token` tokens issued before this login stop working — as in Django.
///
/// The hash is replaced only if it is still the one just checked. Otherwise two first logins
/// at once would each store a hash of their own, and the tokens of the first would carry
/// a fingerprint that is already gone; the loser instead issues under the stored hash, after
/// checking the password against it (it may be a new password set meanwhile).
async fn rehash(state: &State, user: User, password: &str) -> Result<User, AuthError> {
    let hash = state.hasher.hash(password).await?;
    if state
        .store
        .replace_password(user.id, &user.password, &hash)
        .await?
    {
        return Ok(User {
            password: hash,
            ..user
        });
    }
    let current = state.store.user_by_id(user.id).await?;
    let verified = state
        .hasher
        .verify(password, current.as_ref().map(|u| u.password.as_str()))
        .await?;
    match current {
        Some(current) if verified.matches && current.is_active => Ok(current),
        _ => Err(AuthError::NoActiveAccount),
    }
}

/// `TokenObtainPairSerializer`
pub async fn obtain_pair(
    state: &State,
    username: &str,
    password: &str,
    client: &Client<'_>,
) -> Result<TokenPair, AuthError> {
    let user = authenticate(state, username, password, client).await?;
    let pair = issue_pair(state, &user, client).await?;
    update_last_login(state, &user).await?;
    Ok(pair)
}

/// `TokenObtainSlidingSerializer`
pub async fn obtain_sliding(
    state: &State,
    username: &str,
    password: &str,
    client: &Client<'_>,
) -> Result<String, AuthError> {
    let user = authenticate(state, username, password, client).await?;
    let token = issue(state, TokenType::Sliding, &user, client).await?;
    update_last_login(state, &user).await?;
    Ok(token.1)
}

/// A refresh/access pair for `user` (`RefreshToken.for_user`); the refresh token is recorded
/// as outstanding and starts a token family — a session — of its own.
pub async fn issue_pair(state: &State, user: &User, client: &Client<'_>) -> Result<TokenPair, AuthError> {
    let (refresh, refresh_raw) = issue(state, TokenType::Refresh, user, client).await?;
    let access = state
        .backend
        .encode(&refresh.access_token(&state.settings.tokens).payload);
    Ok(TokenPair {
        refresh: refresh_raw,
        access,
    })
}

/// A new token of `kind` for `user`, encoded, and its outstanding row. It belongs to the
/// session `sid`, which it carries as `sid` and records as its family, or with `None` starts
/// a session of its own, named by its jti. Without a jti claim there is no family to name a
/// session by: the row's family is `None` then.
fn new_token(
    state: &State,
    kind: TokenType,
    user: &User,
    sid: Option<&str>,
) -> (Token, String, OutstandingToken) {
    let mut token = Token::for_user(kind, user, &state.settings.tokens, now_secs());
    let session = token
        .jti(&state.settings.tokens)
        .map(|jti| sid.unwrap_or(jti).to_owned());
    if let Some(sid) = &session {
        token.payload.insert(SESSION_CLAIM.into(), sid.clone().into());
    }
    let raw = state.backend.encode(&token.payload);
    let mut record = outstanding(state, &token, Some(user.id));
    record.family = session;
    (token, raw, record)
}

/// A new refresh or sliding token for `user`, recorded as outstanding with the session it
/// starts (its family, named by its jti, which the token carries as `sid`) and the
/// `login_succeeded` event, in one transaction.
async fn issue(
    state: &State,
    kind: TokenType,
    user: &User,
    client: &Client<'_>,
) -> Result<(Token, String), AuthError> {
    let (token, raw, record) = new_token(state, kind, user, None);
    if record.family.is_none() {
        state.store.add_outstanding(&record).await?;
        return Ok((token, raw));
    }
    let (session, events) = audit::login(&state.settings.audit, client, user, &record);
    if !state
        .store
        .add_outstanding_with_session(&record, &session, &events)
        .await?
    {
        // Deleted since it was authenticated: as Simple JWT answers for no such user.
        return Err(AuthError::NoActiveAccount);
    }
    audit::written(Some(&state.audit_counts), &events);
    Ok((token, raw))
}

/// A pair for `user` that continues the session `sid` rather than starting one, and the
/// refresh token's outstanding row, not recorded: the caller records it in the transaction
/// that moves the session on. `None` without a jti claim (no session to continue).
pub fn pair_in_session(state: &State, user: &User, sid: &str) -> Option<(TokenPair, OutstandingToken)> {
    let (refresh, refresh_raw, record) = new_token(state, TokenType::Refresh, user, Some(sid));
    record.family.as_ref()?;
    let access = state
        .backend
        .encode(&refresh.access_token(&state.settings.tokens).payload);
    let pair = TokenPair {
        refresh: refresh_raw,
        access,
    };
    Some((pair, record))
}

/// The session a token belongs to (`sid`), if it names one.
pub fn session_of(token: &Token) -> Option<&str> {
    token.get(SESSION_CLAIM).and_then(serde_json::Value::as_str)
}

/// A refresh of session `sid`: its `last_used` (coalesced by the store to once a minute, so
/// most refreshes cost nothing here) and, with `audit_token_refreshed`, the event.
async fn refreshed(
    state: &State,
    sid: Option<&str>,
    expires: i64,
    user: Option<&User>,
    client: &Client<'_>,
) -> Result<(), AuthError> {
    let Some(sid) = sid else { return Ok(()) };
    let expires =
        time::OffsetDateTime::from_unix_timestamp(expires).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    // Bookkeeping: a database that takes reads but no writes (read-only, a full disk)
    // still refreshes, as it did before sessions were kept.
    if let Err(e) = state.store.touch_session(sid, crate::store::now(), expires).await {
        tracing::warn!(error = %e, session = sid, "could not note the use of a session");
    }
    if state.settings.audit.audit_token_refreshed {
        let event = audit::event(
            &state.settings.audit,
            client,
            EventType::TokenRefreshed,
            user,
            Some(sid),
        );
        // Boxed: off by default, and inline it would enlarge every refresh's future.
        Box::pin(audit::record(state, event)).await;
    }
    Ok(())
}

pub(super) async fn update_last_login(state: &State, user: &User) -> Result<(), AuthError> {
    if state.settings.tokens.update_last_login {
        state.store.set_last_login(user.id, crate::store::now()).await?;
    }
    Ok(())
}

/// `TokenRefreshSerializer`. With rotation and blacklist-after-rotation, the old token is
/// blacklisted and the new one recorded in one atomic step that only one of several
/// concurrent refreshes with the same token can win.
pub async fn refresh(state: &State, raw: &str, client: &Client<'_>) -> Result<Refreshed, AuthError> {
    let s = &state.settings.tokens;
    let mut refresh = decode(state, TokenType::Refresh, raw.as_bytes()).await?;
    let rotate_and_blacklist = s.rotate_refresh_tokens && s.blacklist_after_rotation;
    if !rotate_and_blacklist {
        check_blacklist(state, &refresh).await?;
    }
    let mut user = None;
    if let Some(claim) = refresh.get(&s.user_id_claim).filter(|v| is_truthy(v)) {
        match find_user(state, claim).await? {
            Some(found) if user_is_allowed(state, &found) && issued_to_holder(&found, refresh.get("iat")) => {
                user = Some(found)
            }
            _ => {
                if rotate_and_blacklist {
                    // Simple JWT reports a blacklisted token before looking at its user.
                    check_blacklist(state, &refresh).await?;
                }
                return Err(AuthError::NoActiveAccountForToken);
            }
        }
    }
    let user_id = user.as_ref().map(|u| u.id);
    let access = state.backend.encode(&refresh.access_token(s).payload);
    if !s.rotate_refresh_tokens {
        let expires = refresh.timestamp("exp").unwrap_or(refresh.current_time);
        refreshed(state, session_of(&refresh), expires, user.as_ref(), client).await?;
        return Ok(Refreshed {
            access,
            refresh: None,
        });
    }
    let old = outstanding(state, &refresh, user_id);
    let now = now_secs();
    refresh.set_jti(s);
    refresh.set_exp("exp", now, TokenType::Refresh.lifetime(s));
    refresh.set_iat(now);
    refresh.current_time = now;
    let new_raw = state.backend.encode(&refresh.payload);
    let mut new = outstanding(state, &refresh, user_id);
    new.family = session_of(&refresh).map(str::to_owned);
    // The rotation's futures are boxed: kept inline they would make the future of every
    // refresh, rotating or not, as large as the largest of them, and actix moves it twice.
    if !s.blacklist_after_rotation {
        // The old token is left as it is (Simple JWT); the new one joins its session, as a
        // rotation's does, unless a revocation or the user's deletion got there first —
        // answered as a refresh that came after them is.
        match Box::pin(state.store.add_to_family(&new)).await? {
            Joined::Added => {}
            Joined::FamilyRevoked => return Err(TokenError::Blacklisted.into()),
            Joined::UserDeleted => return Err(AuthError::NoActiveAccountForToken),
        }
    } else {
        match Box::pin(state.store.rotate(&old, &new)).await? {
            Rotation::Rotated => {}
            Rotation::FamilyRevoked => return Err(TokenError::Blacklisted.into()),
            Rotation::AlreadyBlacklisted if !s.refresh_token_reuse_detection => {
                return Err(TokenError::Blacklisted.into());
            }
            Rotation::AlreadyBlacklisted => {
                Box::pin(reused(state, &old, new)).await?;
            }
        }
    }
    let expires = refresh.timestamp("exp").unwrap_or(now);
    refreshed(state, session_of(&refresh), expires, user.as_ref(), client).await?;
    Ok(Refreshed {
        access,
        refresh: Some(new_raw),
    })
}

/// A refresh token that was already blacklisted came back. If it was rotated away less than
/// `refresh_token_reuse_interval` ago, it is a client retrying: it gets another token of the
/// same family. Otherwise somebody replays an old token — the thief or the victim, there is
/// no telling — so every token of the family is blacklisted and the login must start over.
/// A revoked family stays revoked: a retry gets nothing then.
async fn reused(state: &State, old: &OutstandingToken, mut new: OutstandingToken) -> Result<(), AuthError> {
    let Some(blacklisting) = state.store.blacklisting(&old.jti).await? else {
        return Err(TokenError::Blacklisted.into());
    };
    if blacklisting.reason != Reason::Rotation {
        return Err(TokenError::Blacklisted.into());
    }
    let age = crate::store::now() - blacklisting.at;
    let interval = state.settings.tokens.refresh_token_reuse_interval.0;
    // Stored times are whole seconds, so a retry in the same second has age 0: an interval
    // of 0 must mean "no retries at all".
    if !interval.is_zero() && age.whole_milliseconds() <= interval.as_millis() as i128 {
        new.family = Some(blacklisting.family);
        // Refused (the family revoked or the user deleted meanwhile): the token presented was
        // rotated away, and Simple JWT answers as for any blacklisted token.
        return match state.store.add_to_family(&new).await? {
            Joined::Added => Ok(()),
            Joined::FamilyRevoked | Joined::UserDeleted => Err(TokenError::Blacklisted.into()),
        };
    }
    let mut event = NewEvent::new(EventType::RefreshReuseDetected);
    event.user_id = old.user_id;
    event.session = Some(blacklisting.family.clone());
    let events = [event];
    let revoked = state
        .store
        .blacklist_family_audited(&blacklisting.family, Reason::Reuse, &events)
        .await?;
    audit::written(Some(&state.audit_counts), &events);
    tracing::warn!(
        family = %blacklisting.family,
        user_id = ?old.user_id,
        revoked,
        "refresh token reuse detected: a token rotated away {}s ago was presented again; its family is revoked",
        age.whole_seconds()
    );
    Err(TokenError::Blacklisted.into())
}

/// `TokenRefreshSlidingSerializer`: a new `exp` (and `iat`) until `refresh_exp` passes.
///
/// Deviation from Simple JWT 5.5, which renews the token without looking at its user: the
/// user must pass the same rule as for a refresh (`refresh`), with the same refusal, or
/// a deactivated user could keep a sliding token alive until `refresh_exp`.
pub async fn refresh_sliding(state: &State, raw: &str, client: &Client<'_>) -> Result<String, AuthError> {
    let s = &state.settings.tokens;
    let mut token = decode(state, TokenType::Sliding, raw.as_bytes()).await?;
    check_blacklist(state, &token).await?;
    token.check_exp(&s.sliding_token_refresh_exp_claim, state.backend.leeway())?;
    if let Some(claim) = token.get(&s.user_id_claim).filter(|v| is_truthy(v)) {
        match find_user(state, claim).await? {
            Some(user) if user_is_allowed(state, &user) => {}
            _ => return Err(AuthError::NoActiveAccountForToken),
        }
    }
    let now = now_secs();
    token.set_exp("exp", now, TokenType::Sliding.lifetime(s));
    token.set_iat(now);
    let raw = state.backend.encode(&token.payload);
    // Same jti, later expiry: keep the outstanding row alive as long as the token is.
    let record = outstanding(state, &token, claimed_id(state, &token));
    state.store.add_outstanding(&record).await?;
    refreshed(
        state,
        session_of(&token),
        now + TokenType::Sliding.lifetime(s),
        None,
        client,
    )
    .await?;
    Ok(raw)
}

/// `TokenVerifySerializer`: any token type; the blacklist is consulted only with
/// `blacklist_after_rotation`, as in Simple JWT.
pub async fn verify(state: &State, raw: &str) -> Result<(), AuthError> {
    let token = decode(state, TokenType::Untyped, raw.as_bytes()).await?;
    if state.settings.tokens.blacklist_after_rotation
        && let Some(jti) = token.jti(&state.settings.tokens)
        && state.store.is_blacklisted(jti).await?
    {
        return Err(AuthError::BlacklistedOnVerify);
    }
    Ok(())
}

/// `TokenBlacklistSerializer`: blacklists a refresh token; a second time is refused.
/// Beyond Simple JWT, it is a logout: the token's session ends with it (its family revoked,
/// its other tokens blacklisted), so that the session is no longer listed and its access
/// tokens are refused by jwtd's own endpoints. Recorded as `kind`: `token_blacklisted` (the
/// blacklist view) or `logout`, naming the session.
pub async fn blacklist(
    state: &State,
    raw: &str,
    kind: EventType,
    client: &Client<'_>,
) -> Result<(), AuthError> {
    let token = decode(state, TokenType::Refresh, raw.as_bytes()).await?;
    let mut record = outstanding(state, &token, claimed_id(state, &token));
    record.family = session_of(&token).map(str::to_owned);
    let mut event = audit::event(&state.settings.audit, client, kind, None, session_of(&token));
    event.user_id = record.user_id;
    let events = [event];
    let store = &state.store;
    let blacklisted = if token.jti(&state.settings.tokens).is_some() {
        store
            .end_session_audited(&record, Reason::Blacklist, &events)
            .await?
    } else {
        // No jti: no family to end.
        store
            .blacklist_audited(&record, Reason::Blacklist, &events)
            .await?
    };
    if !blacklisted {
        return Err(TokenError::Blacklisted.into());
    }
    audit::written(Some(&state.audit_counts), &events);
    Ok(())
}

/// `Token(raw)` for a class: decode, then the class's `verify()` (the blacklist, which needs
/// the database, is checked by the callers).
pub async fn decode(state: &State, kind: TokenType, raw: &[u8]) -> Result<Token, TokenError> {
    let now = now_f64();
    let payload = state.backend.decode(raw, now).await?;
    let token = Token {
        kind,
        payload,
        current_time: now as i64,
    };
    token.verify(&state.settings.tokens, state.backend.leeway())?;
    Ok(token)
}

/// `BlacklistMixin.check_blacklist`. Beyond Simple JWT, a token whose session (`sid`) was
/// revoked is refused as blacklisted too: the access tokens of a revoked session are
/// recorded nowhere else. One statement either way.
pub async fn check_blacklist(state: &State, token: &Token) -> Result<(), AuthError> {
    let Some(jti) = token.jti(&state.settings.tokens) else {
        return Ok(());
    };
    let refused = match session_of(token) {
        Some(sid) if sid != jti => state.store.is_blacklisted_or_revoked(jti, sid).await?,
        _ => state.store.is_blacklisted(jti).await?,
    };
    if refused {
        return Err(TokenError::Blacklisted.into());
    }
    Ok(())
}

/// Looks a user up by the value of the user id claim (`user_id_field` decides the column).
pub async fn find_user(state: &State, claim: &Value) -> Result<Option<User>, AuthError> {
    use crate::config::UserIdField;
    Ok(match state.settings.tokens.user_id_field {
        UserIdField::Id => match claim_as_id(claim) {
            Some(id) => state.store.user_by_id(id).await?,
            None => None,
        },
        UserIdField::Username => match claim {
            Value::String(name) => state.store.user_by_username(name).await?,
            Value::Number(n) => state.store.user_by_username(&n.to_string()).await?,
            _ => None,
        },
    })
}

/// Whether a token was issued to the person who holds `user`'s row now. An import that gave
/// the row's id or username to someone else (`replaced_at`) voids the tokens issued before
/// it — in the same second too, since `iat` has whole seconds — access tokens included,
/// which no blacklist reaches. A token without `iat` cannot show it is younger.
pub fn issued_to_holder(user: &User, iat: Option<&Value>) -> bool {
    let Some(replaced_at) = user.replaced_at else {
        return true;
    };
    let replaced_at = replaced_at.unix_timestamp_nanos() as f64 / 1e9;
    iat.and_then(Value::as_f64).is_some_and(|iat| iat > replaced_at)
}

/// Simple JWT's `default_user_authentication_rule` for an existing user.
pub fn user_is_allowed(state: &State, user: &User) -> bool {
    !state.settings.tokens.check_user_is_active || user.is_active
}

/// Django's integer primary keys accept `1` and `"1"`; anything else finds no user.
fn claim_as_id(claim: &Value) -> Option<i64> {
    match claim {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The user id a token claims, when ids are the user id field (else `None`: the outstanding
/// row is then recorded without a user, which the store also does for unknown ids).
pub(super) fn claimed_id(state: &State, token: &Token) -> Option<i64> {
    match state.settings.tokens.user_id_field {
        crate::config::UserIdField::Id => token
            .get(&state.settings.tokens.user_id_claim)
            .and_then(claim_as_id),
        crate::config::UserIdField::Username => None,
    }
}

/// The outstanding-token row for a token: its jti, never the token.
pub(super) fn outstanding(state: &State, token: &Token, user_id: Option<i64>) -> OutstandingToken {
    let at = |secs: i64| {
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    };
    OutstandingToken {
        user_id,
        jti: token.jti(&state.settings.tokens).unwrap_or_default().to_string(),
        family: None,
        created_at: at(token.current_time),
        expires_at: at(token.timestamp("exp").unwrap_or(token.current_time)),
    }
}

pub fn sha256_hex(raw: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        raw.as_bytes(),
    ))
}
