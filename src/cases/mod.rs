//! Conformance cases: running PyTorch's recorded results through glassgrad (`glassgrad check`).
//!
//! A case is one `.safetensors` file holding an op's inputs, the upstream gradient, and what
//! PyTorch computed: the outputs and the gradient of every float input. The format is the
//! contract in `CASES.md`; `tests/cases/make_cases.py` writes the cases in `tests/cases/<op>/`.
//!
//! # What the runner does with one case
//! 1. Reads the file ([`file::read`]). `__metadata__` gives `op`, optional `atol`/`rtol`, and the
//!    op's attributes as JSON text; `device` is ignored (the `--device` flag decides).
//! 2. Looks the op up in the dispatch table ([`dispatch::OPS`]) and parses its attributes
//!    ([`Attrs`]): a missing attribute or JSON `null` takes the table's default; an attribute the
//!    table does not list for the op fails the case. So does an unknown op: never a skip.
//! 3. Sorts the tensors: `input.<name>`, `grad_output.<k>`, `expected.output.<k>`,
//!    `expected.grad.<name>`; any other name fails the case (a misspelling would otherwise
//!    silently skip a comparison). Float inputs must share one dtype, the dtype of the
//!    computation, which also picks the default tolerances (f32 `1e-5`/`1e-4`, f64
//!    `1e-10`/`1e-8`).
//! 4. Moves the inputs to the device; a float input that has an `expected.grad.<name>` is made a
//!    leaf requiring a gradient.
//! 5. Runs the forward pass. An input the op never read fails the case.
//! 6. Runs the backward pass once, from the scalar $L = \sum_k \sum_i y^{(k)}_i\, g^{(k)}_i$ over
//!    the outputs $y^{(k)}$ that have a `grad_output.<k>` $g^{(k)}$. Its gradient with respect to
//!    an input is exactly the vector–Jacobian product $\sum_k J_k^\top g^{(k)}$ (an absent
//!    `grad_output` counts as zero), also for ops with several outputs. An input that received
//!    no gradient compares as zeros.
//! 7. Compares every `expected.output.<k>` and `expected.grad.<name>` ([`compare`]): an element
//!    passes when $|\mathrm{got} - \mathrm{want}| \le \mathrm{atol} + \mathrm{rtol}|\mathrm{want}|$;
//!    NaN never passes, an infinity only against the same infinity.
//!
//! A case that compares nothing fails. A panic inside the engine is caught and fails the case.
//!
//! # Output and exit status
//! One line per case on stdout, then a summary:
//! ```text
//! PASS tests/cases/add/broadcast_f64.safetensors add max_abs=4.441e-16 max_rel=2.220e-16
//! FAIL tests/cases/max/dim1_f32.safetensors max unknown op `max` (the runner knows: add, sub, ...)
//! 1 passed, 1 failed
//! ```
//! `max_abs`/`max_rel` are the worst over every tensor compared. When the op is not known yet
//! (an unreadable file, no `op` metadata) the op column reads `?`. Folders are searched
//! recursively for `*.safetensors`, in sorted order; a file named on the command line is read
//! whatever its extension. Exit status: 0 when every case passes, 1 when one fails, 2 when a path
//! does not exist or holds no case file (then no case is run).
//!
//! **Devices.** `--device cuda` moves each case's inputs to CUDA device 0. A glassgrad built
//! without the `cuda` feature cannot, so every case FAILs with the error glassgrad returns
//! ("glassgrad was built without the `cuda` feature") and the exit status is 1; the command also
//! says so once on stderr.
//!
//! # Ops the runner knows
//! The project's copy of the op table of `CASES.md`, for the ops dispatched in [`dispatch::OPS`].
//! Inputs are the tensors `input.<name>`; outputs are numbered in the order given.
//!
//! | op | inputs | attributes (default) | outputs | PyTorch |
//! |---|---|---|---|---|
//! | `add` `sub` `mul` `div` | a, b (broadcast) | | 0 | `a + b` … |
//! | `neg` `exp` `log` `tanh` `sigmoid` `relu` `sqrt` | x | | 0 | `torch.exp(x)` … |
//! | `pow` | x | exponent (number; required) | 0 | `x ** exponent` |
//! | `sum` `mean` | x | dim (list or int; absent = all), keepdim (false) | 0 | `x.sum(dim, keepdim)` |
//! | `matmul` | a, b | | 0 | `torch.matmul` (1-D, 2-D, and batched with broadcast batch dims) |
//! | `transpose` | x | dim0, dim1 (required) | 0 | `x.transpose(dim0, dim1)` |
//! | `reshape` | x | shape (list; required; one `-1` allowed) | 0 | `x.reshape(shape)` |
//! | `max` `min` | x | dim (int; absent = every element), keepdim (false; only with dim) | 0 (values only) | `x.max(dim, keepdim).values` (first index among ties gets the gradient); `torch.max(x)` without dim (the gradient split evenly among ties) |
//! | `var` `std` | input | dim (list or int; absent = all), correction (1), keepdim (false) | 0 | `torch.var(input, dim, correction=, keepdim=)` |
//! | `argmax` `argmin` | input | dim (int; absent = the flattened tensor), keepdim (false) | 0 (I64; first index among ties) | `torch.argmax` |
//! | `sort` | input | dim (-1), descending (false), stable (false) | 0 values, 1 indices (I64) | `torch.sort`; glassgrad always sorts stably (cases with ties set stable = true) |
//! | `topk` | input | k (required), dim (-1), largest (true), sorted (true) | 0 values, 1 indices (I64) | `torch.topk` (which of tied values PyTorch picks is unspecified: tie cases record values only) |
//! | `logsumexp` | input | dim (int; required), keepdim (false) | 0 | `torch.logsumexp` |
//! | `eq` `ne` `lt` `le` `gt` `ge` | input, other (broadcast; f32, f64 or I64) | | 0 (BOOL) | `torch.eq(input, other)` … |
//! | `where` | condition (BOOL), input, other (all broadcast) | | 0 | `torch.where(condition, input, other)` |
//! | `masked_fill` | input, mask (BOOL, broadcast to input) | value (number; required) | 0 | `input.masked_fill(mask, value)` |
//! | `maximum` `minimum` | input, other (broadcast) | | 0 | `torch.maximum` (ties: half the gradient to each) |
//! | `clamp` | input | min, max (numbers; absent = no bound) | 0 | `torch.clamp` with scalar bounds (zero gradient at a bound) |
//! | `cat` `stack` | tensors.0, tensors.1, ... | dim (0) | 0 | `torch.cat(tensors, dim)` |
//! | `chunk` | input | chunks (required), dim (0) | 0, 1, ... (one per piece) | `torch.chunk` |
//! | `split` | tensor | split_size_or_sections (an integer; required), dim (0) | 0, 1, ... (one per piece) | `torch.split` |
//! | `gather` `index_select` | input, index (I64) | dim (required) | 0 | `torch.gather(input, dim, index)` … |
//! | `scatter_add` | input, index (I64), src (shape of index) | dim (required) | 0 | `torch.scatter_add(input, dim, index, src)` |
//! | `one_hot` | tensor (I64) | num_classes (-1: largest index + 1) | 0 (I64) | `F.one_hot` |
//! | `gelu` | input | approximate ("none" or "tanh") | 0 | `F.gelu` |
//! | `leaky_relu` | input | negative_slope (0.01) | 0 | `F.leaky_relu` |
//! | `elu` | input | alpha (1.0) | 0 | `F.elu` |
//! | `softplus` | input | beta (1.0), threshold (20.0) | 0 | `F.softplus` |
//! | `silu` | input | | 0 | `F.silu` |
//! | `dropout` | input | p (0.5), training (true) | 0 | `F.dropout`; only training = false, p = 0 or p = 1 (deterministic); training with 0 < p < 1 fails the case, as the masks cannot agree |
//! | `softmax` `log_softmax` | x | dim (-1) | 0 | `F.softmax(x, dim)` |
//! | `cross_entropy` | logits (N, C), target (N) I64 | reduction ("mean") | 0 | `F.cross_entropy` |
//! | `mse_loss` | input, target | reduction ("mean") | 0 | `F.mse_loss` |
//! | `nll_loss` | input (N, C) log-probabilities, target (N) I64, weight (C; optional; no gradient) | ignore_index (-100), reduction ("mean") | 0 | `F.nll_loss` |
//! | `binary_cross_entropy_with_logits` | input, target (same shape), weight, pos_weight (optional; broadcast to input; no gradient) | reduction ("mean") | 0 | `F.binary_cross_entropy_with_logits` |
//! | `linear` | x, weight (out, in), bias (out; optional) | | 0 | `F.linear` |
//! | `conv2d` | x (N, C, H, W), weight (O, C/groups, kH, kW), bias (O; optional) | stride (\[1,1\]), padding (\[0,0\]), dilation (\[1,1\]), groups (1), mode ("cross_correlation" or "convolution") | 0 | `F.conv2d` (mode "convolution": weight flipped in both spatial dims) |
//! | `max_pool2d` | x | kernel_size (required), stride (= kernel_size), padding (\[0,0\]) | 0 | `F.max_pool2d` |
//! | `avg_pool2d` | x | kernel_size (required), stride (= kernel_size), padding (\[0,0\]), count_include_pad (true) | 0 | `F.avg_pool2d` |
//! | `embedding` | indices (any shape) I64, weight (V, D) | padding_idx (none) | 0 | `F.embedding` |
//! | `rnn_tanh` | x (N, T, I), h0 (optional), weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (biases optional) | num_layers (1) | 0 output, 1 h_n | `nn.RNN(batch_first=True)` |
//! | `lstm` | x, h0, c0 (optional), weights with 4H rows (i, f, g, o) | num_layers (1) | 0 output, 1 h_n, 2 c_n | `nn.LSTM(batch_first=True)` |
//! | `gru` | x, h0 (optional), weights with 3H rows (r, z, n) | num_layers (1) | 0 output, 1 h_n | `nn.GRU(batch_first=True)` |
//! | `layer_norm` | input, weight, bias (both optional; shape normalized_shape) | normalized_shape (list), eps (1e-5) | 0 | `F.layer_norm` |
//! | `seed_rnn` | tokens (N, T) I64, embedding.weight (10, 8), rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, fc.weight (2, 8), fc.bias | | 0 logits (N, 2), last step | listing 1.4.2 without the stray `c0` |
//! | `seed_lstm` | tokens (N, T) I64, embedding.weight (1000, 64), rnn.*_l0, rnn.*_l1 (LSTM, hidden 128), fc.weight (10, 128), fc.bias | | 0 logits (N, 10), last step | listing 1.4.3 corrected |
//! | `mf_predict` | user (N) I64, item (N) I64, user_factors (U, K), item_factors (I, K), user_bias (U), item_bias (I), global_bias (scalar, shape []) | | 0 (N) | `(P[u] * Q[i]).sum(1) + bu[u] + bi[i] + mu` |
//! | `seed_recommender` | user (N) I64, item (N) I64, user_embedding.weight (U, K), item_embedding.weight (I, K), fc.weight (1, 2K), fc.bias (optional) | | 0 rating (N, 1) | listing 1.4.4 corrected: `fc(cat(user_embedding(user), item_embedding(item), dim=1))`, `fc = Linear(2K, 1)` |
//! | `batch_norm` | input (N, C, *), running_mean, running_var (C; optional together), weight, bias (C; optional) | training (false), momentum (0.1), eps (1e-5) | 0 output, 1 running_mean and 2 running_var after the call (when given; updated in place in training) | `F.batch_norm` |
//! | `seed_cnn` | x (N, 3, 28, 28), conv1.weight (32,3,3,3), conv1.bias, conv2.weight (64,32,3,3), conv2.bias, fc1.weight (128,3136), fc1.bias, fc2.weight (10,128), fc2.bias | | 0 logits (N, 10) | listing 1.4.1 (`models::cnn::SeedCnn`) |
//!
//! Adding an op: one entry in [`dispatch::OPS`] (see its docs), a row in the table above, and its
//! cases in a `tests/cases/make_cases*.py` script (`make_cases_more.py` holds the statistics,
//! sorting, comparison, joining, indexing, activation and `nll_loss` cases).

