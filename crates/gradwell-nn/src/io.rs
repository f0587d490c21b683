//! Writing files so that a crash or a full disk never leaves half of one.
//!
//! Every file gradwell writes (weights, checkpoints, the monitor's records, plots, run and
//! report folders) goes through [`write_atomic_with`] or [`replace_atomic`]: the contents
//! go to a temporary file in the target's directory, which is flushed and synced, then
//! renamed over the target, and the directory is synced where the platform allows it. A
//! reader sees the old file or the new one, never a part. A write that fails (a full disk,
//! a writer's error, a rename refused) leaves the old file as it was and removes its
//! temporary file; a process killed midway leaves a temporary file behind, named so that
//! [`is_temp_name`] recognizes it and [`remove_stale_temp_files`] removes it.
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("gradwell-io-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! use std::io::Write;
//! let path = dir.join("notes.txt");
//! gradwell_nn::io::write_atomic_with(&path, |f| f.write_all(b"first"))?;
//! // A writer that fails midway (here by hand; a full disk in practice) changes nothing.
//! let failed = gradwell_nn::io::write_atomic_with(&path, |f| {
//!     f.write_all(b"sec")?;
//!     Err(std::io::Error::other("no space left on device"))
//! });
//! assert!(failed.is_err());
//! assert_eq!(std::fs::read(&path)?, b"first");
//! assert_eq!(std::fs::read_dir(&dir)?.count(), 1); // no temporary file left
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{NnError, Result};

/// Every temporary file starts with this: `.gradwell-tmp.<pid>-<n>.<name>`, where `<pid>`
/// is the writing process, `<n>` counts its writes and `<name>` is the target's file name
/// (so the temporary file keeps the target's extension).
pub const TEMP_PREFIX: &str = ".gradwell-tmp.";

/// Writes of this process so far, to give concurrent writes distinct temporary files.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A fresh temporary path beside `path`, for this process.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    parent_dir(path).join(format!("{TEMP_PREFIX}{}-{n}.{name}", std::process::id()))
}

/// Whether a file name is one of [`temp_path`]'s.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// The process that wrote a temporary file, from its name.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    rest.split(['-', '.']).next()?.parse().ok()
}

/// Replaces `path` atomically with a file that `create` writes at the temporary path it is
/// given (for writers that insist on a path of their own, such as a plotting backend; the
/// temporary path keeps the target's extension). The file is then synced, renamed over
/// `path`, and the directory synced where the platform allows it.
///
/// # Errors
/// `create`'s error, or the file system's; either way `path` is as it was and the
/// temporary file is gone.
pub fn replace_atomic(
    path: &Path,
    create: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        create(&tmp)?;
        OpenOptions::new().write(true).open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable. Opening a directory is not possible on every
        // platform, so this is best effort: the file's contents are synced already.
        if let Ok(d) = File::open(parent_dir(path)) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Replaces `path` atomically with what `write` writes into a fresh temporary file beside
/// it (see [`replace_atomic`]).
///
/// # Errors
/// `write`'s error, or the file system's; either way `path` is as it was and the temporary
/// file is gone.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    replace_atomic(path, |tmp| {
        let mut f = File::create(tmp)?;
        write(&mut f)?;
        f.flush()
    })
}

