//! The attention encoder–decoder itself (see the module docs of [`super`]).

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::nn::init::uniform_;
use crate::nn::{Linear, Mode, Module};
use crate::ops::loss::{CrossEntropyOptions, Reduction};
use crate::ops::rnn::RnnWeights;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// Dot-product (Luong) attention: `query (N, T, H)` over `keys (N, S, H)`; `pad_mask (N, S)` (bool,
/// `true` at padding) excludes positions. Returns `(context (N, T, H), weights (N, T, S))`, each
/// row of weights summing to 1 over the unmasked positions (formulas in the module docs).
pub fn luong_attention(query: &Tensor, keys: &Tensor, pad_mask: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
    const OP: &str = "luong_attention";
    let (qs, ks) = (query.shape(), keys.shape());
    if qs.len() != 3 || ks.len() != 3 || qs[0] != ks[0] || qs[2] != ks[2] {
        return Err(Error::mismatch(OP, &qs, &ks, "query must be (N, T, H) and keys (N, S, H)"));
    }
    // score_{n,t,s} = h_t · h̄_s
    let mut scores = query.matmul(&keys.transpose(1, 2)?)?;
    if let Some(mask) = pad_mask {
        if mask.shape() != [ks[0], ks[1]] {
            return Err(Error::mismatch(OP, &ks, &mask.shape(), "pad_mask must be (N, S)"));
        }
        scores = scores.masked_fill(&mask.unsqueeze(1)?, f64::NEG_INFINITY)?;
    }
    let weights = scores.softmax(-1)?;
    let context = weights.matmul(keys)?;
    Ok((context, weights))
}

/// Which recurrent cell the encoder and decoder use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Gru,
    Lstm,
}

/// A recurrent state: $h$ $(L, N, H)$, and $c$ for an LSTM.
#[derive(Clone, Debug)]
pub struct RnnState {
    pub h: Tensor,
    pub c: Option<Tensor>,
}

impl RnnState {
    /// The rows `index` (i64) of the batch, in that order.
    fn select(&self, index: &Tensor) -> Result<RnnState> {
        let c = match &self.c {
            Some(c) => Some(c.index_select(1, index)?),
            None => None,
        };
        Ok(RnnState { h: self.h.index_select(1, index)?, c })
    }
}

/// A lookup table $(V, D)$ with a padding row that gets no gradient.
pub struct TokenEmbedding {
    pub weight: Tensor,
    pub padding_idx: Option<i64>,
    mode: Mode,
}

impl TokenEmbedding {
    /// $\mathcal N(0, 1)$ entries (PyTorch's `nn.Embedding` default), the padding row zero.
    pub fn new(
        vocab: usize,
        dim: usize,
        padding_idx: Option<i64>,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Self> {
        let w = Tensor::randn(&[vocab, dim], dtype, rng)?;
        let weight = match padding_idx {
            Some(p) if (p as usize) < vocab => {
                let keep: Vec<f64> = (0..vocab).map(|v| if v as i64 == p { 0.0 } else { 1.0 }).collect();
                w.mul(&Tensor::from_vec(keep, &[vocab, 1])?.to_dtype(dtype)?)?
            }
            _ => w,
        };
        Ok(TokenEmbedding { weight: weight.detach().requires_grad_()?, padding_idx, mode: Mode::default() })
    }
}

impl Module for TokenEmbedding {
    /// `ids` (any shape, i64) → `ids.shape + [D]`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        Tensor::embedding(ids, &self.weight, self.padding_idx)
    }
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("weight".into(), self.weight.clone())]
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// A multi-layer GRU or LSTM over batch-first sequences, parameters named as PyTorch's
/// (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, ...), initialised
/// $\mathcal U(-1/\sqrt H, 1/\sqrt H)$ as PyTorch does.
pub struct Recurrent {
    pub cell: Cell,
    pub layers: Vec<RnnWeights>,
    mode: Mode,
}

