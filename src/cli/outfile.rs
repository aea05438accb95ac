//! Files the CLI writes with `-o`: never onto the database (or its WAL and shared-memory
//! files), never through a symlink, never over an existing file without `--force`; written
//! to a temporary file beside the target with mode 0600 and renamed into place only when
//! complete, so a full disk or a crash leaves no partial file behind.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a path may not be written.
fn refuse(path: &Path, why: &str) -> anyhow::Error {
    anyhow::anyhow!("{}: {why}", path.display())
}

/// The path with its directory made absolute and symlinks in the directory resolved (the
/// file itself may not exist yet).
fn resolved(path: &Path) -> io::Result<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.canonicalize()?,
        _ => std::env::current_dir()?,
    };
    Ok(dir.join(path.file_name().unwrap_or_default()))
}

/// A file being written; `commit` puts it in place.
pub struct OutFile {
    tmp: PathBuf,
    target: PathBuf,
    file: Option<io::BufWriter<File>>,
}

impl OutFile {
    pub fn create(path: &Path, database: &Path, force: bool) -> anyhow::Result<OutFile> {
        if path.file_name().is_none() {
            return Err(refuse(path, "not a file name"));
        }
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.file_type().is_symlink() {
                return Err(refuse(
                    path,
                    "is a symbolic link: refusing to write through it",
                ));
            }
            if meta.is_dir() {
                return Err(refuse(path, "is a directory"));
            }
            if !force {
                return Err(refuse(path, "already exists: give --force to replace it"));
            }
        }
        let target = resolved(path).map_err(|e| refuse(path, &e.to_string()))?;
        if let Ok(db) = resolved(database) {
            let name = db
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            for own in [
                name.clone(),
                format!("{name}-wal"),
                format!("{name}-shm"),
                format!("{name}-journal"),
            ] {
                if target == db.with_file_name(&own) {
                    return Err(refuse(
                        path,
                        "is the database (or its WAL): an export never writes over it",
                    ));
                }
            }
        }
        let tmp = target.with_file_name(format!(
            ".{}.{}.tmp",
            target.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&tmp)
            .map_err(|e| refuse(path, &format!("cannot create a file beside it: {e}")))?;
        Ok(OutFile {
            tmp,
            target,
            file: Some(io::BufWriter::new(file)),
        })
    }

    /// Flushes, syncs and renames the finished file into place.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let file = self.file.take().expect("committed once");
        let file = file
            .into_inner()
            .map_err(|e| refuse(&self.target, &e.error().to_string()))?;
        file.sync_all()
            .map_err(|e| refuse(&self.target, &e.to_string()))?;
        std::fs::rename(&self.tmp, &self.target)
            .map_err(|e| refuse(&self.target, &e.to_string()))?;
        Ok(())
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("open").flush()
    }
}

impl Drop for OutFile {
    /// An export that did not finish leaves nothing behind.
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
