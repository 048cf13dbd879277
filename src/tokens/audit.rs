//! The audit trail's rules: what a security event records about the request (`Client`),
//! the one log line each event also becomes (`target: "jwtd::audit"`), and the counts by
//! type that `/metrics` shows. The events are written by the store, in the transaction of
//! the change they record; these functions run once that write returned.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::AuditSettings;
use crate::store::{EventType, NewEvent, NewSession, OutstandingToken, User};

/// What a request tells about its client, handed from the views to the rules: the client
/// address as the login throttle determines it (`trusted_proxies` honoured) and the
/// `User-Agent` header. Borrowed from the request: nothing is copied unless it is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Client<'a> {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
}

impl Client<'_> {
    /// No request: the CLI.
    pub const NONE: Client<'static> = Client {
        ip: None,
        user_agent: None,
    };

    /// The address and user agent to keep, as `session_metadata` allows.
    pub fn kept(&self, s: &AuditSettings) -> (Option<String>, Option<String>) {
        if !s.session_metadata {
            return (None, None);
        }
        (
            self.ip.map(|ip| ip.to_string()),
            self.user_agent.map(str::to_owned),
        )
    }

    /// An event of `kind` now, with this client's metadata as `session_metadata` allows.
    pub fn event(&self, s: &AuditSettings, kind: EventType) -> NewEvent {
        let (ip_address, user_agent) = self.kept(s);
        NewEvent {
            ip_address,
            user_agent,
            ..NewEvent::new(kind)
        }
    }
}

/// An event of `kind` about `user` with `session`, for a client.
pub fn event(
    s: &AuditSettings,
    client: &Client,
    kind: EventType,
    user: Option<&User>,
    session: Option<&str>,
) -> NewEvent {
    let mut e = client.event(s, kind);
    if let Some(user) = user {
        e = e.user(user);
    }
    e.session = session.map(str::to_owned);
    e
}

/// What a login records beside its first token `record`: the session it starts (with the
/// client's metadata, as `session_metadata` allows) and its `login_succeeded` event.
pub fn login(
    s: &AuditSettings,
    client: &Client,
    user: &User,
    record: &OutstandingToken,
) -> (NewSession, [NewEvent; 1]) {
    let (ip_address, user_agent) = client.kept(s);
    let session = NewSession {
        user_id: user.id,
        created_at: record.created_at,
        expires_at: record.expires_at,
        user_agent,
        ip_address,
    };
    let events = [event(
        s,
        client,
        EventType::LoginSucceeded,
        Some(user),
        record.family.as_deref(),
    )];
    (session, events)
}

/// Events written, by type, since start (`jwtd_audit_events_total`).
pub struct AuditCounts([AtomicU64; EventType::ALL.len()]);

impl Default for AuditCounts {
    fn default() -> Self {
        AuditCounts(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl AuditCounts {
    fn slot(kind: EventType) -> usize {
        EventType::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("every type is in ALL")
    }

    /// Each type with its count.
    pub fn each(&self) -> impl Iterator<Item = (EventType, u64)> + '_ {
        EventType::ALL
            .into_iter()
            .map(|k| (k, self.0[Self::slot(k)].load(Ordering::Relaxed)))
    }
}

/// Events the store has written: each becomes one log line and is counted (when `counts`
/// is given: the server; the CLI has no metrics).
pub fn written(counts: Option<&AuditCounts>, events: &[NewEvent]) {
    for e in events {
        tracing::info!(
            target: "jwtd::audit",
            r#type = e.kind.as_str(),
            user = e.user_id,
            username = e.username.as_deref(),
            actor = e.actor_id,
            ip = e.ip_address.as_deref(),
            session = e.session.as_deref(),
            "security event"
        );
        if let Some(counts) = counts {
            counts.0[AuditCounts::slot(e.kind)].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Writes an event that goes with no other change (a failed login, a lock, a refresh), then
/// logs and counts it. A failure to write is logged, not answered: the request it records
/// has its own outcome.
pub async fn record(state: &super::state::State, event: NewEvent) {
    match state.store.record_event(&event).await {
        Ok(()) => written(Some(&state.audit_counts), std::slice::from_ref(&event)),
        Err(e) => {
            tracing::warn!(error = %e, r#type = event.kind.as_str(), "could not record a security event")
        }
    }
}
