//! The output folder of a run (`--out`): chosen so that a run never destroys what an earlier run
//! wrote unless asked, cleaned of what an interrupted run left, and removed again when the run
//! fails before it wrote anything.
//!
//! | given | folder |
//! |---|---|
//! | nothing | `runs/<model>` if it holds no run, else the first of `runs/<model>-2`, `-3`, … that holds none |
//! | `--out D` | `D`; if it holds a run's files ([`RUN_FILES`]), an error unless `--force` or `--resume` |
//! | `--force` | clears the run files of the folder (and nothing else in it) before the run |
//! | `--resume P` | `--out` if given, else the run folder `P` belongs to (`D` for `D/checkpoints/epoch_002.safetensors`) |
//!
//! Checkpoints are written through a temporary file renamed into place
//! ([`write_atomic`](crate::checkpoint::write_atomic): `.<name>.tmp-<pid>`); a run killed during
//! a write leaves that file behind, and the next run in the folder deletes it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The files and folders a run writes into its folder: what makes a folder "hold a run".
pub const RUN_FILES: &[&str] = &["metrics.csv", "curves.png", "model.safetensors", "checkpoints"];

/// How a run may use a folder that already holds a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Only an empty or new folder.
    No,
    /// `--force`: clear the old run's files first.
    Force,
    /// `--resume`: continue the run in it.
    Resume,
}

/// A run's output folder, with the folders this run created (removed again by
/// [`RunDir::discard_if_empty`] when the run fails before writing anything).
#[derive(Debug)]
pub struct RunDir {
    pub path: PathBuf,
    created: Vec<PathBuf>,
}

/// The run files present in `dir` (in [`RUN_FILES`] order).
pub fn run_files_in(dir: &Path) -> Vec<&'static str> {
    RUN_FILES.iter().copied().filter(|f| dir.join(f).exists()).collect()
}

/// The folder a checkpoint belongs to: `D` for `D/checkpoints/epoch_NNN.safetensors` and for
/// `D/model.safetensors`.
pub fn run_folder_of(checkpoint: &Path) -> PathBuf {
    let parent = checkpoint.parent().unwrap_or(Path::new("."));
    if parent.file_name().is_some_and(|n| n == "checkpoints") {
        parent.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        parent.to_path_buf()
    }
}

/// Chooses the folder of a run of `model` (see the module docs) and creates it.
pub fn choose(out: Option<&Path>, model: &str, reuse: Reuse, resume: Option<&Path>) -> Result<RunDir> {
    let path = match (out, resume) {
        (Some(o), _) => o.to_path_buf(),
        (None, Some(ckpt)) => run_folder_of(ckpt),
        (None, None) if reuse == Reuse::Force => Path::new("runs").join(model),
        (None, None) => {
            let base = Path::new("runs");
            (1..)
                .map(|k| if k == 1 { base.join(model) } else { base.join(format!("{model}-{k}")) })
                .find(|p| run_files_in(p).is_empty())
                .unwrap_or_else(|| base.join(model)) // unreachable: the range is endless
        }
    };
    let held = run_files_in(&path);
    if !held.is_empty() {
        match reuse {
            Reuse::Resume => {}
            Reuse::Force => clear(&path)?,
            Reuse::No => {
                return Err(Error::file(
                    &path,
                    format!(
                        "the folder holds another run's files ({}); give --force to replace them, \
                         --resume CHECKPOINT to continue that run, or another --out",
                        held.join(", ")
                    ),
                ));
            }
        }
    }
    let mut created = Vec::new();
    let mut p = path.as_path();
    while !p.as_os_str().is_empty() && !p.exists() {
        created.push(p.to_path_buf());
        p = p.parent().unwrap_or(Path::new(""));
    }
    std::fs::create_dir_all(&path)
        .map_err(|e| Error::file(&path, format!("cannot create the output folder: {e}")))?;
    let checkpoints = path.join("checkpoints");
    if !checkpoints.exists() {
        created.insert(0, checkpoints);
    }
    remove_stale_temporaries(&path)?;
    Ok(RunDir { path, created })
}

impl RunDir {
    /// Removes the folders this run created that are still empty (deepest first); a folder
    /// with anything in it stays.
    pub fn discard_if_empty(&self) {
        for d in &self.created {
            // `remove_dir` refuses a folder that is not empty, which is the point.
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Copies the checkpoint of the epoch just finished, `epoch_checkpoint`, to the run's
/// `model.safetensors` (atomically), so that `metrics.csv`, rewritten after every epoch, always
/// describes the `model.safetensors` beside it, also while a resumed run rewrites a history.
pub fn publish_final(epoch_checkpoint: &Path, final_checkpoint: &Path) -> Result<()> {
    let bytes = std::fs::read(epoch_checkpoint)
        .map_err(|e| Error::file(epoch_checkpoint, format!("cannot read back the checkpoint: {e}")))?;
    crate::checkpoint::write_atomic(final_checkpoint, &bytes)
}

/// Removes the run files of `dir` (nothing else): `--force`.
fn clear(dir: &Path) -> Result<()> {
    for f in RUN_FILES {
        let p = dir.join(f);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else if p.exists() {
            std::fs::remove_file(&p)
        } else {
            Ok(())
        };
        r.map_err(|e| Error::file(&p, format!("--force could not remove it: {e}")))?;
    }
    Ok(())
}

/// Whether `name` is a temporary of [`write_atomic`](crate::checkpoint::write_atomic),
/// `.<file>.tmp-<pid>`, of another process than this one.
fn is_stale_temporary(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else { return false };
    let Some((_, pid)) = rest.rsplit_once(".tmp-") else { return false };
    !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && pid != std::process::id().to_string()
}

/// Deletes the temporaries an interrupted write left in `dir` and `dir/checkpoints`.
fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    for d in [dir.to_path_buf(), dir.join("checkpoints")] {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            if e.file_name().to_str().is_some_and(is_stale_temporary) && e.path().is_file() {
                std::fs::remove_file(e.path()).map_err(|err| {
                    Error::file(e.path(), format!("cannot remove a stale temporary file: {err}"))
                })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_and_run_folders() {
        assert!(is_stale_temporary(".model.safetensors.tmp-12345") || std::process::id() == 12345);
        assert!(!is_stale_temporary("model.safetensors"));
        assert!(!is_stale_temporary(".model.safetensors.tmp-"));
        assert!(!is_stale_temporary(".notes.tmp-12a"));
        assert!(!is_stale_temporary(&format!(".metrics.csv.tmp-{}", std::process::id())));
        assert_eq!(
            run_folder_of(Path::new("runs/cnn/checkpoints/epoch_002.safetensors")),
            Path::new("runs/cnn")
        );
        assert_eq!(run_folder_of(Path::new("runs/cnn/model.safetensors")), Path::new("runs/cnn"));
    }
}
