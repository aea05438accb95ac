//! `funnel migrate --from A --to B`: a whole database copied between a SQLite file and a
//! PostgreSQL database (either way), verified table by table before it is kept.

use crate::store::migrate;
use crate::store::postgres::Target;
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};

pub use crate::store::migrate::{Report, TableCopy};

/// One end of a migration.
#[derive(Debug, Clone)]
pub enum Place {
    File(PathBuf),
    Server(Target),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::File(p) => write!(f, "{}", p.display()),
            Place::Server(t) => write!(f, "{t}"),
        }
    }
}

/// Whether `text` names a PostgreSQL database (`postgres://…`) rather than a file.
pub fn is_url(text: &str) -> bool {
    Target::is_url(text)
}

/// A `postgres://` URL, with the password from the URL, `PGPASSWORD` or the password file.
pub fn server(url: &str) -> Result<Target, String> {
    let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
    Target::parse(url, &|k| std::env::var(k).ok(), home.as_deref()).map_err(|e| e.to_string())
}

/// A URL with any password in it replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    crate::store::postgres::config::redact(url)
}

/// A file path or a `postgres://` URL.
pub fn place(text: &str) -> Result<Place, String> {
    if is_url(text) {
        return server(text).map(Place::Server);
    }
    if text.trim().is_empty() {
        return Err("an empty path".into());
    }
    Ok(Place::File(PathBuf::from(text)))
}

/// Copies `from` into `to`. One end must be a SQLite file and the other a PostgreSQL
/// database; the receiving one must be empty. `progress` hears each table as it is done.
pub fn run(
    from: &Place,
    to: &Place,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Report, StoreError> {
    match (from, to) {
        (Place::File(src), Place::Server(dst)) => {
            if std::fs::symlink_metadata(src).is_err() {
                return Err(StoreError::Invalid(format!(
                    "{}: no such database",
                    src.display()
                )));
            }
            let store = Store::open(src)?;
            migrate::sqlite_to_postgres(&store, dst, progress)
        }
        (Place::Server(src), Place::File(dst)) => into_file(src, dst, progress),
        (Place::File(_), Place::File(_)) => Err(StoreError::Invalid(
            "both ends are SQLite files: `funnel backup FILE` makes a verified copy of a file"
                .into(),
        )),
        (Place::Server(_), Place::Server(_)) => Err(StoreError::Invalid(
            "both ends are PostgreSQL databases: copy between servers with pg_dump and pg_restore"
                .into(),
        )),
    }
}

/// Into a SQLite file: a new one (removed again if the copy fails) or an empty one.
fn into_file(
    src: &Target,
    dst: &Path,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Report, StoreError> {
    let existed = std::fs::symlink_metadata(dst).is_ok();
    let result = Store::open(dst).and_then(|mut store| {
        let r = migrate::postgres_to_sqlite(src, &mut store, progress);
        drop(store);
        r
    });
    if result.is_err() && !existed {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = dst.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    result
}
