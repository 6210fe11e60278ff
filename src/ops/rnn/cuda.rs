//! The GPU side of the recurrent ops: the operands as contiguous device data on one GPU (the
//! device checks of every op; zeros for an absent `h0`/`c0`) for the host code of
//! `device::cuda::recurrent`, its outputs as tensor storage, its gradients as tensors.

use std::sync::Arc;

use super::types::{InputGrads, LayerInputGrads, RnnWeights};
use crate::device::cpu::rnn::{Dims, Kind};
use crate::device::cuda::copy::{contiguous, full};
use crate::device::cuda::recurrent::{self, LayerW};
use crate::device::cuda::{CudaData, Gpu};
use crate::error::{Error, Result};
use crate::ops::device_data::{cuda_input, grad_on};
use crate::tensor::{DType, Data, Tensor};

/// What the forward pass on a GPU saved for backward, and the GPU.
pub(super) struct Saved {
    dev: recurrent::Saved,
    gpu: Arc<Gpu>,
}

/// The forward pass (operands validated into `d` by the caller) with the operands on a GPU:
/// the outputs (`output`, `h_n`, and `c_n` for the LSTM) and what backward needs.
pub(super) fn forward(
    kind: Kind,
    d: Dims,
    x_t: &Tensor,
    h0_t: Option<&Tensor>,
    c0_t: Option<&Tensor>,
    layers: &[RnnWeights],
) -> Result<(Vec<Data>, Saved)> {
    let op = kind.op();
    let x = cuda_input(op, x_t, None)?;
    let gpu = x.gpu().clone();
    let on = |t: &Tensor| -> Result<CudaData> { contiguous(&cuda_input(op, t, Some(&gpu))?) };
    let x = contiguous(&x)?;
    let dtype = x.dtype();
    if !matches!(dtype, DType::F32 | DType::F64) {
        return Err(Error::UnsupportedDType { op, dtype, shape: x.shape().to_vec(), expected: "f32 or f64" });
    }
    let state = [d.l, d.n, d.h];
    let h0 = match h0_t {
        Some(t) => on(t)?,
        None => full(&gpu, &state, dtype, 0.0)?,
    };
    let c0 = match (kind, c0_t) {
        (Kind::Lstm, Some(t)) => Some(on(t)?),
        (Kind::Lstm, None) => Some(full(&gpu, &state, dtype, 0.0)?),
        (_, Some(t)) => {
            on(t)?;
            None
        }
        _ => None,
    };
    let ws: Vec<LayerW> = layers
        .iter()
        .map(|w| {
            Ok(LayerW {
                w_ih: on(&w.weight_ih)?,
                w_hh: on(&w.weight_hh)?,
                b_ih: w.bias_ih.as_ref().map(&on).transpose()?,
                b_hh: w.bias_hh.as_ref().map(&on).transpose()?,
            })
        })
        .collect::<Result<_>>()?;
    let (outs, dev) = recurrent::forward(kind, d, &x, ws, h0, c0)?;
    Ok((outs.into_iter().map(Data::Cuda).collect(), Saved { dev, gpu }))
}

/// Backward through time on the forward pass's GPU, for the upstream gradients `g` of the outputs
/// (copied to that GPU where they arrived on the CPU).
pub(super) fn backward(
    kind: Kind,
    d: Dims,
    saved: &Saved,
    g: &[Tensor],
    need_dx: bool,
) -> Result<InputGrads> {
    let gpu = &saved.gpu;
    let g_y = grad_on(&g[0], gpu)?;
    let g_hn = grad_on(&g[1], gpu)?;
    let g_cn = if kind == Kind::Lstm { Some(grad_on(&g[2], gpu)?) } else { None };
    let grads = recurrent::backward(kind, d, &saved.dev, g_y, &g_hn, g_cn.as_ref(), need_dx)?;
    let wrap = |c: CudaData| Tensor::from_data(Data::Cuda(c));
    Ok(InputGrads {
        dx: grads.dx.map(wrap),
        dh0: wrap(grads.dh0),
        dc0: grads.dc0.map(wrap),
        layers: grads
            .layers
            .into_iter()
            .map(|lg| LayerInputGrads {
                dw_ih: wrap(lg.dw_ih),
                dw_hh: wrap(lg.dw_hh),
                db_ih: lg.db_ih.map(wrap),
                db_hh: lg.db_hh.map(wrap),
            })
            .collect(),
    })
}
