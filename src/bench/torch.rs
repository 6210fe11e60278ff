//! The PyTorch comparison: runs the embedded twin script (`torch_twin.py`, beside this file) with a
//! Python that has torch, timing the same case ids with the same thread count
//! (`torch.set_num_threads`) and the same warm-up/sampling scheme, and reads back its medians.
//! PyTorch is never required: any failure is an error the caller reports as a note.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::timing::Options;
use crate::error::{Error, Result};

/// The twin script, embedded in the binary.
pub const TWIN_SCRIPT: &str = include_str!("torch_twin.py");

/// PyTorch's medians by case id, and its version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TorchTimes {
    pub medians: HashMap<String, f64>,
    pub version: String,
}

/// Runs the twin with `python` for `ids` on `threads` threads. Ids the twin does not know are absent
/// from the result.
pub fn torch_medians(python: &Path, ids: &[String], threads: usize, opts: &Options) -> Result<TorchTimes> {
    torch_medians_on(python, ids, threads, opts, "cpu")
}

/// [`torch_medians`] on `device` (`cpu` or `cuda`: CUDA events, TF32 off, cuDNN deterministic).
pub fn torch_medians_on(
    python: &Path,
    ids: &[String],
    threads: usize,
    opts: &Options,
    device: &str,
) -> Result<TorchTimes> {
    let mut child = Command::new(python)
        .arg("-")
        .args(["--device", device])
        .args(["--threads", &threads.to_string()])
        .args(["--samples", &opts.samples.to_string()])
        .args(["--budget-ms", &opts.case_budget.as_millis().to_string()])
        .args(ids)
        .env("OMP_NUM_THREADS", threads.to_string())
        .env("MKL_NUM_THREADS", threads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::file(python, format!("cannot start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(TWIN_SCRIPT.as_bytes()).map_err(|e| Error::file(python, format!("stdin: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| Error::file(python, format!("wait: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(Error::file(python, format!("the PyTorch twin failed ({}): {last}", out.status)));
    }
    parse_twin_output(&String::from_utf8_lossy(&out.stdout))
}

/// Reads the twin's JSON lines (`{"case", "median_ms", "torch_version"}`); other lines are ignored.
pub fn parse_twin_output(stdout: &str) -> Result<TorchTimes> {
    let mut t = TorchTimes::default();
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let (Some(case), Some(ms)) = (v["case"].as_str(), v["median_ms"].as_f64()) else { continue };
        if ms.is_finite() && ms > 0.0 {
            t.medians.insert(case.to_string(), ms);
        }
        if let Some(ver) = v["torch_version"].as_str() {
            t.version = ver.to_string();
        }
    }
    if t.medians.is_empty() {
        return Err(Error::invalid("bench", "the PyTorch twin timed none of the cases"));
    }
    Ok(t)
}
