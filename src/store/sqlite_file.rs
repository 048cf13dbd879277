//! The SQLite file: created owner-only, and named, with what keeps it from being used, in
//! the errors SQLite gives without a file name.

use std::path::Path;

use super::{Result, StoreError};

/// Whether the URL names a file that may be created: not an in-memory or read-only one.
pub(super) fn creates_file(url: &str) -> bool {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    !url.contains(":memory:")
        && !query
            .split('&')
            .any(|p| matches!(p, "mode=memory" | "mode=ro" | "immutable=true" | "immutable=1"))
}

/// The database holds password hashes and e-mail addresses: its folder (when jwtd creates
/// it) is the owner's alone, and the file is created owner-only before SQLite opens it —
/// SQLite would create it under the umask (0644 with the usual 022), and it gives the
/// `-wal` and `-shm` files the database file's permissions. Existing files keep theirs.
pub(super) fn create_owner_only(file: &Path) -> Result<()> {
    let cannot =
        |path: &Path, e: std::io::Error| StoreError::Other(format!("cannot create {}: {e}", path.display()));
    if let Some(dir) = file.parent()
        && !dir.as_os_str().is_empty()
        && !dir.is_dir()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| cannot(dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            warn_if_others_may_read(file);
            Ok(())
        }
        // The same words as for an existing file that cannot be written: the path and the
        // cause, whichever of the two steps finds it.
        Err(e) => Err(check_sqlite_file(file).err().unwrap_or_else(|| cannot(file, e))),
    }
}

/// A database made by an earlier version (or by hand) may be readable by others: said once
/// at start-up, since changing an operator's permissions could lock out their backups.
fn warn_if_others_may_read(file: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(file) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %file.display(),
                mode = format!("{mode:o}"),
                "the SQLite database is readable by other users; chmod 600 it (and its -wal and -shm files)"
            );
        }
    }
}

/// SQLite's errors name no file ("unable to open database file", "attempt to write a
/// readonly database"): this names the file, and what keeps it from being used.
pub(super) fn sqlite_error(path: &Path, error: StoreError) -> StoreError {
    let shown = path.display();
    match (sqlite_file_problem(path), error) {
        (Some(problem), _) => StoreError::Other(format!("SQLite database {shown}: {problem}")),
        (None, StoreError::Other(m)) => StoreError::Other(format!("SQLite database {shown}: {m}")),
        (None, StoreError::Unavailable(m)) => {
            StoreError::Unavailable(format!("SQLite database {shown}: {m}"))
        }
        (None, conflict) => conflict,
    }
}

/// Checked before the database is opened: a read-only file opens fine and fails only at
/// the first write, without naming itself.
pub(super) fn check_sqlite_file(path: &Path) -> Result<()> {
    match sqlite_file_problem(path) {
        Some(problem) => Err(StoreError::Other(format!(
            "SQLite database {}: {problem}",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// What keeps SQLite from writing the file: the file itself, or its directory, where it
/// keeps its write-ahead log and shared-memory files.
fn sqlite_file_problem(path: &Path) -> Option<String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Err(e) = writable_dir(dir) {
        return Some(format!(
            "cannot create files in its directory {}: {e}",
            dir.display()
        ));
    }
    match std::fs::OpenOptions::new().write(true).open(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Some(format!("the file cannot be written: {e}"))
        }
        _ => None,
    }
}

fn writable_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: a NUL-terminated path that access() only reads.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