pub mod attrs;
pub mod compare;
pub mod dispatch;
pub mod failure;
pub mod file;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

pub use attrs::Attrs;
pub use compare::{Stats, Tolerance};
pub use dispatch::{Inputs, OPS, OpSpec};
pub use failure::Failure;

use crate::device::Device;
use crate::tensor::{DType, Tensor};

/// The result of one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The case file as found.
    pub file: PathBuf,
    /// The op, once read from the metadata.
    pub op: Option<String>,
    /// The worst differences, or why the case failed.
    pub result: Result<Stats, Failure>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }

    /// The report line: `PASS <file> <op> max_abs=<e> max_rel=<e>` or `FAIL <file> <op> <reason>`.
    pub fn line(&self) -> String {
        let op = self.op.as_deref().unwrap_or("?");
        let file = self.file.display();
        match &self.result {
            Ok(s) => format!("PASS {file} {op} max_abs={:.3e} max_rel={:.3e}", s.max_abs, s.max_rel),
            Err(why) => format!("FAIL {file} {op} {why}"),
        }
    }
}

/// The tensors of a case, sorted by role.
struct Roles {
    inputs: BTreeMap<String, Tensor>,
    grad_outputs: BTreeMap<usize, Tensor>,
    expected_outputs: BTreeMap<usize, Tensor>,
    expected_grads: BTreeMap<String, Tensor>,
}

