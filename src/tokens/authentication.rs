//! Simple JWT's `JWTAuthentication`: the token from the authorization header, validated
//! against each configured token class, then the user it names. `/api/me/` uses it, and it
//! is the reference for how downstream services authenticate.

use super::error::AuthError;
use super::now_f64;
use super::serializers::{check_blacklist, find_user, issued_to_holder};
use super::token::{Token, TokenType, password_fingerprint};
use crate::config::TokenSettings;
use crate::store::User;
use crate::tokens::state::State;
use serde_json::Value;

/// Python's `bytes.split()` whitespace.
fn is_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `get_raw_token`: `None` when the header carries no credentials for us (empty, or another
/// scheme), the token when it is `<type> <token>`, an error for any other shape.
pub fn raw_token<'a>(state: &State, header: &'a [u8]) -> Result<Option<&'a [u8]>, AuthError> {
    let mut parts = header.split(is_space).filter(|p| !p.is_empty());
    let Some(scheme) = parts.next() else {
        return Ok(None);
    };
    if !state
        .settings
        .tokens
        .auth_header_types
        .iter()
        .any(|t| t.as_bytes() == scheme)
    {
        return Ok(None);
    }
    match (parts.next(), parts.next()) {
        (Some(token), None) => Ok(Some(token)),
        _ => Err(AuthError::BadAuthorizationHeader),
    }
}

/// `get_validated_token`: the first configured class that accepts the token wins; if none
/// does, the error lists each class's reason.
///
/// Unlike Simple JWT, access tokens are checked against the blacklist too: jwtd revokes
/// them (RFC 7009, `jwtd token revoke`), and its own endpoints must then refuse them. The
/// check is the store's cached "not blacklisted" answer (`database_cache_ttl`): a revocation
/// through this instance is seen at once, one through another instance or the CLI within
/// that TTL.
pub async fn validated_token(state: &State, raw: &[u8]) -> Result<Token, AuthError> {
    let s = &state.settings.tokens;
    let now = now_f64();
    let decoded = state.backend.decode(raw, now).await;
    let mut messages = Vec::with_capacity(s.auth_token_classes.len());
    for &class in &s.auth_token_classes {
        let kind = TokenType::from(class);
        let result = decoded.clone().and_then(|payload| {
            let token = Token {
                kind,
                payload,
                current_time: now as i64,
            };
            token.verify(s, state.backend.leeway()).map(|()| token)
        });
        match result {
            Ok(token) => match check_blacklist(state, &token).await {
                Ok(()) => return Ok(token),
                Err(AuthError::InvalidToken(e)) => messages.push((class, e)),
                Err(other) => return Err(other),
            },
            Err(e) => messages.push((class, e)),
        }
    }
    Err(AuthError::NoValidTokenType(messages))
}

/// `get_user`: the user named by the token, active (unless `check_user_is_active` is off)
/// and, with `check_revoke_token`, with the password the token was issued under.
pub async fn user_for_token(state: &State, token: &Token) -> Result<User, AuthError> {
    let s = &state.settings.tokens;
    let claim = token
        .get(&s.user_id_claim)
        .ok_or(AuthError::NoUserIdentification)?;
    let user = find_user(state, claim)
        .await?
        .filter(|user| issued_to_holder(user, token.get("iat")))
        .ok_or(AuthError::UserNotFound)?;
    if s.check_user_is_active && !user.is_active {
        return Err(AuthError::UserInactive);
    }
    if password_changed(s, token.kind, token, &user) {
        return Err(AuthError::PasswordChanged);
    }
    Ok(user)
}

/// `CHECK_REVOKE_TOKEN`: whether the user's password changed since `token` was issued — its
/// `revoke_token_claim` is not the fingerprint of the stored hash. Always false with the
/// setting off.
///
/// `kind` is the class the token is used as. Refresh tokens are exempt: Simple JWT checks
/// the claim only where a token authenticates a request (`get_user`, which sees access and
/// sliding tokens), never in `TokenRefreshSerializer`, and jwtd's refresh does the same, so
/// introspection — which tells whether jwtd would accept the token — must not refuse a
/// refresh token for it either. (A password change reaches refresh tokens by the blacklist.)
pub fn password_changed(s: &TokenSettings, kind: TokenType, token: &Token, user: &User) -> bool {
    s.check_revoke_token
        && kind != TokenType::Refresh
        && token.get(&s.revoke_token_claim).and_then(Value::as_str)
            != Some(password_fingerprint(&user.password).as_str())
}

/// `authenticate`: `Ok(None)` when the request carries no credentials for us.
pub async fn authenticate(state: &State, header: Option<&[u8]>) -> Result<Option<(User, Token)>, AuthError> {
    let Some(header) = header else { return Ok(None) };
    let Some(raw) = raw_token(state, header)? else {
        return Ok(None);
    };
    authenticate_token(state, raw).await.map(Some)
}

/// A raw token, from wherever the request carried it: validated, then its user.
pub async fn authenticate_token(state: &State, raw: &[u8]) -> Result<(User, Token), AuthError> {
    let token = validated_token(state, raw).await?;
    let user = user_for_token(state, &token).await?;
    Ok((user, token))
}
