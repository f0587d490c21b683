//! [`DirLock`]: one run at a time in a directory (a checkpoint directory, a run folder).
//!
//! A run takes an advisory lock on the file [`LOCK_FILE`] in each directory it writes
//! (creating the directory first) and holds it until it ends; the file holds the run's
//! process id. A second process that wants the directory is refused with that pid instead
//! of overwriting or pruning the first one's files. The operating system releases the lock
//! when the process ends, however it ends, so a lock file left by a killed run blocks
//! nothing. The lock is per process: a process that asks again for a directory it holds
//! (the same directory as `--out` and `--checkpoint-dir`, or two trainers one after the
//! other) shares the lock it has.
//!
//! Taking a directory also removes the temporary files that interrupted writes left there
//! ([`gradwell_nn::io::remove_stale_temp_files`]): with the lock held, no other gradwell
//! process is writing them.
//!
//! ```
//! use gradwell_train::lock::DirLock;
//! # let dir = std::env::temp_dir().join(format!("gradwell-lock-doc-{}", std::process::id()));
//! let lock = DirLock::acquire(&dir)?; // creates the directory
//! assert_eq!(
//!     std::fs::read_to_string(dir.join(gradwell_train::lock::LOCK_FILE))?.trim(),
//!     std::process::id().to_string()
//! );
//! let again = DirLock::acquire(&dir)?; // the same process shares its lock
//! # drop((lock, again));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// The lock file a run holds in each directory it writes.
pub const LOCK_FILE: &str = ".gradwell.lock";

/// Why a directory cannot be used for a run.
#[derive(Debug)]
pub enum DirError {
    /// The path exists and is a file (or something else that is not a directory).
    NotADirectory,
    /// The directory or its lock file cannot be created, read or written.
    Io(std::io::Error),
    /// Another process holds the directory's lock.
    InUse {
        /// Its process id, as it wrote it in the lock file (`None` if unreadable).
        holder: Option<u32>,
    },
}

impl fmt::Display for DirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirError::NotADirectory => write!(f, "exists and is not a directory"),
            DirError::Io(e) => write!(f, "cannot be created or written: {e}"),
            DirError::InUse { holder } => {
                write!(f, "is in use by another gradwell run (")?;
                match holder {
                    Some(pid) => write!(f, "pid {pid}")?,
                    None => write!(f, "pid unknown")?,
                }
                write!(f, "); wait for it to finish or choose another directory")
            }
        }
    }
}

impl std::error::Error for DirError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DirError::Io(e) => Some(e),
            DirError::NotADirectory | DirError::InUse { .. } => None,
        }
    }
}

/// A directory held by this process: created, writable, its lock taken. The lock is
/// released when the last `DirLock` of the directory in this process is dropped (or the
/// process ends).
#[derive(Debug, Clone)]
pub struct DirLock {
    held: Arc<Held>,
}

#[derive(Debug)]
struct Held {
    /// The directory, canonical.
    dir: PathBuf,
    /// The open lock file; closing it releases the lock. `None` on a file system without
    /// locks.
    _file: Option<File>,
}

/// The directories this process holds, so that asking again shares the lock instead of
/// refusing itself.
static HELD: Mutex<Vec<Weak<Held>>> = Mutex::new(Vec::new());

impl DirLock {
    /// Creates `dir` if it is missing, takes its lock (writing this process's id into
    /// [`LOCK_FILE`]) and removes the temporary files that interrupted writes left in it.
    /// On a file system that has no locks the directory is used without one.
    ///
    /// # Errors
    /// [`DirError::NotADirectory`] for a path that is a file, [`DirError::Io`] for one
    /// that cannot be created or written, [`DirError::InUse`] naming the pid of another
    /// process that holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, DirError> {
        if dir.exists() && !dir.is_dir() {
            return Err(DirError::NotADirectory);
        }
        std::fs::create_dir_all(dir).map_err(DirError::Io)?;
        let dir = dir.canonicalize().map_err(DirError::Io)?;
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        held.retain(|h| h.strong_count() > 0);
        if let Some(h) = held.iter().filter_map(Weak::upgrade).find(|h| h.dir == dir) {
            return Ok(DirLock { held: h });
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(DirError::Io)?;
        let locked = match file.try_lock() {
            Ok(()) => true,
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(DirError::InUse {
                    holder: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => false,
            Err(TryLockError::Error(e)) => return Err(DirError::Io(e)),
        };
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(DirError::Io)?;
        gradwell_nn::io::remove_stale_temp_files(&dir).map_err(DirError::Io)?;
        let h = Arc::new(Held {
            dir,
            _file: locked.then_some(file),
        });
        held.push(Arc::downgrade(&h));
        Ok(DirLock { held: h })
    }

    /// The directory (canonical).
    pub fn dir(&self) -> &Path {
        &self.held.dir
    }
}
