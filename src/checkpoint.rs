//! Checkpoints: a model's parameters, the optimizer's state and the training loop's state in one
//! [safetensors](https://huggingface.co/docs/safetensors) file.
//!
//! ## Layout
//! | tensor name | dtype, shape | what |
//! |---|---|---|
//! | `fc1.weight`, `fc1.bias`, ... | the model's | [`Module::state_dict`] under its PyTorch names |
//! | `optim.state.<i>.<name>` | as the optimizer's | [`Optimizer::state_tensors`] with the prefix `optim.` |
//! | `glassgrad.epoch` | I64 `[]` | epochs completed |
//! | `glassgrad.loader` | I64 `[2]` | the data loader's position: next epoch, batches already taken from it |
//! | `glassgrad.rng` | I64 `[5]` | a [`Generator`]: xoshiro256++'s four words, then its initial seed (each `u64` stored bit for bit as `i64`) |
//! | `glassgrad.history` | F64 `[epochs, k]` | one row of metrics per epoch; the column names are the metadata entry `glassgrad.history_columns` (comma-separated) |
//!
//! Metadata (`__metadata__`): `format` = `glassgrad-checkpoint-1`, and every entry of
//! [`TrainState::meta`] under `glassgrad.meta.<key>` (the run's model name, seed, batch size, ...).
//!
//! The model part is exactly what PyTorch writes with
//! `safetensors.torch.save_file(model.state_dict(), path)`, so a PyTorch model's file loads into
//! its Rust twin ([`load_state_dict`]) and a glassgrad checkpoint loads into PyTorch
//! (`model.load_state_dict(load_file(path), strict=False)`; the `optim.`/`glassgrad.` entries are
//! the extra keys).
//!
//! ## Safety of writes and loads
//! - [`save_checkpoint`] writes the whole file to a temporary file beside the target, flushes it to
//!   disk, then renames it over the target ([`write_atomic`]): a crash mid-write leaves the previous
//!   checkpoint as it was.
//! - [`load_checkpoint`] reads and checks everything first — the file parses, every tensor the
//!   model expects is there with its dtype and shape, no unknown tensor, the optimizer accepts its
//!   state, the training state is well formed — and only then writes into the model. An error names
//!   the file, the tensor and both shapes; nothing is loaded on error.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::nn::Module;
use crate::optim::Optimizer;
use crate::rng::Generator;
use crate::tensor::{DType, Data, Tensor};

/// The `format` metadata value of the files this module writes.
pub const FORMAT: &str = "glassgrad-checkpoint-1";
/// Prefix of the optimizer's state tensors.
pub const OPTIM_PREFIX: &str = "optim.";
/// Prefix of the training-loop state (tensors and metadata).
pub const TRAIN_PREFIX: &str = "glassgrad.";

/// What a training loop needs besides the parameters and the optimizer to continue where it
/// stopped.
#[derive(Clone, Debug, Default)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: u64,
    /// The loop's random generator (dropout, augmentation...), if it has one.
    pub rng: Option<Generator>,
    /// The epoch the data loader runs next ([`DataLoader::epoch`](crate::data::DataLoader::epoch)).
    pub loader_epoch: u64,
    /// Batches of that epoch already consumed (0 at an epoch boundary).
    pub loader_batch: u64,
    /// Metric names, one per column of `history`.
    pub history_columns: Vec<String>,
    /// One row of metrics per epoch completed.
    pub history: Vec<Vec<f64>>,
    /// Free-form strings (model name, seed, hyper-parameters).
    pub meta: BTreeMap<String, String>,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_then(path, bytes, |_| Ok(()))
}

/// [`write_atomic`] with a hook run after the temporary file is complete and before the rename;
/// an error from the hook abandons the write (the temporary file is removed, `path` untouched).
/// Tests use it to simulate a crash at the worst moment.
pub fn write_atomic_then(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let name = path.file_name().ok_or_else(|| Error::file(path, "not a file path"))?;
    let tmp: PathBuf = path.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f =
            std::fs::File::create(&tmp).map_err(|e| Error::file(&tmp, format!("cannot create: {e}")))?;
        f.write_all(bytes).map_err(|e| Error::file(&tmp, format!("cannot write: {e}")))?;
        f.sync_all().map_err(|e| Error::file(&tmp, format!("cannot flush: {e}")))?;
        drop(f);
        before_rename(&tmp)?;
        std::fs::rename(&tmp, path).map_err(|e| Error::file(path, format!("cannot rename into place: {e}")))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename itself durable where the platform allows it.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    result
}

