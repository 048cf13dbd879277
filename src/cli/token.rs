//! `jwtd token …`: tokens issued, revoked and cleaned up by the operator.

use clap::Subcommand;
use serde_json::json;

use super::user::find;
use super::{CliResult, open_store};
use crate::config::Settings;
use crate::store::{EventType, NewEvent, Reason};
use crate::tokens::audit::written;
use crate::tokens::serializers;
use crate::tokens::state::State;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a new refresh and access token for a user, without the password, and print
    /// them on standard output as JSON, as POST /api/token/ answers:
    /// {"refresh": "…", "access": "…"}.
    Mint {
        /// The username.
        name: String,
    },
    /// Blacklist every outstanding refresh and sliding token of a user (log out everywhere).
    Revoke {
        /// The username.
        name: String,
    },
    /// Blacklist one outstanding token by its jti.
    Blacklist {
        /// The token's id (its jti claim).
        jti: String,
    },
    /// Delete expired outstanding tokens and their blacklist rows (flushexpiredtokens), ended
    /// sessions, security events past audit_retention and expired login throttle counters,
    /// in batches of flush_batch_size rows; print the counts and the time taken.
    FlushExpired,
}

pub async fn run(command: TokenCommand, settings: Settings) -> CliResult {
    if let TokenCommand::Mint { name } = &command {
        let state = State::build(settings).await?;
        let result = async {
            let user = find(&state.store, name).await?;
            let pair = serializers::issue_pair(&state, &user, &crate::tokens::audit::Client::NONE)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", json!({"refresh": pair.refresh, "access": pair.access}));
            Ok(())
        }
        .await;
        state.store.close().await;
        return result;
    }
    let store = open_store(&settings).await?;
    let result = async {
        match command {
            TokenCommand::Mint { .. } => unreachable!("handled above"),
            TokenCommand::Revoke { name } => {
                let user = find(&store, &name).await?;
                // Every session of the user goes with its tokens.
                let events = [NewEvent::new(EventType::TokenRevoked).user(&user)];
                let n = store
                    .revoke_all_sessions(user.id, Reason::Revoke, &events)
                    .await
                    .map_err(|e| e.to_string())?
                    .tokens;
                written(None, &events);
                println!("blacklisted {n} outstanding token(s) of {name}");
            }
            TokenCommand::Blacklist { jti } => match store
                .blacklist_jti_audited(&jti, Reason::Revoke, &[NewEvent::new(EventType::TokenRevoked)])
                .await
            {
                Ok(Some(true)) => {
                    written(None, &[NewEvent::new(EventType::TokenRevoked)]);
                    println!("blacklisted {jti}")
                }
                Ok(Some(false)) => println!("{jti} was already blacklisted"),
                Ok(None) => return Err(format!("no outstanding token with jti {jti:?}")),
                Err(e) => return Err(e.to_string()),
            },
            TokenCommand::FlushExpired => {
                let flushed = crate::tokens::housekeeping::flush(&store, &settings)
                    .await
                    .map_err(|e| e.to_string())?;
                flushed.log();
                println!(
                    "deleted {} expired outstanding token(s) ({} blacklisted), {} ended session(s), \
                     {} security event(s) older than audit_retention, {} expired login throttle counter(s) \
                     in {} batch(es), {:.3} s",
                    flushed.tokens,
                    flushed.blacklisted,
                    flushed.sessions,
                    flushed.events,
                    flushed.throttle_counters,
                    flushed.batches,
                    flushed.elapsed.as_secs_f64()
                );
            }
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