impl Recurrent {
    pub fn new(
        cell: Cell,
        input: usize,
        hidden: usize,
        layers: usize,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Self> {
        if hidden == 0 || layers == 0 {
            return Err(Error::invalid("Recurrent", "hidden size and layer count must be at least 1"));
        }
        let gates = match cell {
            Cell::Gru => 3,
            Cell::Lstm => 4,
        };
        let k = 1.0 / (hidden as f64).sqrt();
        let mut make = |shape: &[usize]| -> Result<Tensor> {
            let t = Tensor::zeros(shape, dtype)?;
            uniform_(&t, -k, k, rng)?;
            t.requires_grad_()
        };
        let mut ws = Vec::with_capacity(layers);
        for l in 0..layers {
            let i = if l == 0 { input } else { hidden };
            ws.push(RnnWeights::new(
                make(&[gates * hidden, i])?,
                make(&[gates * hidden, hidden])?,
                make(&[gates * hidden])?,
                make(&[gates * hidden])?,
            ));
        }
        Ok(Recurrent { cell, layers: ws, mode: Mode::default() })
    }

    pub fn hidden_size(&self) -> usize {
        self.layers.first().map_or(0, |l| l.weight_hh.shape()[1])
    }

    /// Runs `x (N, T, I)` from `state` (zeros when absent): `(output (N, T, H), final state)`.
    pub fn run(&self, x: &Tensor, state: Option<&RnnState>) -> Result<(Tensor, RnnState)> {
        let h0 = state.map(|s| &s.h);
        match self.cell {
            Cell::Gru => {
                let (y, h) = Tensor::gru(x, h0, &self.layers)?;
                Ok((y, RnnState { h, c: None }))
            }
            Cell::Lstm => {
                let c0 = state.and_then(|s| s.c.as_ref());
                let (y, h, c) = Tensor::lstm(x, h0, c0, &self.layers)?;
                Ok((y, RnnState { h, c: Some(c) }))
            }
        }
    }
}

impl Module for Recurrent {
    /// The output sequence from a zero state.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.run(x, None)?.0)
    }
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (l, w) in self.layers.iter().enumerate() {
            out.push((format!("weight_ih_l{l}"), w.weight_ih.clone()));
            out.push((format!("weight_hh_l{l}"), w.weight_hh.clone()));
            if let Some(b) = &w.bias_ih {
                out.push((format!("bias_ih_l{l}"), b.clone()));
            }
            if let Some(b) = &w.bias_hh {
                out.push((format!("bias_hh_l{l}"), b.clone()));
            }
        }
        out
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// Sizes and special tokens of a [`Seq2Seq`].
#[derive(Clone, Copy, Debug)]
pub struct Seq2SeqConfig {
    pub src_vocab: usize,
    pub tgt_vocab: usize,
    pub embed: usize,
    pub hidden: usize,
    pub layers: usize,
    pub cell: Cell,
    pub pad: i64,
    pub bos: i64,
    pub eos: i64,
    /// The longest output of [`Module::forward`] (greedy decoding).
    pub max_len: usize,
    pub dtype: DType,
}

impl Seq2SeqConfig {
    /// A one-layer GRU model with the specials of [`crate::data::dates`] (pad 0, bos 1, eos 2).
    pub fn new(src_vocab: usize, tgt_vocab: usize, embed: usize, hidden: usize) -> Self {
        Seq2SeqConfig {
            src_vocab,
            tgt_vocab,
            embed,
            hidden,
            layers: 1,
            cell: Cell::Gru,
            pad: 0,
            bos: 1,
            eos: 2,
            max_len: 32,
            dtype: DType::F32,
        }
    }
}

/// Embedding + recurrent network over the source.
pub struct Encoder {
    pub embedding: TokenEmbedding,
    pub rnn: Recurrent,
    mode: Mode,
}

impl Module for Encoder {
    /// Encoder outputs $(N, S, H)$ for source ids $(N, S)$ (pad-aware, see the module docs).
    fn forward(&self, src: &Tensor) -> Result<Tensor> {
        Ok(self.encode(src, None)?.0)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("embedding".into(), &self.embedding), ("rnn".into(), &self.rnn)]
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

impl Encoder {
    /// `(outputs (N, S, H), final state, pad mask (N, S))`. Rows are grouped by length; each
    /// group runs unpadded, its outputs are padded with zeros back to $S$, and the rows are put
    /// back in their order. `pad` is the padding id (right padding).
    pub fn encode(&self, src: &Tensor, pad: Option<i64>) -> Result<(Tensor, RnnState, Tensor)> {
        let ss = src.shape();
        if ss.len() != 2 || ss[1] == 0 {
            return Err(Error::shape("encoder", &ss, "source ids must be (N, S) with S >= 1"));
        }
        let (n, s) = (ss[0], ss[1]);
        let ids = src.to_vec::<i64>()?;
        let lengths: Vec<usize> = (0..n)
            .map(|r| {
                let row = &ids[r * s..(r + 1) * s];
                match pad {
                    Some(p) => row.iter().rposition(|&v| v != p).map_or(0, |i| i + 1),
                    None => s,
                }
            })
            .collect();
        if let Some(r) = lengths.iter().position(|&l| l == 0) {
            return Err(Error::invalid("encoder", format!("source row {r} is all padding")));
        }
        let mask_vals: Vec<bool> = (0..n * s).map(|i| i % s >= lengths[i / s]).collect();
        let mask = Tensor::from_vec(mask_vals, &[n, s])?;
        let x = self.embedding.forward(src)?;
        let mut distinct: Vec<usize> = lengths.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() == 1 {
            let len = distinct[0];
            let (y, state) = self.rnn.run(&x.narrow(1, 0, len)?, None)?;
            return Ok((pad_time(&y, s)?, state, mask));
        }
        // One run per length; `order` lists the rows in group order.
        let (mut outs, mut hs, mut cs, mut order) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &len in &distinct {
            let rows: Vec<i64> = (0..n).filter(|&r| lengths[r] == len).map(|r| r as i64).collect();
            let idx = Tensor::from_vec(rows.clone(), &[rows.len()])?;
            let (y, state) = self.rnn.run(&x.index_select(0, &idx)?.narrow(1, 0, len)?, None)?;
            outs.push(pad_time(&y, s)?);
            hs.push(state.h);
            cs.extend(state.c);
            order.extend(rows);
        }
        let mut inverse = vec![0i64; n];
        for (k, &r) in order.iter().enumerate() {
            inverse[r as usize] = k as i64;
        }
        let inv = Tensor::from_vec(inverse, &[n])?;
        let out = Tensor::cat(&outs, 0)?.index_select(0, &inv)?;
        let state = RnnState {
            h: Tensor::cat(&hs, 1)?,
            c: if cs.is_empty() { None } else { Some(Tensor::cat(&cs, 1)?) },
        }
        .select(&inv)?;
        Ok((out, state, mask))
    }
}

/// `y (N, T, H)` padded with zeros to `(N, s, H)`.
fn pad_time(y: &Tensor, s: usize) -> Result<Tensor> {
    let ys = y.shape();
    if ys[1] == s {
        return Ok(y.clone());
    }
    let zeros = Tensor::zeros(&[ys[0], s - ys[1], ys[2]], y.dtype())?;
    Tensor::cat(&[y.clone(), zeros], 1)
}

/// Embedding + recurrent network + attention + output layers over the target.
pub struct Decoder {
    pub embedding: TokenEmbedding,
    pub rnn: Recurrent,
    /// $W_c$: $[c_t; h_t]$ $(2H)$ → $\tilde h_t$ $(H)$.
    pub combine: Linear,
    /// $W_o$: $\tilde h_t$ → logits $(V_{tgt})$.
    pub out: Linear,
    mode: Mode,
}

impl Decoder {
    /// Logits $(N, T, V)$ and attention weights $(N, T, S)$ for decoder inputs `tgt_in (N, T)`,
    /// starting from `state`, attending over `enc_out (N, S, H)` with `pad_mask (N, S)`.
    /// Returns the final state too (for step-by-step decoding).
    pub fn step(
        &self,
        tgt_in: &Tensor,
        state: &RnnState,
        enc_out: &Tensor,
        pad_mask: &Tensor,
    ) -> Result<(Tensor, Tensor, RnnState)> {
        let e = self.embedding.forward(tgt_in)?;
        let (h, state) = self.rnn.run(&e, Some(state))?;
        let (context, weights) = luong_attention(&h, enc_out, Some(pad_mask))?;
        let h_tilde = self.combine.forward(&Tensor::cat(&[context, h], -1)?)?.tanh()?;
        Ok((self.out.forward(&h_tilde)?, weights, state))
    }
}

impl Module for Decoder {
    /// Logits for `tgt_in` from a zero state with nothing to attend to is not meaningful; the
    /// decoder is driven by [`Seq2Seq`]. This runs the RNN alone: `(N, T, H)`.
    fn forward(&self, tgt_in: &Tensor) -> Result<Tensor> {
        self.rnn.forward(&self.embedding.forward(tgt_in)?)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("embedding".into(), &self.embedding),
            ("rnn".into(), &self.rnn),
            ("combine".into(), &self.combine),
            ("out".into(), &self.out),
        ]
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// The encoder–decoder (module docs). Parameters: `encoder.embedding.weight`,
/// `encoder.rnn.weight_ih_l0`, ..., `decoder.combine.weight`, `decoder.out.bias`.
pub struct Seq2Seq {
    pub encoder: Encoder,
    pub decoder: Decoder,
    pub config: Seq2SeqConfig,
    mode: Mode,
}

impl Seq2Seq {
    pub fn new(config: Seq2SeqConfig, rng: &mut Generator) -> Result<Seq2Seq> {
        let c = config;
        for (name, id) in [("pad", c.pad), ("bos", c.bos), ("eos", c.eos)] {
            if id < 0 || id as usize >= c.tgt_vocab {
                return Err(Error::invalid(
                    "Seq2Seq",
                    format!("{name} id {id} is outside the target vocabulary"),
                ));
            }
        }
        let encoder = Encoder {
            embedding: TokenEmbedding::new(c.src_vocab, c.embed, Some(c.pad), c.dtype, rng)?,
            rnn: Recurrent::new(c.cell, c.embed, c.hidden, c.layers, c.dtype, rng)?,
            mode: Mode::default(),
        };
        let decoder = Decoder {
            embedding: TokenEmbedding::new(c.tgt_vocab, c.embed, Some(c.pad), c.dtype, rng)?,
            rnn: Recurrent::new(c.cell, c.embed, c.hidden, c.layers, c.dtype, rng)?,
            combine: Linear::new(2 * c.hidden, c.hidden, true, c.dtype, rng)?,
            out: Linear::new(c.hidden, c.tgt_vocab, true, c.dtype, rng)?,
            mode: Mode::default(),
        };
        Ok(Seq2Seq { encoder, decoder, config, mode: Mode::default() })
    }

