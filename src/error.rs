//! One error type for the whole engine. Every variant names the operation that failed and carries
//! the shapes (or dtypes, devices, paths) involved, so that a message alone says what went wrong.

use crate::dtype::DType;

/// Every fallible glassgrad function returns this.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong, and in which op.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two operands whose shapes do not fit together (matmul, broadcasting, cat, ...).
    #[error("{op}: shapes {lhs:?} and {rhs:?} do not fit: {msg}")]
    ShapeMismatch { op: &'static str, lhs: Vec<usize>, rhs: Vec<usize>, msg: String },
    /// One operand whose shape is wrong for the op (rank, size, empty, ...).
    #[error("{op}: bad shape {shape:?}: {msg}")]
    Shape { op: &'static str, shape: Vec<usize>, msg: String },
    /// Operands of different dtypes (glassgrad never promotes silently).
    #[error("{op}: dtype mismatch: {lhs} (shape {lhs_shape:?}) and {rhs} (shape {rhs_shape:?})")]
    DTypeMismatch { op: &'static str, lhs: DType, rhs: DType, lhs_shape: Vec<usize>, rhs_shape: Vec<usize> },
    /// A dtype the op does not support (e.g. `exp` of an i64 tensor).
    #[error("{op}: unsupported dtype {dtype} (shape {shape:?}); expected {expected}")]
    UnsupportedDType { op: &'static str, dtype: DType, shape: Vec<usize>, expected: &'static str },
    /// A dimension argument outside `-rank..rank`.
    #[error("{op}: dimension {dim} out of range for a tensor of shape {shape:?}")]
    Dim { op: &'static str, dim: isize, shape: Vec<usize> },
    /// An index (class label, token id, gather index, ...) outside its range.
    #[error("{op}: index {index} out of range 0..{size} (shape {shape:?}): {msg}")]
    Index { op: &'static str, index: i64, size: usize, shape: Vec<usize>, msg: String },
    /// Operands on different devices, or a device that is not available.
    #[error("{op}: device error: {msg}")]
    Device { op: &'static str, msg: String },
    /// Misuse of autograd (backward of a non-scalar without a gradient, a freed graph, ...).
    #[error("autograd ({op}): {msg}")]
    Autograd { op: &'static str, msg: String },
    /// A bad argument that is not a shape (negative learning rate, zero batch size, ...).
    #[error("{op}: invalid argument: {msg}")]
    Invalid { op: &'static str, msg: String },
    /// A file that cannot be read, parsed or written.
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    /// An I/O error with no better context.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Shorthand for [`Error::Shape`].
    pub fn shape(op: &'static str, shape: &[usize], msg: impl Into<String>) -> Self {
        Error::Shape { op, shape: shape.to_vec(), msg: msg.into() }
    }

    /// Shorthand for [`Error::ShapeMismatch`].
    pub fn mismatch(op: &'static str, lhs: &[usize], rhs: &[usize], msg: impl Into<String>) -> Self {
        Error::ShapeMismatch { op, lhs: lhs.to_vec(), rhs: rhs.to_vec(), msg: msg.into() }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Invalid { op, msg: msg.into() }
    }

    /// Shorthand for [`Error::File`].
    pub fn file(path: impl AsRef<std::path::Path>, msg: impl std::fmt::Display) -> Self {
        Error::File { path: path.as_ref().display().to_string(), msg: msg.to_string() }
    }
}
