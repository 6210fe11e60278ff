//! Getting tensors' device data for the CUDA paths of the ops, with the device checks that every
//! op repeats: an operand on the CPU while another is on a GPU, or operands on two GPUs, is an
//! [`Error::Device`] naming the op; an upstream gradient that arrived on the CPU is copied over.

use std::sync::Arc;

use crate::device::cuda::{CudaData, Gpu};
use crate::error::{Error, Result};
use crate::tensor::{Data, Tensor};

/// The device data of `t`, or a device error naming `op` (an operand on the CPU while another is
/// on a GPU, or two GPUs).
pub(crate) fn cuda_input(op: &'static str, t: &Tensor, gpu: Option<&Arc<Gpu>>) -> Result<CudaData> {
    match t.data() {
        Data::Cuda(c) => {
            if let Some(g) = gpu
                && g.ordinal() != c.ordinal()
            {
                return Err(Error::Device {
                    op,
                    msg: format!("operands on cuda:{} and cuda:{}", g.ordinal(), c.ordinal()),
                });
            }
            Ok(c)
        }
        other => Err(Error::Device {
            op,
            msg: format!(
                "operands on different devices: an operand of shape {:?} is on the CPU while another is on a GPU",
                other.shape()
            ),
        }),
    }
}

/// An upstream gradient as contiguous device data on `gpu` (copied there if it arrived on the CPU).
pub(crate) fn grad_on(g: &Tensor, gpu: &Arc<Gpu>) -> Result<CudaData> {
    let c = match g.data() {
        Data::Cuda(c) => c,
        other => other.to_cuda(gpu)?,
    };
    crate::device::cuda::copy::contiguous(&c)
}

/// The i64 ids of `t` on `gpu`, contiguous: `t`'s own device data when it is on a GPU (which must
/// be `gpu`), else `host` (the host copy of its values) uploaded.
pub(crate) fn ids_on(op: &'static str, t: &Tensor, host: &[i64], gpu: &Arc<Gpu>) -> Result<CudaData> {
    let on_gpu = match t.data() {
        Data::Cuda(_) => Some(cuda_input(op, t, Some(gpu))?),
        _ => None,
    };
    crate::device::cuda::index::ids_on(on_gpu.as_ref(), host, gpu)
}
