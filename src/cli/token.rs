//! `jwtd token …`: tokens issued by the operator.

use clap::Subcommand;
use serde_json::json;

use super::CliResult;
use super::user::find;
use crate::config::Settings;
use crate::state::State;
use crate::tokens::serializers;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Print a fresh refresh/access pair for a user as JSON (drf-jwt's obtain_token).
    Mint { name: String },
}

pub async fn run(command: TokenCommand, settings: Settings) -> CliResult {
    let state = State::build(settings).await?;
    let result = match command {
        TokenCommand::Mint { name } => {
            let user = find(&state.store, &name).await?;
            let pair = serializers::issue_pair(&state, &user)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", json!({"refresh": pair.refresh, "access": pair.access}));
            Ok(())
        }
    };
    state.store.close().await;
    result
}
