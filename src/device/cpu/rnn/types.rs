//! The plain vocabulary of the recurrent kernels, shared by the CPU kernels (the time loop and the
//! cells beside it), the CUDA host code and the op: which cell runs ([`Kind`]), the sizes
//! ([`Dims`]), the buffers of a layer's forward pass and of the whole stack's backward pass, and
//! the buffers one step of a cell works on ([`FwdStep`], [`BwdStep`]).
//!
//! Buffers are plain row-major `Vec`s: a sequence is `(N, T, W)` (batch row `b`, step `s` at
//! `(b·T + s)·W`), a state is `(N, H)`.

/// Which recurrent cell a kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    RnnTanh,
    Lstm,
    Gru,
}

impl Kind {
    /// The op name in errors, on the tape and in the case files.
    pub(crate) fn op(self) -> &'static str {
        match self {
            Kind::RnnTanh => "rnn_tanh",
            Kind::Lstm => "lstm",
            Kind::Gru => "gru",
        }
    }
    /// Gate blocks of $H$ rows in the weights: $G$.
    pub(crate) fn gates(self) -> usize {
        match self {
            Kind::RnnTanh => 1,
            Kind::Lstm => 4,
            Kind::Gru => 3,
        }
    }
}

/// Sizes: batch $N$, steps $T$, input $I$, hidden $H$, layers $L$.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub n: usize,
    pub t: usize,
    pub i: usize,
    pub h: usize,
    pub l: usize,
}

/// One layer's weights, copied at forward time (so a later optimizer step cannot change them
/// underneath the backward pass).
pub(crate) struct LayerParams<T> {
    pub w_ih: Vec<T>,
    pub w_hh: Vec<T>,
    pub b_ih: Option<Vec<T>>,
    pub b_hh: Option<Vec<T>>,
}

/// What one layer saves for backward.
pub(crate) struct LayerTape<T> {
    /// $h_0$ and (LSTM) $c_0$ of this layer, $(N, H)$.
    pub h0: Vec<T>,
    pub c0: Vec<T>,
    /// $h_1 \dots h_T$, $(N, T, H)$: the layer's output.
    pub y: Vec<T>,
    /// Gate activations, $(N, T, G H)$: LSTM $i, f, g, o$; GRU $r, z, n$; empty for tanh.
    pub acts: Vec<T>,
    /// LSTM: $c_1 \dots c_T$; GRU: $W_{hn} h_{t-1} + b_{hn}$; $(N, T, H)$; empty for tanh.
    pub extra: Vec<T>,
}

/// Everything the backward pass of a whole stack needs.
pub(crate) struct Tape<T> {
    pub x: Vec<T>,
    pub params: Vec<LayerParams<T>>,
    pub layers: Vec<LayerTape<T>>,
}

/// The gradients of one layer's parameters (empty bias vectors where the layer has no bias).
pub(crate) struct LayerGrads<T> {
    pub dw_ih: Vec<T>,
    pub dw_hh: Vec<T>,
    pub db_ih: Vec<T>,
    pub db_hh: Vec<T>,
}

/// The gradients of a whole stack.
pub(crate) struct Grads<T> {
    /// $\bar x$, when asked for.
    pub dx: Option<Vec<T>>,
    /// $\bar h_0$, $\bar c_0$: $(L, N, H)$.
    pub dh0: Vec<T>,
    pub dc0: Vec<T>,
    pub layers: Vec<LayerGrads<T>>,
}

/// The buffers of one forward step (see [`LayerTape`] for the layouts).
pub(crate) struct FwdStep<'a, T> {
    pub s: usize,
    pub d: Dims,
    /// $(N, T, G H)$: the pre-activations of step `s` in; LSTM and GRU write the activations back.
    pub p: &'a mut [T],
    /// GRU only, $(N, 3H)$: $h_{s-1} W_{hh}^\top + b_{hh}$.
    pub hh: &'a [T],
    pub y: &'a mut [T],
    pub extra: &'a mut [T],
    pub h0: &'a [T],
    pub c0: &'a [T],
}

/// The buffers of one backward step.
pub(crate) struct BwdStep<'a, T> {
    pub s: usize,
    pub d: Dims,
    pub tape: &'a LayerTape<T>,
    /// Upstream gradient of the layer's output, $(N, T, H)$.
    pub dy: &'a [T],
    /// $(N, H)$. In: the gradient reaching $h_s$ from step $s+1$. Out: the part of the gradient
    /// of $h_{s-1}$ that does not go through $W_{hh}$ (GRU: $\bar h_s \odot z$; else zero).
    pub dh: &'a mut [T],
    /// LSTM, $(N, H)$: the gradient of $c_s$ in, of $c_{s-1}$ out.
    pub dc: &'a mut [T],
    /// $(N, T, G H)$: the gradient of the input-side pre-activations at step `s` (out).
    pub da: &'a mut [T],
    /// GRU, $(N, T, 3H)$: the gradient of $h_{s-1} W_{hh}^\top + b_{hh}$ at step `s` (out).
    pub dah: &'a mut [T],
}