/// Writes `bytes` to `path` atomically ([`write_atomic_with`]).
///
/// # Errors
/// [`NnError::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes)).map_err(|source| NnError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Removes the temporary files that interrupted writes of other processes left in `dir`
/// and in its direct subdirectories (a run folder's `monitor/`), and returns them. Call it
/// only while no other process writes there (gradwell holds the directory's lock).
/// Temporary files of this process are left alone: they may be writes in progress.
///
/// # Errors
/// A directory that cannot be read, or a file that cannot be removed.
pub fn remove_stale_temp_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let mut dirs = vec![(dir.to_path_buf(), true)];
    while let Some((d, descend)) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() {
                if descend {
                    dirs.push((entry.path(), false));
                }
            } else if is_temp_name(&name) && temp_owner(&name) != Some(std::process::id()) {
                std::fs::remove_file(entry.path())?;
                removed.push(entry.path());
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(test: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gradwell-nn-io-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn temporary_names_keep_the_extension_and_are_recognized() {
        let a = temp_path(Path::new("out/loss.png"));
        let b = temp_path(Path::new("out/loss.png"));
        assert_ne!(a, b, "two writes get two temporary files");
        assert_eq!(a.parent(), Some(Path::new("out")));
        assert_eq!(a.extension().and_then(|e| e.to_str()), Some("png"));
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(is_temp_name(name), "{name}");
        assert_eq!(temp_owner(name), Some(std::process::id()));
        assert!(!is_temp_name("loss.png") && !is_temp_name(".loss.png.tmp1"));
        assert_eq!(
            temp_path(Path::new("x.json")).parent(),
            Some(Path::new("."))
        );
    }

    #[test]
    fn a_writer_failing_midway_leaves_the_old_file_and_no_temporary_one() {
        let dir = scratch("midway");
        let path = dir.join("monitor.json");
        std::fs::write(&path, b"the previous run's record").unwrap();
        let err = write_atomic_with(&path, |f| {
            f.write_all(b"{\"steps\": [")?;
            Err(std::io::Error::other("no space left on device"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "no space left on device");
        assert_eq!(std::fs::read(&path).unwrap(), b"the previous run's record");
        assert_eq!(names(&dir), ["monitor.json"]);
        // And with no previous file, no file at all.
        let fresh = dir.join("model.safetensors");
        assert!(write_atomic_with(&fresh, |_| Err(std::io::Error::other("full"))).is_err());
        assert_eq!(names(&dir), ["monitor.json"]);
    }

    #[test]
    fn a_refused_rename_leaves_the_target_and_no_temporary_file() {
        let dir = scratch("rename");
        // The target is a non-empty directory: the rename over it fails after the
        // temporary file was written and synced.
        let target = dir.join("run.json");
        std::fs::create_dir_all(target.join("inside")).unwrap();
        let err = write_atomic(&target, b"{}").unwrap_err();
        assert!(err.to_string().contains("run.json"), "{err}");
        assert!(target.join("inside").is_dir());
        assert_eq!(names(&dir), ["run.json"]);
    }

    #[test]
    fn a_successful_write_replaces_the_whole_file() {
        let dir = scratch("replace");
        let path = dir.join("epochs.csv");
        write_atomic(&path, b"a much longer first version\n").unwrap();
        write_atomic(&path, b"short\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"short\n");
        assert_eq!(names(&dir), ["epochs.csv"]);
    }

    #[test]
    fn stale_temporary_files_of_other_processes_are_removed() {
        let dir = scratch("stale");
        let sub = dir.join("monitor");
        std::fs::create_dir_all(sub.join("deeper")).unwrap();
        let stale = [
            dir.join(format!("{TEMP_PREFIX}4000000001-0.model.safetensors")),
            sub.join(format!("{TEMP_PREFIX}4000000001-3.steps.csv")),
        ];
        let kept = [
            dir.join("model.safetensors"),
            dir.join(".checkpoint-000000000001.gwck.tmp9"),
            sub.join("deeper")
                .join(format!("{TEMP_PREFIX}4000000001-4.x")),
            temp_path(&dir.join("in-progress.json")),
        ];
        for p in stale.iter().chain(&kept) {
            std::fs::write(p, b"x").unwrap();
        }
        let mut removed = remove_stale_temp_files(&dir).unwrap();
        removed.sort();
        let mut want = stale.to_vec();
        want.sort();
        assert_eq!(removed, want);
        assert!(stale.iter().all(|p| !p.exists()));
        assert!(kept.iter().all(|p| p.exists()));
    }
}
