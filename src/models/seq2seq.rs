//! A sequence-to-sequence encoder–decoder with Luong (dot-product) attention, the document's
//! §1.3.3.2, built on the fused recurrent ops ([`Tensor::gru`], [`Tensor::lstm`]).
//!
//! **Encoder.** Source ids $x_1 \dots x_S$ (padded with `pad` on the right) are embedded,
//! $e_s = E^{src}_{x_s}$, and run through a GRU or LSTM: $\bar h_s = \mathrm{RNN}(e_s, \bar h_{s-1})$.
//! Rows of a batch have their own lengths $S_n$; each group of equal length runs without padding
//! (as `pack_padded_sequence` does), so a row's final state is the state after its last real token
//! and its outputs past $S_n$ are zero.
//!
//! **Decoder** (teacher forcing). The target $y_1 \dots y_T$ (ending in `eos`) is fed shifted
//! right, $[\mathrm{bos}, y_1, \dots, y_{T-1}]$, through its own embedding and RNN started from the
//! encoder's final state, giving $h_1 \dots h_T$. Then, for every step $t$ (Luong et al. 2015,
//! "dot" score, no input feeding):
//!
//! $$\mathrm{score}(h_t, \bar h_s) = h_t^\top \bar h_s \;(s \le S_n;\ -\infty \text{ at padding}),
//!   \qquad a_t = \operatorname{softmax}_s \mathrm{score}(h_t, \bar h_s), \qquad
//!   c_t = \sum_s a_{t,s} \bar h_s,$$
//!
//! $$\tilde h_t = \tanh(W_c [c_t ; h_t] + b_c), \qquad
//!   p(y_t \mid y_{<t}, x) = \operatorname{softmax}(W_o \tilde h_t + b_o).$$
//!
//! The loss is the mean cross-entropy over the target positions that are not padding
//! (`ignore_index = pad`). Gradients come from the ops (matmul, masked_fill, softmax, cat, linear,
//! the recurrent ops' BPTT); [`luong_attention`] is a composite with no backward of its own.
//!
//! **Greedy decoding** feeds back the arg-max token, one step of the RNN at a time from the
//! encoder's state, until every row has produced `eos` or `max_len` tokens.
//!
//! Shapes: `src` $(N, S)$ and `tgt` $(N, T)$ i64; encoder outputs $(N, S, H)$; attention weights
//! $(N, T, S)$; logits $(N, T, V_{tgt})$.

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

/// Right-pads id sequences with `pad` into an $(N, \max_n \mathrm{len})$ i64 tensor.
pub fn pad_batch(seqs: &[Vec<i64>], pad: i64) -> Result<Tensor> {
    let l = seqs.iter().map(Vec::len).max().unwrap_or(0);
    let mut flat = Vec::with_capacity(seqs.len() * l);
    for s in seqs {
        flat.extend(s.iter().copied().chain(std::iter::repeat(pad)).take(l));
    }
    Tensor::from_vec(flat, &[seqs.len(), l])
}

/// Encoded examples: (source ids, target ids ending in eos).
pub type EncodedPairs = Vec<(Vec<i64>, Vec<i64>)>;

/// The dates task of `examples/seq2seq.rs` and `glassgrad train seq2seq`, encoded: the source
/// vocabulary from the training sentences, the target vocabulary the digits and `-`.
pub struct DateData {
    pub task: crate::data::dates::DateTask,
    pub src_vocab: crate::data::dates::Vocab,
    pub tgt_vocab: crate::data::dates::Vocab,
    pub train: EncodedPairs,
    pub test: EncodedPairs,
}

/// Generates `n_train` + `n_test` dates (disjoint dates, seeded) and encodes them.
pub fn date_data(n_train: usize, n_test: usize, seed: u64) -> Result<DateData> {
    use crate::data::dates::{DateTask, Vocab, source_tokens};
    let task = DateTask::new(n_train, n_test, seed)?;
    if task.leaks() {
        return Err(Error::invalid("date_data", "a test date appears in training"));
    }
    let words: Vec<String> = task.train.iter().flat_map(|e| source_tokens(&e.source)).collect();
    let src_vocab = Vocab::build(words.iter().map(String::as_str));
    let tgt_vocab = Vocab::build("0123456789-".split("").filter(|s| !s.is_empty()));
    let train = encode_dates(&task.train, &src_vocab, &tgt_vocab);
    let test = encode_dates(&task.test, &src_vocab, &tgt_vocab);
    Ok(DateData { task, src_vocab, tgt_vocab, train, test })
}