fn output_index(full: &str, k: &str) -> Result<usize, Failure> {
    k.parse().map_err(|_| Failure::BadTensor {
        name: full.to_string(),
        msg: "the output number after the last dot must be 0, 1, 2, ...".into(),
    })
}

fn sort_roles(tensors: BTreeMap<String, Tensor>) -> Result<Roles, Failure> {
    let mut r = Roles {
        inputs: BTreeMap::new(),
        grad_outputs: BTreeMap::new(),
        expected_outputs: BTreeMap::new(),
        expected_grads: BTreeMap::new(),
    };
    for (name, t) in tensors {
        if let Some(n) = name.strip_prefix("input.") {
            r.inputs.insert(n.to_string(), t);
        } else if let Some(k) = name.strip_prefix("grad_output.") {
            r.grad_outputs.insert(output_index(&name, k)?, t);
        } else if let Some(k) = name.strip_prefix("expected.output.") {
            r.expected_outputs.insert(output_index(&name, k)?, t);
        } else if let Some(n) = name.strip_prefix("expected.grad.") {
            r.expected_grads.insert(n.to_string(), t);
        } else {
            return Err(Failure::BadTensor {
                name,
                msg: "not a case tensor (input.<name>, grad_output.<k>, expected.output.<k>, \
                      expected.grad.<name>)"
                    .into(),
            });
        }
    }
    Ok(r)
}

