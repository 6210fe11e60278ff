//! Elman RNN with tanh: `nn.RNN(nonlinearity="tanh", batch_first=True)`, the document's §1.3.2.1
//!
//! $$h_t = \tanh(W h_{t-1} + U x_t + b).$$
//!
//! In PyTorch's names (which the weights keep) $U = W_{ih}$ $(H \times I)$, $W = W_{hh}$
//! $(H \times H)$ and $b = b_{ih} + b_{hh}$. With the batch in rows ($x_t$ is $N \times I$, $h_t$ is
//! $N \times H$) one layer computes, for $t = 1, \dots, T$,
//!
//! $$a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}, \qquad h_t = \tanh(a_t).$$
//!
//! Shapes: `x` $(N, T, I)$, `h0` $(L, N, H)$ (absent = zeros), outputs `output` $(N, T, H)$ (the
//! top layer's $h_1 \dots h_T$) and `h_n` $(L, N, H)$ (every layer's $h_T$). Layer $k > 0$ reads
//! layer $k-1$'s output as its $x$.
//!
//! **Backward through time.** Let $\bar h_t$ be the gradient reaching $h_t$: the upstream gradient
//! of the output at step $t$ plus what flows back from step $t+1$ (at $t = T$, the gradient of
//! `h_n`). Then, for $t = T, \dots, 1$,
//!
//! $$\bar a_t = \bar h_t \odot (1 - h_t^2), \qquad \bar h_{t-1} \mathrel{+}= \bar a_t W_{hh},$$
//!
//! $$\bar W_{ih} = \sum_t \bar a_t^\top x_t, \quad \bar W_{hh} = \sum_t \bar a_t^\top h_{t-1}, \quad
//! \bar b_{ih} = \bar b_{hh} = \sum_{t} \sum_{n} (\bar a_t)_{n,:}, \quad \bar x_t = \bar a_t W_{ih},
//! \quad \bar h_0 = \bar a_1 W_{hh}.$$
//!
//! Saved for backward: each layer's input and its $h_0 \dots h_T$ ($\tanh' = 1 - h^2$ needs nothing
//! else), and the weights' values at the time of the forward pass.
//!
//! **Kernel** (shared by [`Tensor::rnn_tanh`], [`Tensor::lstm`], [`Tensor::gru`], in
//! `device/cpu/rnn/`: the time loop in `time_loop.rs`, each cell's step in its own file): the
//! input projection of all steps is one GEMM, $(N T \times I) \cdot W_{ih}^\top$; each step is one
//! GEMM for the recurrence, $h_{t-1} W_{hh}^\top$, plus one fused elementwise pass (rayon over the
//! batch rows). Backward runs the steps in reverse with two GEMMs per step ($\bar h_{t-1}$ and the
//! in-order accumulation of $\bar W_{hh}$), then one GEMM for $\bar W_{ih}$ over all steps and one
//! for $\bar x$. Every sum runs in a fixed order, so results do not depend on the thread count.
//! The whole sequence is one recorded op (`rnn_tanh`, `lstm` or `gru`), not a chain of tiny nodes.
//!
//! **Dispatch.** `run` validates the operands, runs the forward pass where they live (the CPU
//! kernels on host copies, `cpu.rs`; or the CUDA host code of `device::cuda::recurrent` on
//! contiguous device data, `cuda.rs`) and records one multi-output node whose backward runs on the
//! same device from what the forward pass saved. `RnnWeights` is in `types.rs`.

mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
mod types;

pub use types::RnnWeights;

use crate::autograd::record_multi;
use crate::device::cpu::rnn::{Dims, Kind, Tape};
use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Tensor};
use types::InputGrads;