fn encode_dates(
    ex: &[crate::data::dates::DateExample],
    src: &crate::data::dates::Vocab,
    tgt: &crate::data::dates::Vocab,
) -> EncodedPairs {
    use crate::data::dates::{source_tokens, target_tokens};
    ex.iter()
        .map(|e| (src.encode(&source_tokens(&e.source), false), tgt.encode(&target_tokens(&e.target), true)))
        .collect()
}

/// One epoch's batches of indices: shuffled, then sorted by source length within windows of 16
/// batches so that a batch holds few distinct lengths (the encoder runs once per length), then
/// the batches shuffled. Draws from `rng`.
pub fn date_batches(data: &[(Vec<i64>, Vec<i64>)], batch: usize, rng: &mut Generator) -> Vec<Vec<usize>> {
    let mut order = rng.permutation(data.len());
    let mut out = Vec::new();
    for window in order.chunks_mut(batch.max(1) * 16) {
        window.sort_by_key(|&i| data[i].0.len());
        out.extend(window.chunks(batch.max(1)).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut out);
    out
}

/// The padded (source, target) tensors of the examples `idx`.
pub fn date_tensors(data: &[(Vec<i64>, Vec<i64>)], idx: &[usize]) -> Result<(Tensor, Tensor)> {
    use crate::data::dates::PAD;
    let src: Vec<Vec<i64>> = idx.iter().map(|&i| data[i].0.clone()).collect();
    let tgt: Vec<Vec<i64>> = idx.iter().map(|&i| data[i].1.clone()).collect();
    Ok((pad_batch(&src, PAD)?, pad_batch(&tgt, PAD)?))
}

/// Exact-match accuracy of greedy decoding (at most 12 tokens) over `data`, and up to five wrong
/// answers `(index, decoded)` to show.
pub fn exact_match(
    model: &Seq2Seq,
    data: &[(Vec<i64>, Vec<i64>)],
    tgt: &crate::data::dates::Vocab,
) -> Result<(f64, Vec<(usize, String)>)> {
    use crate::data::dates::EOS;
    let (mut right, mut wrong) = (0, Vec::new());
    let idx: Vec<usize> = (0..data.len()).collect();
    for chunk in idx.chunks(256) {
        let (src, _) = date_tensors(data, chunk)?;
        let out = model.greedy_decode(&src, 12)?;
        for (&i, ids) in chunk.iter().zip(&out) {
            let want = tgt.decode(&data[i].1, "");
            let got = tgt.decode(ids, "");
            if got == want && ids.last() == Some(&EOS) {
                right += 1;
            } else if wrong.len() < 5 {
                wrong.push((i, got));
            }
        }
    }
    Ok((right as f64 / data.len().max(1) as f64, wrong))
}

/// The example's model for a [`DateData`]: a GRU encoder–decoder, embedding 32, hidden 64,
/// decoding at most 12 tokens.
pub fn date_model(
    d: &DateData,
    cell: Cell,
    embed: usize,
    hidden: usize,
    rng: &mut Generator,
) -> Result<Seq2Seq> {
    let mut config = Seq2SeqConfig::new(d.src_vocab.len(), d.tgt_vocab.len(), embed, hidden);
    config.cell = cell;
    config.max_len = 12;
    Seq2Seq::new(config, rng)
}

/// Training and held-out dates of `glassgrad train seq2seq` (as the example's defaults).
pub const DATES_TRAIN: usize = 20_000;
pub const DATES_TEST: usize = 2_000;

/// The `seq2seq` entry of `glassgrad train`: the dates task ([`date_data`], 20,000 training and
/// 2,000 held-out dates generated from `--seed`) with the example's settings: GRU, embedding 32,
/// hidden 64, Adam at $3 \cdot 10^{-3}$, gradients clipped to norm 1, batches of 64, 4 epochs;
/// the same seed gives the example's numbers. Per epoch `metrics.csv` records the training loss
/// and the exact match on the first 500 held-out dates; the headline is the exact match on all
/// of them (`held-out exact match: …`). `--resume` continues from an epoch checkpoint (model,
/// Adam's state and the batch generator). There is no `eval`: the task is generated, not read
/// from a file, and its vocabularies come from the generated training sentences.
pub struct Seq2SeqJob;

/// Columns of `metrics.csv` for `seq2seq`.
pub const SEQ2SEQ_COLUMNS: &[&str] = &["epoch", "train_loss", "test_exact_match_500", "samples_per_s"];

impl crate::train::TrainJob for Seq2SeqJob {
    fn name(&self) -> &'static str {
        "seq2seq"
    }
    fn about(&self) -> &'static str {
        "GRU encoder-decoder with Luong attention: dates in words to ISO dates (generated)"
    }
    fn defaults(&self) -> crate::train::Defaults {
        crate::train::Defaults { epochs: 4, batch_size: 64, lr: 3e-3, lr_decay: 1.0, data: "" }
    }
    fn columns(&self) -> &'static [&'static str] {
        SEQ2SEQ_COLUMNS
    }
    fn unused_options(&self) -> &'static [&'static str] {
        &["data"]
    }
    fn train(
        &self,
        hp: &crate::train::Hyper,
        resume: Option<&std::path::Path>,
        rep: &mut crate::train::Reporter,
    ) -> Result<crate::train::FinalMetrics> {
        use crate::checkpoint::{TrainState, load_checkpoint, read_checkpoint, save_checkpoint};
        use crate::optim::{Adam, AdamConfig, Optimizer, clip_grad_norm};
        let started = std::time::Instant::now();
        let d = date_data(DATES_TRAIN, DATES_TEST, hp.seed)?;
        let mut rng = Generator::new(hp.seed);
        let model = date_model(&d, Cell::Gru, 32, 64, &mut rng)?;
        let params = model.parameters();
        let mut opt = Adam::new(params.clone(), AdamConfig::new(hp.lr))?;
        let meta: std::collections::BTreeMap<String, String> = [
            ("model", self.name().to_string()),
            ("seed", hp.seed.to_string()),
            ("batch_size", hp.batch_size.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut done = 0;
        if let Some(path) = resume {
            let stored = read_checkpoint(path)?.train_state()?.meta;
            if stored != meta {
                return Err(Error::file(
                    path,
                    format!(
                        "the checkpoint's run {stored:?} is not this run {meta:?}: resuming would not continue it"
                    ),
                ));
            }
            let st = load_checkpoint(path, &model, Some(&mut opt))?;
            done = st.epoch;
            rng = st.rng.ok_or_else(|| Error::file(path, "no generator state in the checkpoint"))?;
            rep.restore(&st.history_columns, st.history)?;
        }
        let state = |epoch: u64, rng: &Generator, rep: &crate::train::Reporter| TrainState {
            epoch,
            rng: Some(rng.clone()),
            history_columns: rep.columns().to_vec(),
            history: rep.history().to_vec(),
            meta: meta.clone(),
            ..Default::default()
        };
        for epoch in done + 1..=hp.epochs {
            opt.set_lr(hp.lr * hp.lr_decay.powi(epoch as i32 - 1));
            let batches = date_batches(&d.train, hp.batch_size, &mut rng);
            rep.start_epoch(epoch, hp.epochs, batches.len());
            let (mut total, mut rows) = (0.0f64, 0usize);
            for idx in batches {
                let (src, tgt) = date_tensors(&d.train, &idx)?;
                opt.zero_grad();
                let loss = model.loss(&src, &tgt)?;
                loss.backward()?;
                clip_grad_norm(&params, 1.0, 2.0)?;
                opt.step()?;
                let l = loss.item()?;
                total += l * idx.len() as f64;
                rows += idx.len();
                rep.batch(l, idx.len());
            }
            let per_s = rep.samples_per_s();
            let (acc, _) = exact_match(&model, &d.test[..d.test.len().min(500)], &d.tgt_vocab)?;
            rep.end_epoch(vec![epoch as f64, total / rows.max(1) as f64, acc, per_s])?;
            save_checkpoint(rep.epoch_checkpoint(epoch), &model, Some(&opt), &state(epoch, &rng, rep))?;
        }
        let epochs = done.max(hp.epochs);
        save_checkpoint(rep.final_checkpoint(), &model, Some(&opt), &state(epochs, &rng, rep))?;
        let Some(last) = rep.history().last().cloned() else {
            return Err(Error::invalid("train", "no epoch was run (--epochs 0)"));
        };
        let (acc, wrong) = exact_match(&model, &d.test, &d.tgt_vocab)?;
        let notes = wrong
            .iter()
            .map(|(i, got)| {
                format!("miss: {} -> {got} (want {})", d.task.test[*i].source, d.task.test[*i].target)
            })
            .collect();
        Ok(crate::train::FinalMetrics {
            model: self.name().into(),
            tags: Vec::new(),
            headline: ("held-out exact match", "exact_match"),
            values: vec![
                ("exact_match".into(), acc),
                ("final_loss".into(), last[1]),
                ("epochs".into(), epochs as f64),
                ("samples_per_s".into(), last[3]),
                ("fit_s".into(), started.elapsed().as_secs_f64()),
            ],
            notes,
        })
    }
    fn eval(
        &self,
        _checkpoint: &std::path::Path,
        _data: &std::path::Path,
    ) -> Result<crate::train::FinalMetrics> {
        Err(Error::invalid(
            "eval seq2seq",
            "not available: the dates task is generated (`train seq2seq --seed S`), not read from a data file, and its vocabularies come from the generated training sentences",
        ))
    }
}
