//! Encryption at rest: SQLCipher (AES-256 pages with an HMAC each, the key stretched with
//! PBKDF2), built into the binary. A database is either plain SQLite or encrypted whole;
//! the key comes from the front end (an environment variable, a key file or a prompt) and
//! is held for the process, since every connection to the file (the TUI's worker, a backup's
//! check) needs it. Converting a file between the two is `Store::convert`.

use super::db::{Result, StoreError};
use rusqlite::Connection;
use std::path::Path;
use std::sync::OnceLock;

static KEY: OnceLock<String> = OnceLock::new();

/// Sets the key for every database this process opens. An empty key is refused; a second
/// call keeps the first key.
pub fn set_key(key: String) -> std::result::Result<(), String> {
    if key.is_empty() {
        return Err("the encryption key is empty".into());
    }
    let _ = KEY.set(key);
    Ok(())
}

/// The key set for this process, if any.
pub fn key() -> Option<&'static str> {
    KEY.get().map(String::as_str)
}

/// Whether the file starts like an encrypted database: SQLCipher leaves no plain header,
/// the first 16 bytes are a random salt. A file that starts with text (a CSV given by
/// mistake) is not taken for one: 16 random bytes are all printable once in ten million.
pub fn looks_encrypted(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)) {
        Ok(()) => {
            &head != b"SQLite format 3\0"
                && !head
                    .iter()
                    .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        }
        Err(_) => false,
    }
}

/// Gives a freshly opened connection the key it needs, before its first read. `created`:
/// the file was just made empty by funnel, so a key given makes it an encrypted database.
pub(crate) fn unlock(conn: &Connection, path: &Path, created: bool) -> Result<()> {
    let encrypted = looks_encrypted(path);
    match key() {
        Some(k) if encrypted || created => apply_key(conn, k),
        Some(_) => Err(StoreError::Invalid(format!(
            "{}: this database is not encrypted, but a key was given (FUNNEL_KEY, FUNNEL_KEY_FILE or --key-file); \
             `funnel encrypt` encrypts it, or open it without a key",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// Keys a connection (before its first read).
pub(crate) fn apply_key(conn: &Connection, key: &str) -> Result<()> {
    conn.pragma_update(None, "key", key)?;
    // The key starts SQLCipher, which then logs to stderr (a wrong key gives three lines
    // of its own before funnel's message): quiet, after the key, or the start undoes it.
    conn.execute_batch("PRAGMA cipher_log_level = NONE")?;
    Ok(())
}

/// The message for a file SQLite cannot read as a database: with a key, the key is wrong
/// (or it is not a database); without one, it may be encrypted.
pub(crate) fn unreadable(path: &Path) -> StoreError {
    let why = if key().is_some() {
        "cannot be read with the key given: the key is wrong, or this is not a funnel database"
    } else if looks_encrypted(path) {
        "not a SQLite database, or an encrypted one: give its key with FUNNEL_KEY, FUNNEL_KEY_FILE or --key-file"
    } else {
        return StoreError::NotSqlite(path.to_path_buf());
    };
    StoreError::Invalid(format!("{}: {why}", path.display()))
}

/// Reads a key file: the first line, which must not be empty, from a file no one else
/// can read.
pub fn read_key_file(path: &Path) -> std::result::Result<String, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{}: the key file can be read by others (mode {:o}); `chmod 600` it first",
                path.display(),
                meta.permissions().mode() & 0o777
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if key.is_empty() {
        return Err(format!(
            "{}: the key file's first line is empty",
            path.display()
        ));
    }
    Ok(key.to_string())
}