impl Tensor {
    /// A multi-layer Elman RNN with tanh (see the module docs): returns `(output (N, T, H),
    /// h_n (L, N, H))` for `x (N, T, I)`, `h0 (L, N, H)` (absent = zeros) and one [`RnnWeights`]
    /// per layer. PyTorch: `nn.RNN(I, H, L, nonlinearity="tanh", batch_first=True)`.
    pub fn rnn_tanh(x: &Tensor, h0: Option<&Tensor>, layers: &[RnnWeights]) -> Result<(Tensor, Tensor)> {
        let mut out = run(Kind::RnnTanh, x, h0, None, layers)?.into_iter();
        match (out.next(), out.next()) {
            (Some(y), Some(h_n)) => Ok((y, h_n)),
            _ => Err(Error::invalid("rnn_tanh", "internal: expected two outputs")),
        }
    }
}

/// Checks one tensor's shape and dtype against what the op needs.
fn expect(op: &'static str, name: &str, t: &Tensor, want: &[usize], dtype: DType, what: &str) -> Result<()> {
    if t.shape() != want {
        return Err(Error::mismatch(op, &t.shape(), want, format!("{name} must be {what} = {want:?}")));
    }
    if t.dtype() != dtype {
        return Err(Error::DTypeMismatch {
            op,
            lhs: dtype,
            rhs: t.dtype(),
            lhs_shape: want.to_vec(),
            rhs_shape: t.shape(),
        });
    }
    Ok(())
}

/// Validates the inputs of a recurrent op; returns the sizes.
pub(crate) fn validate(
    kind: Kind,
    x: &Tensor,
    h0: Option<&Tensor>,
    c0: Option<&Tensor>,
    layers: &[RnnWeights],
) -> Result<Dims> {
    let op = kind.op();
    let xs = x.shape();
    if xs.len() != 3 {
        return Err(Error::shape(op, &xs, "the sequence x must have rank 3: (N, T, I), batch first"));
    }
    let (n, t, i) = (xs[0], xs[1], xs[2]);
    if n == 0 || t == 0 || i == 0 {
        return Err(Error::shape(op, &xs, "the sequence x (N, T, I) must have N, T, I ≥ 1"));
    }
    let dtype = x.dtype();
    if !dtype.is_float() {
        return Err(Error::UnsupportedDType { op, dtype, shape: xs, expected: "f32 or f64" });
    }
    let Some(first) = layers.first() else {
        return Err(Error::invalid(op, "at least one layer of weights is needed"));
    };
    let g = kind.gates();
    let whh = first.weight_hh.shape();
    if whh.len() != 2 || whh[1] == 0 || whh[0] != g * whh[1] {
        return Err(Error::shape(
            op,
            &whh,
            format!("weight_hh_l0 must be ({g}·H, H) for hidden size H ≥ 1 ({g} gate block(s) of H rows)"),
        ));
    }
    let h = whh[1];
    let l = layers.len();
    for (k, w) in layers.iter().enumerate() {
        let ik = if k == 0 { i } else { h };
        let what_ih = if k == 0 {
            format!("({g}·H, I) with H = {h}, I = {i}")
        } else {
            format!("({g}·H, H) with H = {h}")
        };
        expect(op, &format!("weight_ih_l{k}"), &w.weight_ih, &[g * h, ik], dtype, &what_ih)?;
        expect(
            op,
            &format!("weight_hh_l{k}"),
            &w.weight_hh,
            &[g * h, h],
            dtype,
            &format!("({g}·H, H) with H = {h}"),
        )?;
        if let Some(b) = &w.bias_ih {
            expect(op, &format!("bias_ih_l{k}"), b, &[g * h], dtype, &format!("({g}·H) with H = {h}"))?;
        }
        if let Some(b) = &w.bias_hh {
            expect(op, &format!("bias_hh_l{k}"), b, &[g * h], dtype, &format!("({g}·H) with H = {h}"))?;
        }
    }
    if let Some(h0) = h0 {
        expect(op, "h0", h0, &[l, n, h], dtype, "(num_layers, N, H)")?;
    }
    if let Some(c0) = c0 {
        expect(op, "c0", c0, &[l, n, h], dtype, "(num_layers, N, H)")?;
    }
    Ok(Dims { n, t, i, h, l })
}

