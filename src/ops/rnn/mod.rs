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
//! **Kernel** (shared by [`Tensor::rnn_tanh`], [`Tensor::lstm`], [`Tensor::gru`], in `cpu.rs`): the
//! input projection of all steps is one GEMM, $(N T \times I) \cdot W_{ih}^\top$; each step is one
//! GEMM for the recurrence, $h_{t-1} W_{hh}^\top$, plus one fused elementwise pass (rayon over the
//! batch rows). Backward runs the steps in reverse with two GEMMs per step ($\bar h_{t-1}$ and the
//! in-order accumulation of $\bar W_{hh}$), then one GEMM for $\bar W_{ih}$ over all steps and one
//! for $\bar x$. Every sum runs in a fixed order, so results do not depend on the thread count.
//! The whole sequence is one recorded op (`rnn_tanh`, `lstm` or `gru`), not a chain of tiny nodes.

pub(crate) mod cpu;

use ndarray::{ArrayD, IxDyn};

use crate::autograd::record_multi;
use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Float, Tensor};

use cpu::{Dims, Kind, LayerParams};

/// The parameters of one layer of [`Tensor::rnn_tanh`], [`Tensor::lstm`] or [`Tensor::gru`], named
/// and laid out as PyTorch's `weight_ih_l{k}` $(G H, I_k)$, `weight_hh_l{k}` $(G H, H)$,
/// `bias_ih_l{k}` and `bias_hh_l{k}` $(G H)$, with $G = 1$ (RNN), $4$ (LSTM: gates i, f, g, o) or
/// $3$ (GRU: gates r, z, n) blocks of $H$ rows. $I_0$ is the input size, $I_k = H$ above.
#[derive(Clone, Debug)]
pub struct RnnWeights {
    pub weight_ih: Tensor,
    pub weight_hh: Tensor,
    pub bias_ih: Option<Tensor>,
    pub bias_hh: Option<Tensor>,
}

impl RnnWeights {
    /// A layer with both biases.
    pub fn new(weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor) -> Self {
        RnnWeights { weight_ih, weight_hh, bias_ih: Some(bias_ih), bias_hh: Some(bias_hh) }
    }

    /// A layer without biases (PyTorch's `bias=False`).
    pub fn without_bias(weight_ih: Tensor, weight_hh: Tensor) -> Self {
        RnnWeights { weight_ih, weight_hh, bias_ih: None, bias_hh: None }
    }

    /// The tensors of the layer in PyTorch's `state_dict` order: weight_ih, weight_hh, then the
    /// biases that exist.
    pub fn tensors(&self) -> Vec<&Tensor> {
        let mut v = vec![&self.weight_ih, &self.weight_hh];
        v.extend(self.bias_ih.iter());
        v.extend(self.bias_hh.iter());
        v
    }
}

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
    #[cfg(feature = "cuda")]
    {
        let mut all: Vec<&Tensor> = vec![x];
        all.extend(h0);
        all.extend(c0);
        for w in layers {
            all.extend(w.tensors());
        }
        if all.iter().any(|t| t.device().is_cuda()) {
            return crate::device::cuda::recurrent::run(kind, d, x, h0, c0, layers);
        }
    }
    match x.dtype() {
        DType::F32 => run_typed::<f32>(kind, d, x, h0, c0, layers),
        DType::F64 => run_typed::<f64>(kind, d, x, h0, c0, layers),
        dtype => {
            Err(Error::UnsupportedDType { op: kind.op(), dtype, shape: x.shape(), expected: "f32 or f64" })
        }
    }
}

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

fn run_typed<T: Float>(
    kind: Kind,
    d: Dims,
    x: &Tensor,
    h0: Option<&Tensor>,
    c0: Option<&Tensor>,
    layers: &[RnnWeights],
) -> Result<Vec<Tensor>> {
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

    let tape = cpu::forward(kind, d, xs, &h0s, &c0s, params)?;

    // Outputs: the top layer's sequence, and each layer's last state.
    let mut datas = vec![
        to_data(op, tape.layers[d.l - 1].y.clone(), &[d.n, d.t, d.h])?,
        to_data(op, last_steps(d, tape.layers.iter().map(|lt| &lt.y[..])), &[d.l, d.n, d.h])?,
    ];
    if kind == Kind::Lstm {
        datas.push(to_data(op, last_steps(d, tape.layers.iter().map(|lt| &lt.extra[..])), &[d.l, d.n, d.h])?);
    }

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
    let outs = record_multi(datas, op, &inputs, move |g: &[Tensor]| {
        let g_y = g[0].to_vec::<T>()?;
        let g_hn = g[1].to_vec::<T>()?;
        let g_cn = if kind == Kind::Lstm { g[2].to_vec::<T>()? } else { Vec::new() };
        let grads = cpu::backward(kind, d, &tape, g_y, &g_hn, &g_cn, need_dx)?;
        let mut out: Vec<Option<Tensor>> = Vec::new();
        out.push(grads.dx.map(|v| to_tensor(op, v, &[d.n, d.t, d.i])).transpose()?);
        if has_h0 {
            out.push(Some(to_tensor(op, grads.dh0, &[d.l, d.n, d.h])?));
        }
        if has_c0 {
            out.push(Some(to_tensor(op, grads.dc0, &[d.l, d.n, d.h])?));
        }
        let gh = kind.gates() * d.h;
        for (k, (lg, &(bi, bh))) in grads.layers.into_iter().zip(&has_bias).enumerate() {
            let ik = if k == 0 { d.i } else { d.h };
            out.push(Some(to_tensor(op, lg.dw_ih, &[gh, ik])?));
            out.push(Some(to_tensor(op, lg.dw_hh, &[gh, d.h])?));
            if bi {
                out.push(Some(to_tensor(op, lg.db_ih, &[gh])?));
            }
            if bh {
                out.push(Some(to_tensor(op, lg.db_hh, &[gh])?));
            }
        }
        Ok(out)
    });
    Ok(outs)
}
