//! The standard endpoints API gateways and resource servers speak, beyond Simple JWT:
//! token revocation (RFC 7009) and token introspection (RFC 7662).

use serde_json::{Map, Value, json};

use super::audit::{self, Client};
use super::authentication::password_changed;
use super::error::AuthError;
use super::serializers::{
    claimed_id, decode, find_user, issued_to_holder, outstanding, sha256_hex, user_is_allowed,
};
use super::token::{Token, TokenType};
use crate::store::{EventType, Reason};
use crate::tokens::state::State;

/// Whether these credentials were checked before: no password check needed.
pub fn client_verified(state: &State, client_id: &str, secret: &str) -> bool {
    state.clients.is_verified(&client_key(client_id, secret))
}

/// What remembers checked credentials: never the secret itself.
fn client_key(client_id: &str, secret: &str) -> String {
    format!("{client_id}\0{}", sha256_hex(secret))
}

/// Checks HTTP Basic credentials of an introspection client. An unknown client id costs a
/// password check too (the answer's time tells no client id), unless no client is
/// configured: then there is nothing to tell and nothing is hashed.
pub async fn authenticate_client(state: &State, client_id: &str, secret: &str) -> Result<bool, AuthError> {
    let clients = &state.clients;
    if clients.is_empty() {
        return Ok(false);
    }
    let key = client_key(client_id, secret);
    if clients.is_verified(&key) {
        return Ok(true);
    }
    let verified = state
        .hasher
        .verify(secret, clients.secret_hash(client_id))
        .await?;
    if verified.matches {
        clients.remember(key);
    }
    Ok(verified.matches)
}

/// RFC 7009: revokes a token jwtd issued (any type); invalid or unknown tokens are ignored,
/// as the RFC asks. A refresh token's whole family (its login) is revoked with it, and so is
/// a drf-jwt token's login, under the key drf-jwt's endpoints look up.
pub async fn revoke(state: &State, raw: &str, client: &Client<'_>) -> Result<(), AuthError> {
    if state.settings.drf_jwt.drf_jwt_endpoints {
        super::drf_jwt::revoke(state, raw).await?;
    }
    let Ok(token) = decode(state, TokenType::Untyped, raw.as_bytes()).await else {
        return Ok(());
    };
    if token.jti(&state.settings.tokens).is_none() {
        return Ok(());
    }
    let record = outstanding(state, &token, claimed_id(state, &token));
    let mut event = audit::event(
        &state.settings.audit,
        client,
        EventType::TokenRevoked,
        None,
        super::serializers::session_of(&token),
    );
    event.user_id = record.user_id;
    let events = [event];
    if type_of(state, &token) == Some(TokenType::Refresh) {
        state.store.blacklist(&record, Reason::Revoke).await?;
        if let Some(b) = state.store.blacklisting(&record.jti).await? {
            state
                .store
                .blacklist_family_audited(&b.family, Reason::Revoke, &events)
                .await?;
            audit::written(Some(&state.audit_counts), &events);
        }
    } else if state
        .store
        .blacklist_audited(&record, Reason::Revoke, &events)
        .await?
    {
        audit::written(Some(&state.audit_counts), &events);
    }
    Ok(())
}

/// RFC 7662: whether jwtd would accept the token — signature, expiry, blacklist, user —
/// and, if so, its claims.
pub async fn introspect(state: &State, raw: &str) -> Result<Value, AuthError> {
    let inactive = json!({"active": false});
    let s = &state.settings.tokens;
    let Ok(token) = decode(state, TokenType::Untyped, raw.as_bytes()).await else {
        return Ok(inactive);
    };
    let Some(kind) = type_of(state, &token) else {
        return Ok(inactive);
    };
    let Some(jti) = token.jti(s) else {
        return Ok(inactive);
    };
    if state.store.is_blacklisted(jti).await? {
        return Ok(inactive);
    }
    let Some(claim) = token.get(&s.user_id_claim) else {
        return Ok(inactive);
    };
    let Some(user) = find_user(state, claim).await? else {
        return Ok(inactive);
    };
    if !user_is_allowed(state, &user) || !issued_to_holder(&user, token.get("iat")) {
        return Ok(inactive);
    }
    if password_changed(s, kind, &token, &user) {
        return Ok(inactive);
    }
    let mut answer = Map::new();
    answer.insert("active".into(), true.into());
    answer.insert("token_type".into(), kind.name().into());
    for claim in ["exp", "iat", "nbf", "aud", "iss"] {
        if let Some(v) = token.get(claim) {
            answer.insert(claim.into(), v.clone());
        }
    }
    answer.insert("jti".into(), jti.into());
    answer.insert("sub".into(), user.id.to_string().into());
    answer.insert(s.user_id_claim.clone(), claim.clone());
    answer.insert("username".into(), user.username.into());
    Ok(Value::Object(answer))
}

/// The token's class by its type claim (access when the type claim is switched off).
fn type_of(state: &State, token: &Token) -> Option<TokenType> {
    let Some(claim) = state.settings.tokens.token_type_claim() else {
        return Some(TokenType::Access);
    };
    match token.get(claim)?.as_str()? {
        "access" => Some(TokenType::Access),
        "refresh" => Some(TokenType::Refresh),
        "sliding" => Some(TokenType::Sliding),
        _ => None,
    }
}
