//! The CPU side of the recurrent ops: host copies of the operands for the kernels of
//! `device::cpu::rnn`, their outputs as tensor storage, their gradients as tensors.

use ndarray::{ArrayD, IxDyn};

use super::types::{InputGrads, LayerInputGrads, RnnWeights};
use crate::device::cpu::rnn::{self as kernels, Dims, Kind, LayerParams, Tape};
use crate::error::{Error, Result};
use crate::tensor::{Data, Float, Tensor};

fn to_data<T: Float>(op: &'static str, v: Vec<T>, shape: &[usize]) -> Result<Data> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::shape(op, shape, e.to_string()))?;
    Ok(T::wrap(a.into_shared()))
}

fn to_tensor<T: Float>(op: &'static str, v: Vec<T>, shape: &[usize]) -> Result<Tensor> {
    Ok(Tensor::from_data(to_data(op, v, shape)?))
}

/// The last step of each layer's `(N, T, H)` sequence, stacked to `(L, N, H)`.
fn last_steps<'a, T: Float>(d: Dims, seqs: impl Iterator<Item = &'a [T]>) -> Vec<T> {
    let mut v = Vec::with_capacity(d.l * d.n * d.h);
    for s in seqs {
        for b in 0..d.n {
            let at = (b * d.t + d.t - 1) * d.h;
            v.extend_from_slice(&s[at..at + d.h]);
        }
    }
    v
}

/// The forward pass on host copies of the operands (weights copied, so that a later optimizer
/// step cannot change them underneath the backward pass): the outputs (`output`, `h_n`, and `c_n`
/// for the LSTM) and the tape.
pub(super) fn forward<T: Float>(
    kind: Kind,
    d: Dims,
    x: &Tensor,
    h0: Option<&Tensor>,
    c0: Option<&Tensor>,
    layers: &[RnnWeights],
) -> Result<(Vec<Data>, Tape<T>)> {
    let op = kind.op();
    let state = d.l * d.n * d.h;
    let xs: Vec<T> = x.to_vec::<T>()?;
    let h0s: Vec<T> = match h0 {
        Some(h0) => h0.to_vec::<T>()?,
        None => vec![T::zero(); state],
    };
    let c0s: Vec<T> = match (kind, c0) {
        (Kind::Lstm, Some(c0)) => c0.to_vec::<T>()?,
        (Kind::Lstm, None) => vec![T::zero(); state],
        _ => Vec::new(),
    };
    let params: Vec<LayerParams<T>> = layers
        .iter()
        .map(|w| {
            Ok(LayerParams {
                w_ih: w.weight_ih.to_vec::<T>()?,
                w_hh: w.weight_hh.to_vec::<T>()?,
                b_ih: w.bias_ih.as_ref().map(|b| b.to_vec::<T>()).transpose()?,
                b_hh: w.bias_hh.as_ref().map(|b| b.to_vec::<T>()).transpose()?,
            })
        })
        .collect::<Result<_>>()?;

    let tape = kernels::forward(kind, d, xs, &h0s, &c0s, params)?;

    // Outputs: the top layer's sequence, and each layer's last state.
    let mut datas = vec![
        to_data(op, tape.layers[d.l - 1].y.clone(), &[d.n, d.t, d.h])?,
        to_data(op, last_steps(d, tape.layers.iter().map(|lt| &lt.y[..])), &[d.l, d.n, d.h])?,
    ];
    if kind == Kind::Lstm {
        datas.push(to_data(op, last_steps(d, tape.layers.iter().map(|lt| &lt.extra[..])), &[d.l, d.n, d.h])?);
    }
    Ok((datas, tape))
}

/// Backward through time from the tape of [`forward`], for the upstream gradients `g` of the
/// outputs (`output`, `h_n`, and `c_n` for the LSTM).
pub(super) fn backward<T: Float>(
    kind: Kind,
    d: Dims,
    tape: &Tape<T>,
    g: &[Tensor],
    need_dx: bool,
) -> Result<InputGrads> {
    let op = kind.op();
    let g_y = g[0].to_vec::<T>()?;
    let g_hn = g[1].to_vec::<T>()?;
    let g_cn = if kind == Kind::Lstm { g[2].to_vec::<T>()? } else { Vec::new() };
    let grads = kernels::backward(kind, d, tape, g_y, &g_hn, &g_cn, need_dx)?;
    let gh = kind.gates() * d.h;
    let mut layers = Vec::with_capacity(d.l);
    for (k, (lg, w)) in grads.layers.into_iter().zip(&tape.params).enumerate() {
        let ik = if k == 0 { d.i } else { d.h };
        layers.push(LayerInputGrads {
            dw_ih: to_tensor(op, lg.dw_ih, &[gh, ik])?,
            dw_hh: to_tensor(op, lg.dw_hh, &[gh, d.h])?,
            db_ih: if w.b_ih.is_some() { Some(to_tensor(op, lg.db_ih, &[gh])?) } else { None },
            db_hh: if w.b_hh.is_some() { Some(to_tensor(op, lg.db_hh, &[gh])?) } else { None },
        });
    }
    Ok(InputGrads {
        dx: grads.dx.map(|v| to_tensor(op, v, &[d.n, d.t, d.i])).transpose()?,
        dh0: to_tensor(op, grads.dh0, &[d.l, d.n, d.h])?,
        dc0: if kind == Kind::Lstm { Some(to_tensor(op, grads.dc0, &[d.l, d.n, d.h])?) } else { None },
        layers,
    })
}