/// The dtype of the computation: the one dtype of the float inputs (or of the first expected
/// output when no input is float).
fn computation_dtype(r: &Roles) -> Result<DType, Failure> {
    let mut found: Option<(&str, DType)> = None;
    for (name, t) in &r.inputs {
        let d = t.dtype();
        if !d.is_float() {
            continue;
        }
        match found {
            Some((first, fd)) if fd != d => {
                return Err(Failure::BadTensor {
                    name: format!("input.{name}"),
                    msg: format!("dtype {d}, but input.{first} is {fd}: float inputs share one dtype"),
                });
            }
            None => found = Some((name, d)),
            _ => {}
        }
    }
    let fallback = r.expected_outputs.values().next().map(|t| t.dtype()).unwrap_or(DType::F32);
    Ok(found.map(|(_, d)| d).unwrap_or(fallback))
}

fn tolerance(metadata: &BTreeMap<String, String>, dtype: DType) -> Result<Tolerance, Failure> {
    let mut tol = Tolerance::default_for(dtype);
    for (key, slot) in [("atol", &mut tol.atol), ("rtol", &mut tol.rtol)] {
        if let Some(text) = metadata.get(key) {
            *slot =
                text.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| {
                    Failure::BadAttribute {
                        name: key.to_string(),
                        msg: format!("{text:?} is not a non-negative number"),
                    }
                })?;
        }
    }
    Ok(tol)
}

fn engine(stage: &'static str) -> impl Fn(crate::error::Error) -> Failure {
    move |e| Failure::Engine { stage, msg: e.to_string() }
}

