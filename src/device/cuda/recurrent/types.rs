//! What the recurrent host code passes around on the device: a layer's weights ([`LayerW`]), what
//! the forward pass saves for backward ([`Saved`]), the gradients ([`Grads`]), and the small helpers
//! that the forward and backward files share.

use std::sync::Arc;

use cudarc::driver::{CudaSlice, CudaView};

use crate::device::cpu::rnn::Dims;
use crate::device::cuda::context::{Gpu, dev_err};
use crate::device::cuda::matmul::FloatElem;
use crate::device::cuda::storage::CudaData;
use crate::dtype::DType;
use crate::error::Result;

/// One layer's weights on the device, contiguous (values as at forward time).
#[derive(Clone)]
pub(crate) struct LayerW {
    pub(crate) w_ih: CudaData,
    pub(crate) w_hh: CudaData,
    pub(crate) b_ih: Option<CudaData>,
    pub(crate) b_hh: Option<CudaData>,
}

/// What one layer saves for backward.
pub(super) struct LayerTape {
    /// The layer's input (N, T, I_k).
    pub(super) x: CudaData,
    /// The output sequence h_1..h_T (N, T, H).
    pub(super) y: CudaData,
    /// LSTM/GRU: the activations of every step (N, T, G·H).
    pub(super) acts: Option<CudaData>,
    /// LSTM: the cell states c_1..c_T; GRU: q^n of every step (N, T, H).
    pub(super) extra: Option<CudaData>,
}

/// Everything the backward needs.
pub(crate) struct Saved {
    pub(super) layers: Vec<LayerTape>,
    pub(super) w: Vec<LayerW>,
    /// Initial states (L, N, H), contiguous (zeros when absent).
    pub(super) h0: CudaData,
    pub(super) c0: Option<CudaData>,
    /// The element type of every buffer above (f32 or f64).
    pub(super) dtype: DType,
}

/// One layer's gradients (a bias gradient where the layer has that bias).
pub(crate) struct LayerGrads {
    pub(crate) dw_ih: CudaData,
    pub(crate) dw_hh: CudaData,
    pub(crate) db_ih: Option<CudaData>,
    pub(crate) db_hh: Option<CudaData>,
}

/// The gradients of the stack: `dx` when asked for, `dh0`, `dc0` (LSTM) and each layer's.
pub(crate) struct Grads {
    pub(crate) dx: Option<CudaData>,
    pub(crate) dh0: CudaData,
    pub(crate) dc0: Option<CudaData>,
    pub(crate) layers: Vec<LayerGrads>,
}

pub(super) fn view<'a, T: FloatElem>(op: &'static str, c: &'a CudaData) -> Result<CudaView<'a, T>> {
    Ok(c.slice::<T>(op)?.slice(c.offset..))
}

/// `len` elements of `src` from `from` copied into `dst` from `to`.
pub(super) fn copy<T: FloatElem>(
    op: &'static str,
    gpu: &Arc<Gpu>,
    src: &CudaView<'_, T>,
    from: usize,
    dst: &mut CudaSlice<T>,
    to: usize,
    len: usize,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let s = src.slice(from..from + len);
    let mut d = dst.slice_mut(to..to + len);
    gpu.stream().memcpy_dtod(&s, &mut d).map_err(dev_err(op))
}

/// The scalar arguments of a step kernel: `n, t, h, s, time_major = 0`.
pub(super) fn step_args(d: Dims, s: usize) -> (i64, i64, i64, i64, i32) {
    (d.n as i64, d.t as i64, d.h as i64, s as i64, 0i32)
}
