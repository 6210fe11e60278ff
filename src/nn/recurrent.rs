//! Recurrent layers, `torch.nn.RNN`, `torch.nn.LSTM` and `torch.nn.GRU` with `batch_first=True`:
//! stacks of layers, optionally bidirectional, with dropout between layers.
//!
//! Each layer and direction runs one recorded sequence op ([`Tensor::rnn_tanh`], [`Tensor::lstm`],
//! [`Tensor::gru`]; their files hold the formulas and the backward through time). The Elman layer
//! is the document's §1.3.2.1, $h_t = \tanh(W h_{t-1} + U x_t + b)$.
//!
//! **Stacking.** With $D$ directions ($2$ when bidirectional) and $L$ layers, layer $0$ reads the
//! input $x$ $(N, T, I)$ and layer $k > 0$ reads layer $k-1$'s output $(N, T, D H)$, after dropout
//! in training mode:
//! $$x^{(k)} = \text{dropout}_p\big(y^{(k-1)}\big), \qquad y^{(k)}_t = [\,\overrightarrow{h}^{(k)}_t ;\,
//!   \overleftarrow{h}^{(k)}_t\,],$$
//! where the reverse direction runs the same recurrence over $x_T, \dots, x_1$ with its own weights
//! (`*_reverse`). No dropout follows the last layer, as in PyTorch.
//!
//! **States.** `h0` (and the LSTM's `c0`) are $(L D, N, H)$, ordered layer by layer, forward before
//! reverse; absent means zeros. `h_n` (and `c_n`) have the same layout: each direction's state after
//! its last step (for the reverse direction, after reading $x_1$).
//!
//! **Parameters and initialisation** as PyTorch's: `weight_ih_l{k}` $(G H, I_k)$, `weight_hh_l{k}`
//! $(G H, H)$, `bias_ih_l{k}`, `bias_hh_l{k}` $(G H)$, then the same with the suffix `_reverse`, layer
//! after layer ($G = 1, 4, 3$ for RNN, LSTM, GRU; $I_0 = I$, $I_k = D H$), every one drawn from
//! $\mathcal U(-1/\sqrt H, 1/\sqrt H)$ in that order.
//!
//! **Fast path.** A unidirectional stack without active dropout runs all its layers in one op call.

use std::sync::Mutex;

use super::module::{Mode, Module};
use crate::error::{Error, Result};
use crate::ops::rnn::RnnWeights;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// Which recurrence a stack runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Elman RNN with tanh (`nn.RNN`), 1 gate block.
    RnnTanh,
    /// LSTM (`nn.LSTM`), 4 gate blocks (i, f, g, o).
    Lstm,
    /// GRU (`nn.GRU`), 3 gate blocks (r, z, n).
    Gru,
}

impl CellKind {
    fn gates(self) -> usize {
        match self {
            CellKind::RnnTanh => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }
    /// The module's name in errors.
    fn name(self) -> &'static str {
        match self {
            CellKind::RnnTanh => "Rnn",
            CellKind::Lstm => "Lstm",
            CellKind::Gru => "Gru",
        }
    }
}

/// The options of a recurrent layer (PyTorch's keyword arguments), builder style.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecurrentConfig {
    /// `num_layers` (1).
    pub num_layers: usize,
    /// `bias` (true).
    pub bias: bool,
    /// `bidirectional` (false).
    pub bidirectional: bool,
    /// `dropout` between layers, in training mode (0).
    pub dropout: f64,
    /// The parameters' dtype (f32).
    pub dtype: DType,
}

impl Default for RecurrentConfig {
    fn default() -> Self {
        RecurrentConfig { num_layers: 1, bias: true, bidirectional: false, dropout: 0.0, dtype: DType::F32 }
    }
}

impl RecurrentConfig {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn num_layers(mut self, n: usize) -> Self {
        self.num_layers = n;
        self
    }
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    pub fn bidirectional(mut self, on: bool) -> Self {
        self.bidirectional = on;
        self
    }
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }
}

/// The outputs of one run of a stack: `output` $(N, T, D H)$, `h_n` $(L D, N, H)$ and, for the
/// LSTM, `c_n`.
struct StackOut {
    output: Tensor,
    h_n: Tensor,
    c_n: Option<Tensor>,
}

