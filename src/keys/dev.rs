//! The development signing key: generated on first start when no `signing_key` is set,
//! kept under `data_dir` (mode 0600) so tokens survive restarts.

use super::alg_name;
use super::generate::{generate, write_private};
use std::path::{Path, PathBuf};

use crate::config::{ConfigError, KeySettings};

/// File name under `data_dir`; the algorithm is part of it so that changing `algorithm`
/// never picks up a key of the wrong kind.
pub const DEV_KEY_FILE: &str = "dev-signing-key";

fn path(settings: &KeySettings, data_dir: &Path) -> PathBuf {
    data_dir.join(format!("{DEV_KEY_FILE}.{}", alg_name(settings.algorithm)))
}

/// Whether the development key can be used, when it is to be: read where it is, or
/// written into `data_dir` if it is not there yet. What stands in the way is a matter of
/// the files (a `data_dir` this user cannot write), not of a setting, and is said so
/// before the key ring reports on the settings.
pub fn check_files(settings: &KeySettings, data_dir: &Path) -> Result<(), String> {
    if !settings.keys.is_empty() || settings.signing_key.is_some() {
        return Ok(());
    }
    let path = path(settings, data_dir);
    let shown = path.display();
    match std::fs::File::open(&path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::config::ensure_data_dir(data_dir)?;
            let dir = data_dir;
            // Created and removed: nothing is left behind when the check is all that runs.
            let probe = dir.join(format!(".{DEV_KEY_FILE}.{}.probe", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)
            {
                Ok(_) => {
                    let _ = std::fs::remove_file(&probe);
                    Ok(())
                }
                Err(e) => Err(format!(
                    "cannot write the development key {shown} (no signing_key is set): data_dir {} is not writable: {e}",
                    dir.display()
                )),
            }
        }
        Err(e) => Err(format!("cannot read the development key {shown}: {e}")),
    }
}

pub(super) fn load_or_create(settings: &KeySettings, data_dir: &Path) -> Result<String, ConfigError> {
    let alg = settings.algorithm;
    let path = path(settings, data_dir);
    let err = |e: String| ConfigError::key("signing_key", e);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            tracing::warn!(
                path = %path.display(),
                "no signing_key configured: signing with the development key kept in {}; \
                 set signing_key before running in production",
                path.display()
            );
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::config::ensure_data_dir(data_dir).map_err(err)?;
            let text = generate(alg).map_err(err)?;
            write_private(&path, &text).map_err(|e| {
                err(format!(
                    "cannot write the development key {}: {e}",
                    path.display()
                ))
            })?;
            tracing::warn!(
                path = %path.display(),
                "no signing_key configured: generated a development {} key in {}; \
                 set signing_key before running in production",
                alg_name(alg),
                path.display()
            );
            Ok(text)
        }
        Err(e) => Err(err(format!(
            "cannot read the development key {}: {e}",
            path.display()
        ))),
    }
}