/// The backward pass: the gradient of $L = \sum_k \langle y^{(k)}, g^{(k)} \rangle$.
fn backward(outputs: &[Tensor], grad_outputs: &BTreeMap<usize, Tensor>) -> Result<(), Failure> {
    let mut loss: Option<Tensor> = None;
    for (&k, g) in grad_outputs {
        let name = format!("grad_output.{k}");
        let Some(y) = outputs.get(k) else {
            return Err(Failure::BadTensor {
                name,
                msg: format!("the op has {} output(s), numbered from 0", outputs.len()),
            });
        };
        if g.shape() != y.shape() || g.dtype() != y.dtype() {
            return Err(Failure::BadTensor {
                name,
                msg: format!(
                    "shape {:?} {} does not match output {k}: {:?} {}",
                    g.shape(),
                    g.dtype(),
                    y.shape(),
                    y.dtype()
                ),
            });
        }
        if !y.requires_grad() {
            continue;
        }
        let term = y.mul(g).and_then(|p| p.sum()).map_err(engine("backward"))?;
        loss = Some(match loss {
            None => term,
            Some(l) => l.add(&term).map_err(engine("backward"))?,
        });
    }
    match loss {
        Some(l) => l.backward().map_err(engine("backward")),
        None => Ok(()),
    }
}

fn run_case_inner(path: &Path, device: Device, op_seen: &mut Option<String>) -> Result<Stats, Failure> {
    let case = file::read(path)?;
    let op_name = case.metadata.get("op").ok_or(Failure::MissingOp)?;
    *op_seen = Some(op_name.clone());
    let spec = dispatch::lookup(op_name).ok_or_else(|| Failure::UnknownOp {
        op: op_name.clone(),
        known: OPS.iter().map(|s| s.name).collect(),
    })?;
    let attrs = Attrs::parse(spec.name, spec.attrs, &case.metadata)?;
    let roles = sort_roles(case.tensors)?;
    let tol = tolerance(&case.metadata, computation_dtype(&roles)?)?;
    if roles.expected_outputs.is_empty() && roles.expected_grads.is_empty() {
        return Err(Failure::NothingCompared);
    }
    for name in roles.expected_grads.keys() {
        match roles.inputs.get(name) {
            Some(t) if t.dtype().is_float() => {}
            Some(t) => {
                return Err(Failure::BadTensor {
                    name: format!("expected.grad.{name}"),
                    msg: format!("input.{name} is {}; only float inputs have gradients", t.dtype()),
                });
            }
            None => return Err(Failure::MissingTensor(format!("input.{name}"))),
        }
    }

    let mut inputs = BTreeMap::new();
    for (name, t) in &roles.inputs {
        let t = t.to(&device).map_err(engine("moving inputs to the device"))?;
        if roles.expected_grads.contains_key(name) {
            t.set_requires_grad(true).map_err(engine("setup"))?;
        }
        inputs.insert(name.clone(), t);
    }
    let inputs = Inputs::new(inputs);

    let outputs = (spec.run)(&inputs, &attrs)?;
    if let Some(name) = inputs.unread().first() {
        return Err(Failure::BadTensor {
            name: format!("input.{name}"),
            msg: format!("op `{}` has no input `{name}`", spec.name),
        });
    }
    backward(&outputs, &roles.grad_outputs)?;

    let mut stats = Stats::default();
    for (&k, want) in &roles.expected_outputs {
        let name = format!("expected.output.{k}");
        let got = outputs.get(k).ok_or_else(|| Failure::BadTensor {
            name: name.clone(),
            msg: format!("the op has {} output(s), numbered from 0", outputs.len()),
        })?;
        stats = stats.merge(compare::compare(&name, got, want, tol)?);
    }
    for (name, want) in &roles.expected_grads {
        let input = inputs.get(name)?;
        let got = match input.grad() {
            Some(g) => g,
            None => input.zeros_like().map_err(engine("backward"))?,
        };
        stats = stats.merge(compare::compare(&format!("expected.grad.{name}"), &got, want, tol)?);
    }
    Ok(stats)
}

