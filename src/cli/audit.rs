//! `jwtd events` and `jwtd session …`: the audit trail and sessions, for the operator.

use clap::Subcommand;

use super::user::find;
use super::{CliResult, open_store};
use crate::config::Settings;
use crate::http::schema::EventBody;
use crate::store::{EventFilter, EventType, NewEvent, Page, Reason};
use crate::tokens::audit::written;

/// `jwtd events`: the security events, newest first, one JSON object a line (the shape of
/// `GET /api/me/events/`'s results), for `jq` and log tools.
#[derive(clap::Args)]
pub struct EventsArgs {
    /// Only the events about this user.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// Only events of this type (login_succeeded, login_failed, …).
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    /// Only the events of this last while, e.g. 1h, 30m, 7d.
    #[arg(long, value_name = "DURATION")]
    since: Option<String>,
    /// At most this many events.
    #[arg(long, default_value_t = 100)]
    limit: i64,
}

#[derive(Subcommand)]
pub enum SessionCommand {
    /// Revoke a session (a login and everything refreshed from it): its tokens are
    /// blacklisted, and its access tokens refused by jwtd (within database_cache_ttl).
    Revoke {
        /// The session's id (`jwtd user sessions NAME` lists them; the tokens' `sid`).
        id: String,
    },
}

pub async fn events(args: EventsArgs, settings: Settings) -> CliResult {
    let kind = match args.kind.as_deref() {
        None => None,
        Some(t) => Some(EventType::parse(t).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown event type {t:?}: one of {}", known.join(", "))
        })?),
    };
    let since = match args.since.as_deref() {
        None => None,
        Some(text) => {
            let ago = crate::config::parse_duration(text)?;
            Some(crate::store::now() - ago.0)
        }
    };
    let store = open_store(&settings).await?;
    let result = async {
        let user_id = match &args.user {
            Some(name) => Some(find(&store, name).await?.id),
            None => None,
        };
        let filter = EventFilter {
            user_id,
            kind,
            since,
            until: None,
        };
        let page = Page {
            offset: 0,
            limit: args.limit.max(0),
        };
        let (events, _) = store.events(&filter, page).await.map_err(|e| e.to_string())?;
        for e in events {
            let line = serde_json::to_string(&EventBody::from(e)).map_err(|e| e.to_string())?;
            println!("{line}");
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}

pub async fn session(command: SessionCommand, settings: Settings) -> CliResult {
    let store = open_store(&settings).await?;
    let result = async {
        match command {
            SessionCommand::Revoke { id } => {
                let Some(session) = store.session(&id).await.map_err(|e| e.to_string())? else {
                    return Err(format!("no active session {id:?}"));
                };
                let mut event = NewEvent::new(EventType::SessionRevoked);
                event.user_id = session.user_id;
                event.session = Some(id.clone());
                let events = [event];
                let revoked = store
                    .revoke_session(&id, None, Reason::Revoke, &events)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no active session {id:?}"))?;
                written(None, &events);
                println!("revoked session {id}; {} token(s) blacklisted", revoked.tokens);
            }
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
