//! The `jwtd` command: the server and the operator's commands.

mod audit;
mod health;
mod import_django;
mod key;
mod logging;
mod token;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{Settings, Sources};
use crate::http::HttpState;
use crate::tokens::state::{self, StartError, State};

#[derive(Parser)]
#[command(
    name = "jwtd",
    version,
    about = "A JSON Web Token service speaking Simple JWT's protocol"
)]
struct Cli {
    /// Settings file, read after the built-in defaults and before JWTD__* variables.
    #[arg(long, global = true, env = "JWTD_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (what `jwtd` alone does).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Issue, revoke and clean up tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Security events, newest first, as JSON lines.
    Events(audit::EventsArgs),
    /// Revoke sessions.
    #[command(subcommand)]
    Session(audit::SessionCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Ask the running server whether it is ready (GET /readyz); exit 0 if so. For
    /// container health checks: the image needs no curl.
    Healthcheck {
        /// The URL to ask; default: /readyz on the configured bind address.
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the argon2id hash of a secret, e.g. for an introspection client's secret_hash.
    HashPassword {
        #[command(flatten)]
        password: user::PasswordArgs,
    },
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// The address to listen on, HOST:PORT (e.g. 0.0.0.0:8000); instead of the `bind`
    /// setting (JWTD__BIND).
    #[arg(long, value_name = "HOST:PORT")]
    bind: Option<String>,
}

/// A command's failure: printed as one line, exit status 1.
pub type CliResult = Result<(), String>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let variables = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().unwrap_or_default())));
    for warning in crate::config::stray_variables(variables) {
        eprintln!("jwtd: {warning}");
    }
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    let sources = Sources::standard(cli.config.clone());
    let loaded = Settings::load(&sources).and_then(|mut settings| {
        if let Command::Serve(ServeArgs { bind: Some(bind) }) = &command {
            settings.server.bind = bind.clone();
            settings.server.validate()?;
        }
        Ok(settings)
    });
    let settings = match loaded {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jwtd: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(&settings);
    let files: Vec<String> = sources
        .files_read()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let files = if files.is_empty() {
        "no configuration file read (built-in defaults and JWTD__* variables)".to_string()
    } else {
        format!("configuration read from {}", files.join(", "))
    };
    if matches!(command, Command::Serve(_)) {
        tracing::info!("{files}");
    } else {
        tracing::debug!("{files}");
    }
    let result = match command {
        Command::Serve(_) => actix_web::rt::System::new().block_on(serve(settings)),
        Command::Key(c) => key::run(c, &settings),
        Command::Healthcheck { url } => health::check(url.as_deref(), &settings),
        command => runtime().block_on(async move {
            match command {
                Command::Serve(_) | Command::Key(_) | Command::Healthcheck { .. } => {
                    unreachable!("handled above")
                }
                Command::Migrate => migrate(settings).await,
                Command::User(c) => user::run(c, settings).await,
                Command::Token(c) => token::run(c, settings).await,
                Command::Events(args) => audit::events(args, settings).await,
                Command::Session(c) => audit::session(c, settings).await,
                Command::HashPassword { password } => {
                    let hash = crate::passwords::PasswordHasher::new(1)
                        .hash(&password.read()?)
                        .await;
                    println!("{}", hash.map_err(|e| e.to_string())?);
                    Ok(())
                }
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("jwtd: {message}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

async fn serve(settings: Settings) -> CliResult {
    let workers = settings.server.worker_count();
    let bind = settings.server.bind.clone();
    // A container may start before its database: wait a minute for it.
    let state = State::build_waiting(settings, std::time::Duration::from_secs(60))
        .await
        .map_err(|e| e.to_string())?;
    describe_database(&state);
    let listener = std::net::TcpListener::bind(&bind).map_err(|e| {
        format!(
            "cannot listen on {bind}: {e}; choose another address with the bind setting \
             (JWTD__BIND=HOST:PORT, or jwtd serve --bind HOST:PORT)"
        )
    })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let http = Arc::new(HttpState::new(state));
    let server = crate::http::server(http.clone(), listener, workers)
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let metrics_server = match (
        &http.app.settings.server.metrics,
        &http.app.settings.server.metrics_bind,
    ) {
        (true, Some(metrics_bind)) => {
            let listener = std::net::TcpListener::bind(metrics_bind)
                .map_err(|e| format!("cannot listen on {metrics_bind} (metrics_bind): {e}"))?;
            tracing::info!(
                "metrics on http://{}/metrics",
                listener.local_addr().map_err(|e| e.to_string())?
            );
            let metrics = crate::http::metrics_server(http.clone(), listener).map_err(|e| e.to_string())?;
            let handle = metrics.handle();
            actix_web::rt::spawn(metrics);
            Some(handle)
        }
        _ => None,
    };
    if let Some(every) = http.app.settings.tokens.flush_expired_interval {
        let http = http.clone();
        actix_web::rt::spawn(async move { http.app.flush_expired_periodically(every.0).await });
    }
    // AWS-LC sets up its random generator on first use (salts, CSRF tokens, ECDSA and RSA
    // signatures): done on a thread of its own beside start-up, not in the first request
    // that needs it.
    std::thread::spawn(|| {
        let mut byte = [0u8; 1];
        let _ = aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut byte);
    });
    {
        // What imported Django hashes cost, before the first login needs it (failure_floor).
        let http = http.clone();
        actix_web::rt::spawn(async move { http.app.learn_legacy_hash_costs().await });
    }
    {
        let hasher = http.app.hasher.clone();
        actix_web::rt::spawn(async move {
            let mut ticks = tokio::time::interval(crate::passwords::BUFFER_IDLE);
            loop {
                ticks.tick().await;
                hasher.release_idle(crate::passwords::BUFFER_IDLE);
            }
        });
    }
    tracing::info!(%addr, workers, "jwtd listening on http://{addr}");
    // SIGTERM and SIGINT stop the server gracefully: no new connections, requests in flight
    // finish (within shutdown_timeout); then the pool is closed.
    let result = server.await.map_err(|e| format!("server error: {e}"));
    if let Some(handle) = metrics_server {
        handle.stop(true).await;
    }
    http.app.store.close().await;
    tracing::info!("jwtd stopped");
    result
}

/// One line that says which database is in use, without its password.
fn describe_database(state: &State) {
    let s = &state.settings.database;
    if s.uses_default_database() {
        tracing::info!(
            path = %s.data_path("jwtd.db").display(),
            "using the embedded SQLite database {} (migrations applied); set database_url to use Postgres",
            s.data_path("jwtd.db").display()
        );
    } else {
        tracing::info!(
            database = state.store.kind(),
            "using the configured {} database (migrations applied)",
            state.store.kind()
        );
    }
}

async fn migrate(settings: Settings) -> CliResult {
    let store = open_store(&settings).await?;
    println!("migrations applied ({})", store.kind());
    store.close().await;
    Ok(())
}

/// Connects and migrates, for the commands that need only the database.
async fn open_store(settings: &Settings) -> Result<crate::store::Database, String> {
    let store = state::connect(settings).await.map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}

impl From<StartError> for String {
    fn from(e: StartError) -> Self {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `jwtd COMMAND --help` explains every argument.
    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.get_help().is_none() && !["help", "version"].contains(&id) {
                    missing.push(format!("{path}: {id}"));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
        let mint = super::Cli::command()
            .find_subcommand("token")
            .and_then(|t| t.find_subcommand("mint"))
            .map(|m| m.get_about().map(|a| a.to_string()).unwrap_or_default())
            .unwrap();
        assert!(
            mint.contains("refresh") && mint.contains("access") && mint.contains("JSON"),
            "{mint}"
        );
    }
}
