//! `jwtd key generate`: a new signing key and the settings that put it in the ring.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::CliResult;
use crate::config::Settings;
use crate::keys;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Write a new private key (mode 0600) and print the settings that use it.
    Generate {
        /// HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Folder for the key file (default: data_dir).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

pub fn run(command: KeyCommand, settings: &Settings) -> CliResult {
    match command {
        KeyCommand::Generate { alg, out } => {
            let alg: jsonwebtoken::Algorithm = alg
                .parse()
                .map_err(|_| format!("unknown algorithm {alg:?}; see `jwtd key generate --help`"))?;
            let dir = out.unwrap_or_else(|| settings.database.data_dir.clone());
            std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let text = keys::generate(alg)?;
            let kid = match keys::thumbprint_of(alg, &text).map_err(|e| e.to_string())? {
                Some(thumbprint) => thumbprint,
                // An HMAC secret has no public half to name it by: a random name.
                None => format!(
                    "{}-{}",
                    keys::alg_name(alg).to_ascii_lowercase(),
                    &keys::generate(alg)?[..12]
                ),
            };
            let extension = if keys::is_hmac(alg) { "key" } else { "pem" };
            let path = dir.join(format!("{}-{kid}.{extension}", keys::alg_name(alg)));
            keys::write_private(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let absolute = absolute(&path);
            let name = keys::alg_name(alg);
            println!("wrote {} (mode 0600)", absolute.display());
            println!();
            if keys::is_hmac(alg) {
                println!("To sign with this secret (tokens carry no kid):");
            } else {
                println!("To sign with this key alone (its kid: {kid}):");
            }
            println!("JWTD__ALGORITHM={name}");
            println!("JWTD__SIGNING_KEY=file:{}", absolute.display());
            if !keys::is_hmac(alg) {
                // keys_dir names each key by its file.
                let folder = absolute.parent().unwrap_or(&absolute);
                println!();
                println!(
                    "Or to use every key in {}, the newest signing (this one's kid: {name}-{kid}):",
                    folder.display()
                );
                println!("JWTD__KEYS_DIR={}", folder.display());
            }
            Ok(())
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