/// Little-endian bytes of a tensor's elements in row-major order.
fn encode(t: &Tensor) -> (Dtype, Vec<u8>) {
    let d = t.data().to_host().unwrap_or_else(|_| t.data());
    match &d {
        Data::F32(a) => (Dtype::F32, a.iter().flat_map(|v| v.to_le_bytes()).collect()),
        Data::F64(a) => (Dtype::F64, a.iter().flat_map(|v| v.to_le_bytes()).collect()),
        Data::I64(a) => (Dtype::I64, a.iter().flat_map(|v| v.to_le_bytes()).collect()),
        Data::Bool(a) => (Dtype::BOOL, a.iter().map(|&v| v as u8).collect()),
        #[cfg(feature = "cuda")]
        Data::Cuda(_) => (Dtype::F32, Vec::new()),
    }
}

/// The file's bytes for these tensors and metadata.
fn serialize(path: &Path, tensors: &[(String, Tensor)], meta: BTreeMap<String, String>) -> Result<Vec<u8>> {
    let encoded: Vec<(&str, Vec<usize>, Dtype, Vec<u8>)> = tensors
        .iter()
        .map(|(n, t)| {
            let (d, b) = encode(t);
            (n.as_str(), t.shape(), d, b)
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut views = Vec::with_capacity(encoded.len());
    for (name, shape, dtype, bytes) in &encoded {
        if !seen.insert(*name) {
            return Err(Error::file(path, format!("tensor `{name}` is named twice")));
        }
        let v = safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
            .map_err(|e| Error::file(path, format!("tensor `{name}` (shape {shape:?}): {e}")))?;
        views.push((name.to_string(), v));
    }
    let meta: HashMap<String, String> = meta.into_iter().collect();
    safetensors::serialize(views, Some(meta)).map_err(|e| Error::file(path, e))
}

/// Saves `model`'s `state_dict`, the optimizer's state (if given) and `state` to `path`
/// atomically (layout in the module docs).
pub fn save_checkpoint(
    path: impl AsRef<Path>,
    model: &dyn Module,
    optimizer: Option<&dyn Optimizer>,
    state: &TrainState,
) -> Result<()> {
    let path = path.as_ref();
    let mut tensors = model.state_dict();
    if let Some(opt) = optimizer {
        tensors.extend(opt.state_tensors().into_iter().map(|(k, t)| (format!("{OPTIM_PREFIX}{k}"), t)));
    }
    let p = TRAIN_PREFIX;
    tensors.push((format!("{p}epoch"), Tensor::scalar(state.epoch as i64)));
    let loader = vec![state.loader_epoch as i64, state.loader_batch as i64];
    tensors.push((format!("{p}loader"), Tensor::from_vec(loader, &[2])?));
    if let Some(g) = &state.rng {
        let (w, seed) = g.state();
        let words: Vec<i64> = w.iter().chain([&seed]).map(|&v| v as i64).collect();
        tensors.push((format!("{p}rng"), Tensor::from_vec(words, &[5])?));
    }
    let mut meta = BTreeMap::from([("format".to_string(), FORMAT.to_string())]);
    if !state.history_columns.is_empty() {
        let k = state.history_columns.len();
        if let Some(bad) = state.history.iter().find(|r| r.len() != k) {
            return Err(Error::file(
                path,
                format!("history row of {} values, but {k} columns {:?}", bad.len(), state.history_columns),
            ));
        }
        if state.history_columns.iter().any(|c| c.contains(',')) {
            return Err(Error::file(path, "history column names may not contain ','"));
        }
        let flat: Vec<f64> = state.history.iter().flatten().copied().collect();
        tensors.push((format!("{p}history"), Tensor::from_vec(flat, &[state.history.len(), k])?));
        meta.insert(format!("{p}history_columns"), state.history_columns.join(","));
    }
    for (k, v) in &state.meta {
        meta.insert(format!("{p}meta.{k}"), v.clone());
    }
    let bytes = serialize(path, &tensors, meta)?;
    write_atomic(path, &bytes)
}

/// A checkpoint file read into memory: every tensor by name, and the metadata.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    pub path: PathBuf,
    pub tensors: BTreeMap<String, Tensor>,
    pub metadata: BTreeMap<String, String>,
}

/// Decodes `bytes` as elements of `N` bytes each.
fn decode<T, const N: usize>(bytes: &[u8], from_le: fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            from_le(b)
        })
        .collect()
}

