//! The Aeron directory as the driver owns it: what counts as one, and removing only what is Aeron's.
//!
//! A driver recreates its directory at start and may delete it at shutdown. It does so only for a
//! directory holding nothing but the files Aeron's drivers make there, so that a mistyped `--dir` never
//! costs a user their files.

use std::path::{Path, PathBuf};

/// Files an Aeron driver writes at the top of its directory.
const AERON_FILES: [&str; 2] = ["cnc.dat", "loss-report.dat"];
/// Directories an Aeron driver keeps its log buffers in.
const LOG_DIRS: [&str; 2] = ["publications", "images"];
/// Extension of a log buffer file.
const LOG_EXTENSION: &str = "logbuffer";

/// Why a directory is not one the driver may treat as its own.
#[derive(Debug, thiserror::Error)]
pub enum AeronDirError {
    /// The directory holds something an Aeron driver does not make.
    #[error(
        "{dir} is not an Aeron directory: it holds {entry}, which no media driver makes there; \
         the driver leaves it alone (empty the directory or choose another aeron dir)"
    )]
    NotAnAeronDir {
        /// The directory.
        dir: PathBuf,
        /// The first entry that is not Aeron's.
        entry: PathBuf,
    },
    /// The directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// What was read.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

fn read_dir(path: &Path) -> Result<Vec<(PathBuf, std::fs::FileType)>, AeronDirError> {
    let io = |source| AeronDirError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let entry = entry.map_err(io)?;
        entries.push((entry.path(), entry.file_type().map_err(io)?));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

fn is_named(path: &Path, names: &[&str]) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| names.contains(&name))
}

/// Checks that `dir` (which exists) holds only what an Aeron driver makes: `cnc.dat`,
/// `loss-report.dat`, and `publications/` and `images/` holding `*.logbuffer` files. An empty
/// directory passes.
pub fn check_is_aeron_dir(dir: &Path) -> Result<(), AeronDirError> {
    let foreign = |entry: PathBuf| AeronDirError::NotAnAeronDir {
        dir: dir.to_path_buf(),
        entry,
    };
    for (path, kind) in read_dir(dir)? {
        if kind.is_file() && is_named(&path, &AERON_FILES) {
            continue;
        }
        if !(kind.is_dir() && is_named(&path, &LOG_DIRS)) {
            return Err(foreign(path));
        }
        for (log, kind) in read_dir(&path)? {
            let is_log = log.extension().is_some_and(|e| e == LOG_EXTENSION);
            if !(kind.is_file() && is_log) {
                return Err(foreign(log));
            }
        }
    }
    Ok(())
}

/// Removes the Aeron files in `dir`, then the log directories and `dir` itself if nothing else is left
/// in them. Whatever else appeared in the directory while the driver ran stays where it is.
pub fn remove_aeron_files(dir: &Path) {
    let Ok(entries) = read_dir(dir) else {
        return;
    };
    for (path, kind) in entries {
        if kind.is_file() && is_named(&path, &AERON_FILES) {
            let _ = std::fs::remove_file(&path);
        } else if kind.is_dir() && is_named(&path, &LOG_DIRS) {
            for (log, kind) in read_dir(&path).unwrap_or_default() {
                if kind.is_file() && log.extension().is_some_and(|e| e == LOG_EXTENSION) {
                    let _ = std::fs::remove_file(&log);
                }
            }
            let _ = std::fs::remove_dir(&path);
        }
    }
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aeron_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cnc.dat"), b"cnc").unwrap();
        std::fs::write(dir.path().join("loss-report.dat"), b"loss").unwrap();
        for sub in LOG_DIRS {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("images/7.logbuffer"), b"log").unwrap();
        dir
    }

    #[test]
    fn an_aeron_dir_and_an_empty_dir_pass() {
        check_is_aeron_dir(aeron_dir().path()).unwrap();
        check_is_aeron_dir(tempfile::tempdir().unwrap().path()).unwrap();
    }

    #[test]
    fn a_foreign_file_anywhere_is_named() {
        for foreign in [
            "thesis.txt",
            "images/notes.txt",
            "publications/1.logbuffer/x",
        ] {
            let dir = aeron_dir();
            let path = dir.path().join(foreign);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"important").unwrap();
            let error = check_is_aeron_dir(dir.path()).unwrap_err();
            let named = match &error {
                AeronDirError::NotAnAeronDir { entry, .. } => entry.clone(),
                other => panic!("{other}"),
            };
            assert!(path.starts_with(&named), "{foreign}: {error}");
        }
    }

    #[test]
    fn removal_keeps_what_is_not_aerons() {
        let dir = aeron_dir();
        std::fs::write(dir.path().join("images/keep.txt"), b"mine").unwrap();
        remove_aeron_files(dir.path());
        assert!(!dir.path().join("cnc.dat").exists());
        assert!(!dir.path().join("images/7.logbuffer").exists());
        assert!(!dir.path().join("publications").exists());
        assert_eq!(
            std::fs::read(dir.path().join("images/keep.txt")).unwrap(),
            b"mine"
        );
        let empty = aeron_dir();
        remove_aeron_files(empty.path());
        assert!(!empty.path().exists());
    }
}
