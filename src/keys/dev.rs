//! The development signing key: generated on first start when no `signing_key` is set,
//! kept under `data_dir` (mode 0600) so tokens survive restarts.

use super::alg_name;
use super::generate::{generate, write_private};
use crate::config::{ConfigError, Settings};

/// File name under `data_dir`; the algorithm is part of it so that changing `algorithm`
/// never picks up a key of the wrong kind.
pub const DEV_KEY_FILE: &str = "dev-signing-key";

pub(super) fn load_or_create(settings: &Settings) -> Result<String, ConfigError> {
    let alg = settings.algorithm;
    let path = settings.data_path(&format!("{DEV_KEY_FILE}.{}", alg_name(alg)));
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
            crate::config::ensure_data_dir(settings).map_err(err)?;
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