    /// Teacher forcing: logits $(N, T, V)$ and attention weights $(N, T, S)$ for target `tgt
    /// (N, T)` (ending in eos, padded with pad), the decoder reading $[\mathrm{bos}, y_{<T}]$.
    pub fn teacher_forced(&self, src: &Tensor, tgt: &Tensor) -> Result<(Tensor, Tensor)> {
        let ts = tgt.shape();
        if ts.len() != 2 || ts[1] == 0 || ts[0] != src.shape().first().copied().unwrap_or(0) {
            return Err(Error::mismatch(
                "seq2seq",
                &src.shape(),
                &ts,
                "tgt must be (N, T), T >= 1, with src's N",
            ));
        }
        let (n, t) = (ts[0], ts[1]);
        let bos = Tensor::full(&[n, 1], self.config.bos as f64, DType::I64)?;
        let tgt_in = Tensor::cat(&[bos, tgt.narrow(1, 0, t - 1)?], 1)?;
        let (enc_out, state, mask) = self.encoder.encode(src, Some(self.config.pad))?;
        let (logits, weights, _) = self.decoder.step(&tgt_in, &state, &enc_out, &mask)?;
        Ok((logits, weights))
    }

    /// The mean cross-entropy of the teacher-forced predictions over the non-padding target
    /// positions.
    pub fn loss(&self, src: &Tensor, tgt: &Tensor) -> Result<Tensor> {
        let (logits, _) = self.teacher_forced(src, tgt)?;
        let v = self.config.tgt_vocab;
        let opts = CrossEntropyOptions {
            reduction: Reduction::Mean,
            ignore_index: Some(self.config.pad),
            ..Default::default()
        };
        logits.reshape_usize(&[logits.numel() / v, v])?.cross_entropy_with(&tgt.reshape(&[-1])?, &opts)
    }

