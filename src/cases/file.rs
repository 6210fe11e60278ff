//! Reading one case file (safetensors) into its metadata and glassgrad tensors.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::failure::Failure;
use crate::tensor::Tensor;

/// The raw content of a case file.
pub struct CaseFile {
    /// `__metadata__`, every value a string.
    pub metadata: BTreeMap<String, String>,
    /// Every tensor, by its full name (`input.x`, `expected.output.0`, ...).
    pub tensors: BTreeMap<String, Tensor>,
}

/// Decodes little-endian elements of `N` bytes.
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

/// One safetensors view as a glassgrad tensor (F32, F64, I64 or BOOL).
fn to_tensor(name: &str, dtype: Dtype, shape: &[usize], bytes: &[u8]) -> Result<Tensor, Failure> {
    let bad = |msg: String| Failure::BadTensor { name: name.to_string(), msg };
    let t = match dtype {
        Dtype::F32 => Tensor::from_vec(decode(bytes, f32::from_le_bytes), shape),
        Dtype::F64 => Tensor::from_vec(decode(bytes, f64::from_le_bytes), shape),
        Dtype::I64 => Tensor::from_vec(decode(bytes, i64::from_le_bytes), shape),
        Dtype::BOOL => Tensor::from_vec(bytes.iter().map(|&b| b != 0).collect(), shape),
        other => return Err(bad(format!("dtype {other} is not used by cases (F32, F64, I64)"))),
    };
    t.map_err(|e| bad(e.to_string()))
}

/// Reads and decodes the case file at `path`. Any problem with the bytes (missing file, not
/// safetensors, truncated data) is a [`Failure::Unreadable`].
pub fn read(path: &Path) -> Result<CaseFile, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::Unreadable(e.to_string()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Failure::Unreadable(format!("not a safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| Failure::Unreadable(format!("not a safetensors file: {e}")))?;
    let metadata: BTreeMap<String, String> =
        header.metadata().clone().unwrap_or_default().into_iter().collect();
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        let t = to_tensor(&name, view.dtype(), view.shape(), view.data())?;
        tensors.insert(name, t);
    }
    Ok(CaseFile { metadata, tensors })
}

/// The little-endian bytes of a tensor's elements, row-major.
fn encode(t: &Tensor) -> (Dtype, Vec<u8>) {
    use crate::tensor::Data;
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

/// Writes a case file: `metadata` as `__metadata__` and `tensors` by name. The counterpart of
/// [`read`], for tests and tools that make cases without PyTorch.
pub fn write(
    path: &Path,
    metadata: &[(&str, &str)],
    tensors: &[(&str, &Tensor)],
) -> crate::error::Result<()> {
    let file_err = |msg: String| crate::error::Error::file(path, msg);
    let encoded: Vec<(&str, Vec<usize>, Dtype, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            let (dtype, bytes) = encode(t);
            (*name, t.shape(), dtype, bytes)
        })
        .collect();
    let views = encoded
        .iter()
        .map(|(name, shape, dtype, bytes)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.to_string(), v))
                .map_err(|e| file_err(format!("tensor `{name}`: {e}")))
        })
        .collect::<crate::error::Result<Vec<_>>>()?;
    let meta = metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| file_err(e.to_string()))?;
    std::fs::write(path, bytes).map_err(|e| file_err(e.to_string()))
}