/// Reads and parses a safetensors file (any producer). Truncated or corrupted bytes, and dtypes
/// glassgrad has no tensor type for (F16, BF16, U8...), are errors naming the file (and the tensor).
pub fn read_checkpoint(path: impl AsRef<Path>) -> Result<CheckpointFile> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    parse_checkpoint(path, &bytes)
}

/// [`read_checkpoint`] on bytes already in memory (`path` is only used in messages).
pub fn parse_checkpoint(path: &Path, bytes: &[u8]) -> Result<CheckpointFile> {
    let bad =
        |e: safetensors::SafeTensorError| Error::file(path, format!("not a valid safetensors file: {e}"));
    let st = SafeTensors::deserialize(bytes).map_err(bad)?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(bad)?;
    let metadata = header.metadata().clone().unwrap_or_default().into_iter().collect();
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        let shape = view.shape();
        let data = view.data();
        let numel: usize = shape.iter().product();
        let size = match view.dtype() {
            Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::BOOL => 1,
            other => {
                return Err(Error::file(
                    path,
                    format!(
                        "tensor `{name}` (shape {shape:?}): dtype {other} is not supported (F32, F64, I64, BOOL)"
                    ),
                ));
            }
        };
        if numel.checked_mul(size) != Some(data.len()) {
            return Err(Error::file(
                path,
                format!(
                    "tensor `{name}` (shape {shape:?}): {} bytes of data, expected {numel}×{size}",
                    data.len()
                ),
            ));
        }
        let t = match view.dtype() {
            Dtype::F32 => Tensor::from_vec(decode(data, f32::from_le_bytes), shape),
            Dtype::F64 => Tensor::from_vec(decode(data, f64::from_le_bytes), shape),
            Dtype::I64 => Tensor::from_vec(decode(data, i64::from_le_bytes), shape),
            _ => Tensor::from_vec(data.iter().map(|&b| b != 0).collect::<Vec<bool>>(), shape),
        }
        .map_err(|e| Error::file(path, format!("tensor `{name}` (shape {shape:?}): {e}")))?;
        tensors.insert(name, t);
    }
    Ok(CheckpointFile { path: path.to_path_buf(), tensors, metadata })
}

impl CheckpointFile {
    /// The training state stored under `glassgrad.` (defaults where the file has none, as in a
    /// file written by PyTorch).
    pub fn train_state(&self) -> Result<TrainState> {
        let path = &self.path;
        let p = TRAIN_PREFIX;
        let ints = |key: &str, n: usize| -> Result<Option<Vec<i64>>> {
            let Some(t) = self.tensors.get(&format!("{p}{key}")) else { return Ok(None) };
            if t.dtype() != DType::I64 || t.numel() != n {
                return Err(Error::file(
                    path,
                    format!(
                        "tensor `{p}{key}`: {} of shape {:?}, expected i64 with {n} values",
                        t.dtype(),
                        t.shape()
                    ),
                ));
            }
            Ok(Some(t.to_vec::<i64>()?))
        };
        let mut s = TrainState::default();
        if let Some(v) = ints("epoch", 1)? {
            s.epoch = v[0] as u64;
        }
        if let Some(v) = ints("loader", 2)? {
            (s.loader_epoch, s.loader_batch) = (v[0] as u64, v[1] as u64);
        }
        if let Some(v) = ints("rng", 5)? {
            let words = [v[0] as u64, v[1] as u64, v[2] as u64, v[3] as u64];
            let g = Generator::from_state(words, v[4] as u64)
                .map_err(|e| Error::file(path, format!("tensor `{p}rng`: {e}")))?;
            s.rng = Some(g);
        }
        if let Some(cols) = self.metadata.get(&format!("{p}history_columns")) {
            s.history_columns = cols.split(',').map(str::to_string).collect();
            let k = s.history_columns.len();
            let h = self.tensors.get(&format!("{p}history"));
            let Some(h) = h.filter(|h| h.dtype() == DType::F64 && h.dims() == 2 && h.shape()[1] == k) else {
                return Err(Error::file(
                    path,
                    format!(
                        "tensor `{p}history`: missing or not f64 [epochs, {k}] ({k} columns in the metadata)"
                    ),
                ));
            };
            let flat = h.to_vec::<f64>()?;
            s.history = flat.chunks(k).map(<[f64]>::to_vec).collect();
        }
        let meta_prefix = format!("{p}meta.");
        for (k, v) in &self.metadata {
            if let Some(key) = k.strip_prefix(&meta_prefix) {
                s.meta.insert(key.to_string(), v.clone());
            }
        }
        Ok(s)
    }