    /// Greedy decoding without gradient: for each source row, the arg-max tokens up to and
    /// including the first eos (at most `max_len`).
    pub fn greedy_decode(&self, src: &Tensor, max_len: usize) -> Result<Vec<Vec<i64>>> {
        no_grad(|| {
            let n = src.shape().first().copied().unwrap_or(0);
            let (enc_out, mut state, mask) = self.encoder.encode(src, Some(self.config.pad))?;
            let mut input = Tensor::full(&[n, 1], self.config.bos as f64, DType::I64)?;
            let mut out: Vec<Vec<i64>> = vec![Vec::new(); n];
            let mut done = vec![false; n];
            for _ in 0..max_len {
                let (logits, _, next) = self.decoder.step(&input, &state, &enc_out, &mask)?;
                state = next;
                let ids = logits.argmax(Some(-1), false)?.to_vec::<i64>()?;
                for (r, &id) in ids.iter().enumerate() {
                    if !done[r] {
                        out[r].push(id);
                        done[r] = id == self.config.eos;
                    }
                }
                if done.iter().all(|&d| d) {
                    break;
                }
                input = Tensor::from_vec(ids, &[n, 1])?;
            }
            Ok(out)
        })
    }
}

impl Module for Seq2Seq {
    /// Greedy decoding of `src (N, S)`: `(N, L)` i64 ids, each row ending at its eos and padded
    /// with pad after it, $L \le$ `config.max_len`.
    fn forward(&self, src: &Tensor) -> Result<Tensor> {
        let rows = self.greedy_decode(src, self.config.max_len)?;
        let l = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut flat = Vec::with_capacity(rows.len() * l);
        for r in &rows {
            flat.extend(r.iter().copied().chain(std::iter::repeat(self.config.pad)).take(l));
        }
        Tensor::from_vec(flat, &[rows.len(), l])
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("encoder".into(), &self.encoder), ("decoder".into(), &self.decoder)]
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}
