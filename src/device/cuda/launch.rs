//! What every launch needs: fresh typed output blocks, the float-dtype checks and kernel-name
//! suffixes, the same-GPU check, and the error for an internal inconsistency.

use std::sync::Arc;

use super::alloc::DevElem;
use super::context::{Block, Gpu};
use super::storage::CudaData;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The error for an internal inconsistency (a fresh block of the wrong type, a shared block).
pub(crate) fn internal(op: &'static str, what: &str) -> Error {
    Error::Device { op, msg: format!("internal: {what}") }
}

/// A fresh, uninitialised block of `len` elements of `T` (contents undefined: the kernel writes
/// every element it is asked to).
pub(crate) fn fresh<T: DevElem>(gpu: &Arc<Gpu>, len: usize) -> Result<Block> {
    gpu.alloc::<T>(len)
}

/// The typed mutable slice of a block that nobody else holds yet.
pub(crate) fn block_mut<'a, T: DevElem>(
    op: &'static str,
    b: &'a mut Block,
) -> Result<&'a mut cudarc::driver::CudaSlice<T>> {
    b.slice_mut::<T>().ok_or_else(|| internal(op, "fresh block of the wrong type"))
}

/// The float dtype of `c` as `f32`/`f64`, or an unsupported-dtype error naming `op`.
pub(crate) fn float_dtype(op: &'static str, c: &CudaData) -> Result<DType> {
    match c.dtype() {
        d @ (DType::F32 | DType::F64) => Ok(d),
        other => Err(Error::UnsupportedDType {
            op,
            dtype: other,
            shape: c.shape().to_vec(),
            expected: "f32 or f64",
        }),
    }
}

/// The float kernel-name suffix of `dtype`, or a dtype error naming `op`.
pub(crate) fn float_suffix(op: &'static str, d: &CudaData) -> Result<&'static str> {
    match d.dtype {
        DType::F32 => Ok("f32"),
        DType::F64 => Ok("f64"),
        other => {
            Err(Error::UnsupportedDType { op, dtype: other, shape: d.shape.clone(), expected: "f32 or f64" })
        }
    }
}

/// Both operands on one device, or a device error naming `op`.
pub(crate) fn same_gpu(op: &'static str, a: &CudaData, b: &CudaData) -> Result<()> {
    if a.ordinal() != b.ordinal() {
        return Err(Error::Device {
            op,
            msg: format!("operands on cuda:{} and cuda:{}", a.ordinal(), b.ordinal()),
        });
    }
    Ok(())
}

/// Runs `launch` with the typed output buffer of a fresh `shape` tensor.
pub(crate) fn with_output<T: DevElem>(
    gpu: &Arc<Gpu>,
    op: &'static str,
    dtype: DType,
    shape: &[usize],
    launch: impl FnOnce(&mut cudarc::driver::CudaSlice<T>) -> Result<()>,
) -> Result<CudaData> {
    let n: usize = shape.iter().product();
    let mut block = gpu.alloc::<T>(n)?;
    if n > 0 {
        let out = block
            .slice_mut::<T>()
            .ok_or_else(|| Error::Device { op, msg: "internal: fresh block of the wrong type".into() })?;
        launch(out)?;
    }
    Ok(CudaData::new(block, dtype, shape))
}