    /// Checks that this file holds exactly `model`'s `state_dict` (besides `optim.`/`glassgrad.`
    /// entries): every name present, same dtype, same shape, nothing unknown. Returns the
    /// model's tensors paired with the values to write into them.
    fn match_model(&self, model: &dyn Module) -> Result<Vec<(Tensor, Data)>> {
        let path = &self.path;
        let expected = model.state_dict();
        let mut out = Vec::with_capacity(expected.len());
        for (name, t) in &expected {
            let Some(v) = self.tensors.get(name) else {
                return Err(Error::file(
                    path,
                    format!("tensor `{name}` (shape {:?} in the model) is missing from the file", t.shape()),
                ));
            };
            if v.shape() != t.shape() {
                return Err(Error::file(
                    path,
                    format!(
                        "tensor `{name}`: shape {:?} in the file, {:?} in the model",
                        v.shape(),
                        t.shape()
                    ),
                ));
            }
            if v.dtype() != t.dtype() {
                return Err(Error::file(
                    path,
                    format!(
                        "tensor `{name}`: dtype {} (shape {:?}) in the file, {} (shape {:?}) in the model",
                        v.dtype(),
                        v.shape(),
                        t.dtype(),
                        t.shape()
                    ),
                ));
            }
            out.push((t.clone(), v.data()));
        }
        let known: std::collections::HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
        if let Some((name, v)) = self.tensors.iter().find(|(n, _)| {
            !known.contains(n.as_str()) && !n.starts_with(OPTIM_PREFIX) && !n.starts_with(TRAIN_PREFIX)
        }) {
            return Err(Error::file(
                path,
                format!(
                    "unexpected tensor `{name}` (shape {:?}): the model has no such parameter",
                    v.shape()
                ),
            ));
        }
        Ok(out)
    }

    /// The optimizer's entries, prefix removed.
    pub fn optimizer_state(&self) -> Vec<(String, Tensor)> {
        self.tensors
            .iter()
            .filter_map(|(k, t)| k.strip_prefix(OPTIM_PREFIX).map(|k| (k.to_string(), t.clone())))
            .collect()
    }
}

/// Loads a checkpoint into `model` (and `optimizer`, when given) and returns the training state.
/// All or nothing: see the module docs. Without an optimizer, `optim.` entries are ignored.
pub fn load_checkpoint(
    path: impl AsRef<Path>,
    model: &dyn Module,
    optimizer: Option<&mut dyn Optimizer>,
) -> Result<TrainState> {
    read_checkpoint(path)?.load_into(model, optimizer)
}

impl CheckpointFile {
    /// Writes this file's tensors into `model` (and `optimizer`) after checking all of them;
    /// returns the training state. What [`load_checkpoint`] does once the file is read.
    pub fn load_into(&self, model: &dyn Module, optimizer: Option<&mut dyn Optimizer>) -> Result<TrainState> {
        let writes = self.match_model(model)?;
        let state = self.train_state()?;
        if let Some(opt) = optimizer {
            // `load_state_tensors` validates everything before replacing the optimizer's state.
            opt.load_state_tensors(&self.optimizer_state())
                .map_err(|e| Error::file(&self.path, format!("optimizer state: {e}")))?;
        }
        for (t, d) in writes {
            // Cannot fail: shapes and dtypes were checked above.
            t.set_data(d).map_err(|e| Error::file(&self.path, e))?;
        }
        Ok(state)
    }
}

/// Loads only the parameters (a `state_dict` file, e.g. written by PyTorch's
/// `safetensors.torch.save_file(model.state_dict(), path)`).
pub fn load_state_dict(path: impl AsRef<Path>, model: &dyn Module) -> Result<()> {
    load_checkpoint(path, model, None).map(|_| ())
}
