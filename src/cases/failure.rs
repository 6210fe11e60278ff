//! Why a case failed ([`Failure`]), the reason printed after `FAIL <file> <op>`.

use std::fmt;

use crate::dtype::DType;

/// Why a case failed: the reason printed after `FAIL <file> <op>`.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The file cannot be read or is not a valid safetensors file.
    Unreadable(String),
    /// `__metadata__` has no `op`.
    MissingOp,
    /// An op the dispatch table does not hold.
    UnknownOp { op: String, known: Vec<&'static str> },
    /// An attribute the op does not take.
    UnknownAttribute { op: String, name: String, known: Vec<&'static str> },
    /// An attribute (or `atol`/`rtol`) with a value of the wrong kind, or a required one missing.
    BadAttribute { name: String, msg: String },
    /// A tensor the case needs is not in the file.
    MissingTensor(String),
    /// A tensor the runner cannot use (dtype, unknown name, mixed float dtypes, ...).
    BadTensor { name: String, msg: String },
    /// The error glassgrad returned, and in which stage of the case.
    Engine { stage: &'static str, msg: String },
    /// glassgrad panicked (a bug: the public API returns errors).
    Panic(String),
    /// A computed tensor of the wrong shape.
    Shape { tensor: String, got: Vec<usize>, want: Vec<usize> },
    /// A computed tensor of the wrong dtype.
    DType { tensor: String, got: DType, want: DType },
    /// Values out of tolerance: the first one, and how many.
    Value(Box<ValueMismatch>),
    /// The case holds no `expected.output.<k>` and no `expected.grad.<name>`.
    NothingCompared,
}

impl From<crate::error::Error> for Failure {
    fn from(e: crate::error::Error) -> Self {
        Failure::Engine { stage: "forward", msg: e.to_string() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unreadable(msg) => write!(f, "unreadable file: {msg}"),
            Failure::MissingOp => write!(f, "no `op` in the file's __metadata__"),
            Failure::UnknownOp { op, known } => {
                write!(f, "unknown op `{op}` (the runner knows: {})", known.join(", "))
            }
            Failure::UnknownAttribute { op, name, known } => {
                let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                write!(f, "unknown attribute `{name}` for op `{op}` (it takes: {known})")
            }
            Failure::BadAttribute { name, msg } => write!(f, "attribute `{name}`: {msg}"),
            Failure::MissingTensor(name) => write!(f, "missing tensor `{name}`"),
            Failure::BadTensor { name, msg } => write!(f, "tensor `{name}`: {msg}"),
            Failure::Engine { stage, msg } => write!(f, "glassgrad error in {stage}: {msg}"),
            Failure::Panic(msg) => write!(f, "glassgrad panicked: {msg}"),
            Failure::Shape { tensor, got, want } => {
                write!(f, "{tensor}: shape mismatch: got {got:?}, want {want:?}")
            }
            Failure::DType { tensor, got, want } => {
                write!(f, "{tensor}: dtype mismatch: got {got}, want {want}")
            }
            Failure::Value(m) => write!(f, "{m}"),
            Failure::NothingCompared => {
                write!(f, "the case holds no expected.output.<k> and no expected.grad.<name>")
            }
        }
    }
}

/// The first element out of tolerance in one tensor, and how many are.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMismatch {
    /// The expected tensor's name (`expected.output.0`, `expected.grad.x`).
    pub tensor: String,
    /// Flat (row-major) index of the first bad element, and its multi-index.
    pub index: usize,
    pub at: Vec<usize>,
    /// The values, printed at the tensor's precision.
    pub got: String,
    pub want: String,
    /// `|got - want|` and the bound `atol + rtol * |want|` it exceeds.
    pub diff: f64,
    pub bound: f64,
    /// Elements out of tolerance, of all elements.
    pub failing: usize,
    pub total: usize,
}

impl std::fmt::Display for ValueMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self;
        write!(
            f,
            "{} at flat index {} {:?}: got {}, want {} (|got - want| = {:.3e} > atol + rtol*|want| = {:.3e}); \
             {} of {} elements out of tolerance",
            m.tensor, m.index, m.at, m.got, m.want, m.diff, m.bound, m.failing, m.total
        )
    }
}