/// What [`Rnn`], [`Lstm`] and [`Gru`] share: the weights of every layer and direction.
struct Stack {
    kind: CellKind,
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
    bidirectional: bool,
    dropout: f64,
    /// Indexed `layer · D + direction`.
    weights: Vec<RnnWeights>,
    /// The dropout masks' generator (behind a lock: `forward` takes `&self`).
    rng: Mutex<Generator>,
    mode: Mode,
}

impl Clone for Stack {
    fn clone(&self) -> Self {
        Stack {
            kind: self.kind,
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_layers,
            bidirectional: self.bidirectional,
            dropout: self.dropout,
            weights: self.weights.clone(),
            rng: Mutex::new(self.rng.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            mode: self.mode.clone(),
        }
    }
}

impl Stack {
    fn new(
        kind: CellKind,
        input_size: usize,
        hidden_size: usize,
        cfg: RecurrentConfig,
        rng: &mut Generator,
    ) -> Result<Stack> {
        let op = kind.name();
        if input_size == 0 || hidden_size == 0 || cfg.num_layers == 0 {
            return Err(Error::invalid(
                op,
                format!(
                    "input_size ({input_size}), hidden_size ({hidden_size}) and num_layers ({}) must be ≥ 1",
                    cfg.num_layers
                ),
            ));
        }
        if !(0.0..1.0).contains(&cfg.dropout) {
            return Err(Error::invalid(op, format!("dropout must be in [0, 1), got {}", cfg.dropout)));
        }
        if !cfg.dtype.is_float() {
            return Err(Error::UnsupportedDType {
                op,
                dtype: cfg.dtype,
                shape: vec![input_size, hidden_size],
                expected: "f32 or f64",
            });
        }
        let (g, h) = (kind.gates(), hidden_size);
        let dirs = if cfg.bidirectional { 2 } else { 1 };
        let k = 1.0 / (h as f64).sqrt();
        let mut draw = |shape: &[usize]| -> Result<Tensor> {
            Tensor::uniform(shape, -k, k, cfg.dtype, rng)?.requires_grad_()
        };
        let mut weights = Vec::with_capacity(cfg.num_layers * dirs);
        for layer in 0..cfg.num_layers {
            let ik = if layer == 0 { input_size } else { dirs * h };
            for _ in 0..dirs {
                let w_ih = draw(&[g * h, ik])?;
                let w_hh = draw(&[g * h, h])?;
                weights.push(if cfg.bias {
                    RnnWeights::new(w_ih, w_hh, draw(&[g * h])?, draw(&[g * h])?)
                } else {
                    RnnWeights::without_bias(w_ih, w_hh)
                });
            }
        }
        let seed = rng.next_u64();
        Ok(Stack {
            kind,
            input_size,
            hidden_size,
            num_layers: cfg.num_layers,
            bidirectional: cfg.bidirectional,
            dropout: cfg.dropout,
            weights,
            rng: Mutex::new(Generator::new(seed)),
            mode: Mode::default(),
        })
    }

    fn from_weights(
        kind: CellKind,
        weights: Vec<RnnWeights>,
        bidirectional: bool,
        dropout: f64,
    ) -> Result<Stack> {
        let op = kind.name();
        let dirs = if bidirectional { 2 } else { 1 };
        let Some(first) = weights.first() else {
            return Err(Error::invalid(op, "at least one layer of weights is needed"));
        };
        if !weights.len().is_multiple_of(dirs) {
            return Err(Error::invalid(
                op,
                format!("a bidirectional stack needs an even number of weight sets, got {}", weights.len()),
            ));
        }
        let (ws, is) = (first.weight_hh.shape(), first.weight_ih.shape());
        if ws.len() != 2 || is.len() != 2 || ws[1] == 0 || ws[0] != kind.gates() * ws[1] {
            return Err(Error::mismatch(
                op,
                &is,
                &ws,
                format!("weight_ih_l0 must be ({g}·H, I) and weight_hh_l0 ({g}·H, H)", g = kind.gates()),
            ));
        }
        let (h, dtype) = (ws[1], first.weight_hh.dtype());
        for (idx, w) in weights.iter().enumerate() {
            let ik = if idx < dirs { is[1] } else { dirs * h };
            let want = [kind.gates() * h, ik];
            if w.weight_ih.shape() != want || w.weight_hh.shape() != ws || w.weight_ih.dtype() != dtype {
                return Err(Error::mismatch(
                    op,
                    &w.weight_ih.shape(),
                    &want,
                    format!("weight_ih of layer {} must be {want:?} (same dtype as layer 0)", idx / dirs),
                ));
            }
        }
        Ok(Stack {
            kind,
            input_size: is[1],
            hidden_size: h,
            num_layers: weights.len() / dirs,
            bidirectional,
            dropout,
            weights,
            rng: Mutex::new(Generator::new(0)),
            mode: Mode::default(),
        })
    }