/// Runs the case in `path` on `device`. Never panics: every problem is a failed [`Outcome`].
pub fn run_case(path: &Path, device: Device) -> Outcome {
    let mut op = None;
    let result = catch_unwind(AssertUnwindSafe(|| run_case_inner(path, device, &mut op)));
    let result = result.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        Err(Failure::Panic(msg))
    });
    Outcome { file: path.to_path_buf(), op, result }
}

/// Why the paths given to the runner cannot be used (exit status 2).
#[derive(Debug)]
pub enum PathError {
    /// The path does not exist.
    Missing(PathBuf),
    /// A folder with no `*.safetensors` under it.
    NoCases(PathBuf),
    /// A folder that cannot be listed.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Missing(p) => write!(f, "{}: no such file or folder", p.display()),
            PathError::NoCases(p) => write!(f, "{}: no *.safetensors case file under it", p.display()),
            PathError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for PathError {}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), PathError> {
    let io = |e| PathError::Io(dir.to_path_buf(), e);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, found)?;
        } else if p.extension().is_some_and(|e| e == "safetensors") {
            found.push(p);
        }
    }
    Ok(())
}

/// The case files under `paths`, in the order given, each folder searched recursively for
/// `*.safetensors` in sorted order.
pub fn find_cases(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PathError> {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(PathError::Missing(p.clone()));
        }
        if p.is_dir() {
            let before = files.len();
            walk(p, &mut files)?;
            if files.len() == before {
                return Err(PathError::NoCases(p.clone()));
            }
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// The outcomes of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub outcomes: Vec<Outcome>,
}

impl Summary {
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed()).count()
    }
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
    /// The summary line, `N passed, M failed`.
    pub fn line(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }
    /// 0 when every case passed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.failed() == 0 { 0 } else { 1 }
    }
}

/// `glassgrad check`: finds the cases under `paths`, runs each on `device`, and writes one line
/// per case and the summary line to `out` as it goes. A [`PathError`] (exit status 2) is
/// returned before any case runs.
pub fn check(paths: &[PathBuf], device: Device, out: &mut dyn Write) -> Result<Summary, PathError> {
    let files = find_cases(paths)?;
    let mut outcomes = Vec::with_capacity(files.len());
    for f in &files {
        let o = run_case(f, device);
        // A closed stdout (`| head`) must not stop the run or change its exit status.
        let _ = writeln!(out, "{}", o.line());
        outcomes.push(o);
    }
    let summary = Summary { outcomes };
    let _ = writeln!(out, "{}", summary.line());
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Several outputs: the gradient is the sum of each output's vector–Jacobian product, and
    /// an output without a `grad_output` contributes nothing.
    #[test]
    fn backward_of_several_outputs_is_the_summed_vjp() -> Result<(), Failure> {
        let x = Tensor::from_vec(vec![0.5f64, -1.0, 2.0], &[3])?.requires_grad_()?;
        let outputs = vec![x.exp()?, x.mul(&x)?, x.neg()?];
        let g0 = Tensor::from_vec(vec![1.0f64, 2.0, -1.0], &[3])?;
        let g1 = Tensor::from_vec(vec![0.5f64, 0.25, 3.0], &[3])?;
        backward(&outputs, &BTreeMap::from([(0, g0), (1, g1)]))?;
        let got = x.grad().ok_or(Failure::NothingCompared)?.to_vec::<f64>()?;
        // d/dx: g0 * exp(x) + g1 * 2x (output 2 has no grad_output).
        let want = [0.5f64.exp() + 0.5, 2.0 * (-1.0f64).exp() - 0.5, -(2.0f64.exp()) + 12.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
        Ok(())
    }

    #[test]
    fn grad_output_must_match_its_output() -> Result<(), Failure> {
        let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2])?.requires_grad_()?;
        let g = Tensor::from_vec(vec![1.0f64], &[1])?;
        let res = backward(&[x.exp()?], &BTreeMap::from([(0, g.clone())]));
        assert!(matches!(&res, Err(e) if e.to_string().contains("does not match output 0")), "{res:?}");
        let res = backward(&[x.exp()?], &BTreeMap::from([(1, g)]));
        assert!(matches!(&res, Err(e) if e.to_string().contains("grad_output.1")), "{res:?}");
        Ok(())
    }
}
