//! Dtype conversion. Between f32 and f64 it is differentiable: $\partial L/\partial x$ is the
//! upstream gradient converted back to $x$'s dtype. To or from i64 and bool it is not (no gradient
//! flows through integers); floats convert to i64 by truncation toward zero, as in PyTorch.
//!
//! Moving between devices ([`Tensor::to`]) lives here too: a copy whose gradient is the upstream
//! gradient moved back.

use crate::autograd::record;
use crate::device::Device;
use crate::error::Result;
use crate::map_any;
use crate::ops::common::map_array;
use crate::tensor::{DType, Data, Element, Tensor};

fn convert<T: Element>(d: &Data) -> Data {
    let out = match d {
        #[cfg(feature = "cuda")]
        Data::Cuda(_) => return d.clone(),
        Data::F32(a) => map_array(a, |v| T::from_f64(v as f64)),
        Data::F64(a) => map_array(a, T::from_f64),
        Data::I64(a) => map_array(a, T::from_i64),
        Data::Bool(a) => map_array(a, |v| T::from_f64(if v { 1.0 } else { 0.0 })),
    };
    T::wrap(out)
}

/// Converts `x` to `dtype` (a cheap clone when it already has it).
pub fn to_dtype(x: &Tensor, dtype: DType) -> Result<Tensor> {
    let from = x.dtype();
    if from == dtype {
        return Ok(x.clone());
    }
    let d = x.data();
    #[cfg(feature = "cuda")]
    if let Data::Cuda(c) = &d {
        let y = Data::Cuda(crate::device::cuda::copy::cast(c, dtype)?);
        if !(from.is_float() && dtype.is_float()) {
            return Ok(Tensor::from_data(y));
        }
        return Ok(record(y, "to_dtype", &[x], move |g| Ok(vec![Some(g.to_dtype(from)?)])));
    }
    let y = match dtype {
        DType::F32 => convert::<f32>(&d),
        DType::F64 => convert::<f64>(&d),
        DType::I64 => convert::<i64>(&d),
        DType::Bool => map_any!(&d, |a| a.clone()).clone_as_bool(),
    };
    if !(from.is_float() && dtype.is_float()) {
        return Ok(Tensor::from_data(y));
    }
    Ok(record(y, "to_dtype", &[x], move |g| Ok(vec![Some(g.to_dtype(from)?)])))
}

impl Tensor {
    /// Converts to another dtype (a new tensor; differentiable between f32 and f64).
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        to_dtype(self, dtype)
    }

    /// The tensor on `device`: itself when already there, else a copy that is differentiable (the
    /// gradient flows back to the source device, as `Tensor.to` in PyTorch).
    pub fn to(&self, device: &Device) -> Result<Tensor> {
        if self.device() == *device {
            return Ok(self.clone());
        }
        let from = self.device();
        let moved = self.data().to_device(device)?;
        Ok(record(moved, "to", &[self], move |g| Ok(vec![Some(g.to(&from)?)])))
    }
}

impl Data {
    /// Non-zero → true.
    fn clone_as_bool(&self) -> Data {
        match self {
            Data::F32(a) => Data::Bool(map_array(a, |v| v != 0.0)),
            Data::F64(a) => Data::Bool(map_array(a, |v| v != 0.0)),
            Data::I64(a) => Data::Bool(map_array(a, |v| v != 0)),
            Data::Bool(a) => Data::Bool(a.clone()),
            #[cfg(feature = "cuda")]
            Data::Cuda(_) => self.clone(),
        }
    }
}