/// What the forward pass saved for backward, per device (and element type on the CPU).
enum Saved {
    F32(Tape<f32>),
    F64(Tape<f64>),
    #[cfg(feature = "cuda")]
    Cuda(cuda::Saved),
}

/// Forward of a recurrent op, recorded as one multi-output node. Outputs: `output`, `h_n`, and
/// `c_n` for the LSTM.
pub(crate) fn run(
    kind: Kind,
    x: &Tensor,
    h0: Option<&Tensor>,
    c0: Option<&Tensor>,
    layers: &[RnnWeights],
) -> Result<Vec<Tensor>> {
    let d = validate(kind, x, h0, c0, layers)?;
    let op = kind.op();
    let (datas, saved) = forward(kind, d, x, h0, c0, layers)?;

    // Inputs in a fixed order; the backward returns one gradient per entry.
    let mut inputs: Vec<&Tensor> = vec![x];
    inputs.extend(h0);
    inputs.extend(c0);
    for w in layers {
        inputs.extend(w.tensors());
    }
    let need_dx = x.requires_grad();
    let (has_h0, has_c0) = (h0.is_some(), c0.is_some());
    let has_bias: Vec<(bool, bool)> =
        layers.iter().map(|w| (w.bias_ih.is_some(), w.bias_hh.is_some())).collect();
    Ok(record_multi(datas, op, &inputs, move |g: &[Tensor]| {
        let grads = match &saved {
            Saved::F32(tape) => cpu::backward::<f32>(kind, d, tape, g, need_dx)?,
            Saved::F64(tape) => cpu::backward::<f64>(kind, d, tape, g, need_dx)?,
            #[cfg(feature = "cuda")]
            Saved::Cuda(s) => cuda::backward(kind, d, s, g, need_dx)?,
        };
        Ok(in_input_order(grads, has_h0, has_c0, &has_bias))
    }))
}

/// The forward pass on the device of the operands: the outputs and what backward needs.
fn forward(
    kind: Kind,
    d: Dims,
    x: &Tensor,
    h0: Option<&Tensor>,
    c0: Option<&Tensor>,
    layers: &[RnnWeights],
) -> Result<(Vec<Data>, Saved)> {
    #[cfg(feature = "cuda")]
    {
        let mut all: Vec<&Tensor> = vec![x];
        all.extend(h0);
        all.extend(c0);
        for w in layers {
            all.extend(w.tensors());
        }
        if all.iter().any(|t| t.device().is_cuda()) {
            let (datas, saved) = cuda::forward(kind, d, x, h0, c0, layers)?;
            return Ok((datas, Saved::Cuda(saved)));
        }
    }
    match x.dtype() {
        DType::F32 => {
            let (datas, tape) = cpu::forward::<f32>(kind, d, x, h0, c0, layers)?;
            Ok((datas, Saved::F32(tape)))
        }
        DType::F64 => {
            let (datas, tape) = cpu::forward::<f64>(kind, d, x, h0, c0, layers)?;
            Ok((datas, Saved::F64(tape)))
        }
        dtype => {
            Err(Error::UnsupportedDType { op: kind.op(), dtype, shape: x.shape(), expected: "f32 or f64" })
        }
    }
}

/// The gradients in the order of the recorded inputs: `x`, `h0` and `c0` where given, then each
/// layer's `weight_ih`, `weight_hh` and the biases it has.
fn in_input_order(
    g: InputGrads,
    has_h0: bool,
    has_c0: bool,
    has_bias: &[(bool, bool)],
) -> Vec<Option<Tensor>> {
    let mut out: Vec<Option<Tensor>> = vec![g.dx];
    if has_h0 {
        out.push(Some(g.dh0));
    }
    if has_c0 {
        out.push(g.dc0);
    }
    for (lg, &(bi, bh)) in g.layers.into_iter().zip(has_bias) {
        out.push(Some(lg.dw_ih));
        out.push(Some(lg.dw_hh));
        if bi {
            out.push(lg.db_ih);
        }
        if bh {
            out.push(lg.db_hh);
        }
    }
    out
}
