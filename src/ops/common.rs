//! What many ops share: elementwise maps over arrays (rayon above a size threshold), the
//! same-dtype check, and the errors for mismatched dtypes or devices.

use ndarray::{ArcArray, ArrayD, IxDyn, Zip};

use crate::device::cpu::PARALLEL_THRESHOLD;
use crate::device::shape::broadcast_shapes;
use crate::error::{Error, Result};
use crate::tensor::{Data, Tensor};

/// `f` applied to every element of `a` (in parallel for large arrays; order does not matter).
pub(crate) fn map_array<T, U, F>(a: &ArcArray<T, IxDyn>, f: F) -> ArcArray<U, IxDyn>
where
    T: Copy + Send + Sync,
    U: Copy + Send + Sync,
    F: Fn(T) -> U + Sync + Send,
{
    if a.len() >= PARALLEL_THRESHOLD {
        Zip::from(a).par_map_collect(|&x| f(x)).into_shared()
    } else {
        a.map(|&x| f(x)).into_shared()
    }
}

/// `f(a, b)` elementwise with NumPy broadcasting.
pub(crate) fn zip_arrays<T, U, F>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    f: F,
) -> Result<ArcArray<U, IxDyn>>
where
    T: Copy + Send + Sync,
    U: Copy + Send + Sync,
    F: Fn(T, T) -> U + Sync + Send,
{
    if a.shape() == b.shape()
        && let (Some(xa), Some(xb)) = (a.as_slice(), b.as_slice())
    {
        let v: Vec<U> = if xa.len() >= PARALLEL_THRESHOLD {
            use rayon::prelude::*;
            xa.par_iter().zip(xb.par_iter()).map(|(&x, &y)| f(x, y)).collect()
        } else {
            xa.iter().zip(xb).map(|(&x, &y)| f(x, y)).collect()
        };
        return Ok(ArrayD::from_shape_vec(IxDyn(a.shape()), v)
            .map_err(|e| Error::invalid(op, e.to_string()))?
            .into_shared());
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape())?;
    let av = a
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::mismatch(op, a.shape(), b.shape(), "cannot broadcast"))?;
    let bv = b
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::mismatch(op, a.shape(), b.shape(), "cannot broadcast"))?;
    let n: usize = shape.iter().product();
    let out = if n >= PARALLEL_THRESHOLD {
        Zip::from(&av).and(&bv).par_map_collect(|&x, &y| f(x, y))
    } else {
        Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y))
    };
    Ok(out.into_shared())
}

/// Checks that two tensors have the same dtype (glassgrad never promotes silently).
pub(crate) fn same_dtype(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::DTypeMismatch {
            op,
            lhs: a.dtype(),
            rhs: b.dtype(),
            lhs_shape: a.shape(),
            rhs_shape: b.shape(),
        });
    }
    Ok(())
}

/// The error for two operands on different devices.
pub(crate) fn device_mismatch(op: &'static str, a: &Data, b: &Data) -> Error {
    Error::Device {
        op,
        msg: format!(
            "operands on different devices: {} (shape {:?}) and {} (shape {:?})",
            a.device(),
            a.shape(),
            b.device(),
            b.shape()
        ),
    }
}

/// The error for two operands that are not both f32 or both f64.
pub(crate) fn dtype_error(op: &'static str, a: &Data, b: &Data) -> Error {
    if a.dtype() != b.dtype() {
        Error::DTypeMismatch {
            op,
            lhs: a.dtype(),
            rhs: b.dtype(),
            lhs_shape: a.shape().to_vec(),
            rhs_shape: b.shape().to_vec(),
        }
    } else {
        Error::UnsupportedDType { op, dtype: a.dtype(), shape: a.shape().to_vec(), expected: "f32 or f64" }
    }
}