    fn dirs(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (idx, w) in self.weights.iter().enumerate() {
            let (layer, dir) = (idx / self.dirs(), idx % self.dirs());
            let suffix = if dir == 1 { "_reverse" } else { "" };
            out.push((format!("weight_ih_l{layer}{suffix}"), w.weight_ih.clone()));
            out.push((format!("weight_hh_l{layer}{suffix}"), w.weight_hh.clone()));
            if let Some(b) = &w.bias_ih {
                out.push((format!("bias_ih_l{layer}{suffix}"), b.clone()));
            }
            if let Some(b) = &w.bias_hh {
                out.push((format!("bias_hh_l{layer}{suffix}"), b.clone()));
            }
        }
        out
    }

    /// Checks `x` and the initial states against the stack's sizes, naming the module.
    fn validate(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> Result<()> {
        let op = self.kind.name();
        let xs = x.shape();
        if xs.len() != 3 {
            return Err(Error::shape(
                op,
                &xs,
                format!("the input must have rank 3: (N, T, input_size = {}), batch first", self.input_size),
            ));
        }
        if xs[2] != self.input_size {
            return Err(Error::mismatch(
                op,
                &xs,
                &[xs[0], xs[1], self.input_size],
                format!("the input's last dimension must be input_size = {}", self.input_size),
            ));
        }
        let want = [self.num_layers * self.dirs(), xs[0], self.hidden_size];
        for (name, s) in [("h0", h0), ("c0", c0)] {
            if let Some(s) = s
                && s.shape() != want
            {
                return Err(Error::mismatch(
                    op,
                    &s.shape(),
                    &want,
                    format!(
                        "{name} must be (num_layers·num_directions, N, hidden_size) = {want:?} for x {xs:?}"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// One op call over `layers` (consecutive layers of one direction).
    fn call(
        &self,
        x: &Tensor,
        h0: Option<&Tensor>,
        c0: Option<&Tensor>,
        layers: &[RnnWeights],
    ) -> Result<StackOut> {
        Ok(match self.kind {
            CellKind::RnnTanh => {
                let (output, h_n) = Tensor::rnn_tanh(x, h0, layers)?;
                StackOut { output, h_n, c_n: None }
            }
            CellKind::Lstm => {
                let (output, h_n, c_n) = Tensor::lstm(x, h0, c0, layers)?;
                StackOut { output, h_n, c_n: Some(c_n) }
            }
            CellKind::Gru => {
                let (output, h_n) = Tensor::gru(x, h0, layers)?;
                StackOut { output, h_n, c_n: None }
            }
        })
    }

    fn run(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> Result<StackOut> {
        self.validate(x, h0, c0)?;
        let dropout_on = self.dropout > 0.0 && self.mode.get() && self.num_layers > 1;
        if !self.bidirectional && !dropout_on {
            return self.call(x, h0, c0, &self.weights);
        }
        let dirs = self.dirs();
        let t = x.shape()[1];
        let reverse = Tensor::from_vec((0..t as i64).rev().collect::<Vec<i64>>(), &[t])?;
        let (mut h_n, mut c_n) = (Vec::new(), Vec::new());
        let mut input = x.clone();
        for layer in 0..self.num_layers {
            if layer > 0 && dropout_on {
                let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                input = input.dropout(self.dropout, true, &mut rng)?;
            }
            let mut outs = Vec::with_capacity(dirs);
            for dir in 0..dirs {
                let idx = layer * dirs + dir;
                let h = h0.map(|h| h.narrow(0, idx, 1)).transpose()?;
                let c = c0.map(|c| c.narrow(0, idx, 1)).transpose()?;
                let xin = if dir == 1 { input.index_select(1, &reverse)? } else { input.clone() };
                let r = self.call(&xin, h.as_ref(), c.as_ref(), &self.weights[idx..idx + 1])?;
                outs.push(if dir == 1 { r.output.index_select(1, &reverse)? } else { r.output });
                h_n.push(r.h_n);
                c_n.extend(r.c_n);
            }
            input = if dirs == 1 { outs.remove(0) } else { Tensor::cat(&outs, 2)? };
        }
        Ok(StackOut {
            output: input,
            h_n: Tensor::cat(&h_n, 0)?,
            c_n: if c_n.is_empty() { None } else { Some(Tensor::cat(&c_n, 0)?) },
        })
    }
}

macro_rules! recurrent_common {
    ($t:ident, $kind:expr) => {
        impl $t {
            /// A stack with PyTorch's initialisation ($\mathcal U(-1/\sqrt H, 1/\sqrt H)$ for every
            /// parameter, in `state_dict` order), drawn from `rng`; the dropout masks' generator is
            /// seeded from `rng` after that.
            pub fn new(
                input_size: usize,
                hidden_size: usize,
                cfg: RecurrentConfig,
                rng: &mut Generator,
            ) -> Result<$t> {
                Ok($t(Stack::new($kind, input_size, hidden_size, cfg, rng)?))
            }

            /// A stack holding the given weights as they are (e.g. from a checkpoint), one
            /// [`RnnWeights`] per layer and direction in the order `l0, l0_reverse, l1, ...`.
            pub fn from_weights(weights: Vec<RnnWeights>, bidirectional: bool, dropout: f64) -> Result<$t> {
                Ok($t(Stack::from_weights($kind, weights, bidirectional, dropout)?))
            }

            /// Reseeds the generator of the dropout masks.
            pub fn set_dropout_seed(&self, seed: u64) {
                *self.0.rng.lock().unwrap_or_else(|e| e.into_inner()) = Generator::new(seed);
            }

            pub fn input_size(&self) -> usize {
                self.0.input_size
            }
            pub fn hidden_size(&self) -> usize {
                self.0.hidden_size
            }
            pub fn num_layers(&self) -> usize {
                self.0.num_layers
            }
            pub fn bidirectional(&self) -> bool {
                self.0.bidirectional
            }
            /// The weights of every layer and direction (`l0, l0_reverse, l1, ...`).
            pub fn weights(&self) -> &[RnnWeights] {
                &self.0.weights
            }
        }

        impl Module for $t {
            /// The output sequence $(N, T, D H)$ from zero initial states.
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                Ok(self.0.run(x, None, None)?.output)
            }
            fn local_parameters(&self) -> Vec<(String, Tensor)> {
                self.0.parameters()
            }
            fn mode(&self) -> &Mode {
                &self.0.mode
            }
        }
    };
}

/// An Elman RNN with tanh, `torch.nn.RNN(input_size, hidden_size, batch_first=True, ...)`.
#[derive(Clone)]
pub struct Rnn(Stack);
recurrent_common!(Rnn, CellKind::RnnTanh);

impl Rnn {
    /// `(output (N, T, D H), h_n (L D, N, H))` for `x (N, T, I)` and `h0 (L D, N, H)` (absent = zeros).
    /// A plain RNN has no cell state: the document's listing passes `(h0, c0)`, which is a bug.
    pub fn forward_with(&self, x: &Tensor, h0: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let r = self.0.run(x, h0, None)?;
        Ok((r.output, r.h_n))
    }
}

/// A long short-term memory, `torch.nn.LSTM(input_size, hidden_size, batch_first=True, ...)`.
#[derive(Clone)]
pub struct Lstm(Stack);
recurrent_common!(Lstm, CellKind::Lstm);

impl Lstm {
    /// `(output (N, T, D H), (h_n, c_n) (L D, N, H))` for `x (N, T, I)` and the initial
    /// `(h0, c0)` (absent = zeros), as PyTorch's `lstm(x, (h0, c0))`.
    pub fn forward_with(
        &self,
        x: &Tensor,
        state: Option<(&Tensor, &Tensor)>,
    ) -> Result<(Tensor, (Tensor, Tensor))> {
        let r = self.0.run(x, state.map(|s| s.0), state.map(|s| s.1))?;
        match r.c_n {
            Some(c_n) => Ok((r.output, (r.h_n, c_n))),
            None => Err(Error::invalid("Lstm", "internal: the LSTM op returned no cell state")),
        }
    }
}

/// A gated recurrent unit, `torch.nn.GRU(input_size, hidden_size, batch_first=True, ...)`.
#[derive(Clone)]
pub struct Gru(Stack);
recurrent_common!(Gru, CellKind::Gru);

impl Gru {
    /// `(output (N, T, D H), h_n (L D, N, H))` for `x (N, T, I)` and `h0` (absent = zeros).
    pub fn forward_with(&self, x: &Tensor, h0: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let r = self.0.run(x, h0, None)?;
        Ok((r.output, r.h_n))
    }
}
