//! Word2Vec skip-gram with negative sampling (Mikolov et al. 2013), the document's word vectors
//! $w_i \in \mathbb{R}^d$ (§1.3.3.1).
//!
//! Two tables: input vectors $v_w$ (`w_in`, the word vectors kept at the end) and output vectors
//! $u_w$ (`w_out`), both $(V \times d)$. For a centre word $c$, a context word $o$ within the window
//! and $K$ negatives $n_1 \dots n_K$ drawn from the unigram distribution raised to $3/4$,
//!
//! $$\ell(c, o) = -\log \sigma(u_o^\top v_c) - \sum_{k=1}^{K} \log \sigma(-u_{n_k}^\top v_c),
//!   \qquad -\log\sigma(z) = \log(1 + e^{-z}) = \operatorname{logsumexp}(0, -z),$$
//!
//! averaged over a batch of pairs. Gradients (from the ops): with $s_j = \pm 1$ the label of slot
//! $j$ and $z_j = s_j u_j^\top v_c$, $\partial \ell / \partial v_c = -\sum_j s_j \sigma(-z_j) u_j$ and
//! $\partial \ell / \partial u_j = -s_j \sigma(-z_j) v_c$. Both tables are read with
//! [`Tensor::embedding_sparse_grad`], so a batch's gradient touches only the rows it used, and
//! the step is [`crate::optim::SparseAdam`] or [`crate::optim::SparseSgd`] on those rows.
//!
//! **Subsampling** (word2vec.c's rule): an occurrence of a word with corpus frequency $f$ is kept
//! with probability $p = \min\big(1, \sqrt{t/f} + t/f\big)$ (threshold $t$, e.g. $10^{-3}$).
//! **Window**: as word2vec.c, each centre draws its own window $b \sim \mathcal U\{1..W\}$.
//! **Negatives** come from a table of $M$ slots in which word $w$ fills a share
//! $c_w^{3/4} / \sum_v c_v^{3/4}$ ($c_w$ its count); a draw equal to the positive word is redrawn.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::nn::{Mode, Module};
use crate::optim::Optimizer;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// Lower-case words: runs of letters, digits and apostrophes (`don't`), `#` and `@` dropped.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Words with their counts, most frequent first (ties alphabetical).
#[derive(Clone, Debug)]
pub struct WordVocab {
    pub words: Vec<String>,
    pub counts: Vec<u64>,
    index: HashMap<String, usize>,
}

impl WordVocab {
    /// The words occurring at least `min_count` times in `sentences`.
    pub fn build(sentences: &[Vec<String>], min_count: u64) -> WordVocab {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for s in sentences {
            for w in s {
                *counts.entry(w.as_str()).or_default() += 1;
            }
        }
        let mut kept: Vec<(&str, u64)> = counts.into_iter().filter(|&(_, c)| c >= min_count).collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let words: Vec<String> = kept.iter().map(|(w, _)| w.to_string()).collect();
        let index = words.iter().enumerate().map(|(i, w)| (w.clone(), i)).collect();
        WordVocab { counts: kept.iter().map(|&(_, c)| c).collect(), words, index }
    }
    pub fn len(&self) -> usize {
        self.words.len()
    }
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
    pub fn id(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }
    /// The sentences as ids, words outside the vocabulary dropped.
    pub fn encode(&self, sentences: &[Vec<String>]) -> Vec<Vec<usize>> {
        sentences.iter().map(|s| s.iter().filter_map(|w| self.id(w)).collect()).collect()
    }
}

/// word2vec.c's keep probability $\min(1, \sqrt{t/f} + t/f)$ for a word of relative frequency
/// `f`; 1 when `t` is 0 (no subsampling).
pub fn keep_probability(f: f64, t: f64) -> f64 {
    if t <= 0.0 || f <= 0.0 { 1.0 } else { ((t / f).sqrt() + t / f).min(1.0) }
}

/// The unigram$^{3/4}$ table negatives are drawn from (module docs).
#[derive(Clone, Debug)]
pub struct NegativeTable {
    table: Vec<u32>,
}

impl NegativeTable {
    /// A table of `size` slots over words with `counts`, shares $\propto c^{power}$.
    pub fn new(counts: &[u64], size: usize, power: f64) -> Result<NegativeTable> {
        if counts.is_empty() || size == 0 {
            return Err(Error::invalid("NegativeTable", "needs at least one word and one slot"));
        }
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(power)).collect();
        let total: f64 = weights.iter().sum();
        let mut table = Vec::with_capacity(size);
        let (mut w, mut cum) = (0usize, weights[0] / total);
        for slot in 0..size {
            table.push(w as u32);
            if (slot + 1) as f64 / size as f64 > cum && w + 1 < counts.len() {
                w += 1;
                cum += weights[w] / total;
            }
        }
        Ok(NegativeTable { table })
    }
    /// A word drawn from the table.
    pub fn sample(&self, rng: &mut Generator) -> usize {
        self.table[rng.below(self.table.len())] as usize
    }
    /// The share of the table word `w` holds.
    pub fn share(&self, w: usize) -> f64 {
        self.table.iter().filter(|&&v| v as usize == w).count() as f64 / self.table.len() as f64
    }
}

/// Hyperparameters of the skip-gram training.
#[derive(Clone, Copy, Debug)]
pub struct SkipGramConfig {
    pub dim: usize,
    pub window: usize,
    pub negatives: usize,
    /// Subsampling threshold $t$ (0 = none).
    pub subsample: f64,
    pub batch: usize,
}

impl Default for SkipGramConfig {
    fn default() -> Self {
        SkipGramConfig { dim: 100, window: 5, negatives: 5, subsample: 1e-3, batch: 1024 }
    }
}

/// (centre, context) pairs of one epoch: subsampled sentences, a random window per centre.
pub fn skipgram_pairs(
    sentences: &[Vec<usize>],
    counts: &[u64],
    window: usize,
    subsample: f64,
    rng: &mut Generator,
) -> Vec<(usize, usize)> {
    let total: u64 = counts.iter().sum();
    let keep: Vec<f64> =
        counts.iter().map(|&c| keep_probability(c as f64 / total.max(1) as f64, subsample)).collect();
    let mut pairs = Vec::new();
    for s in sentences {
        let kept: Vec<usize> =
            s.iter().copied().filter(|&w| keep[w] >= 1.0 || rng.uniform() < keep[w]).collect();
        for (i, &c) in kept.iter().enumerate() {
            let b = 1 + rng.below(window.max(1));
            let lo = i.saturating_sub(b);
            for (j, &o) in kept.iter().enumerate().take(i + b + 1).skip(lo) {
                if j != i {
                    pairs.push((c, o));
                }
            }
        }
    }
    pairs
}

/// The two tables of a skip-gram model. As a [`Module`], `forward(ids)` looks up input vectors.
pub struct SkipGram {
    /// Input (word) vectors $v$, $(V, d)$: $\mathcal U(-\tfrac{0.5}{d}, \tfrac{0.5}{d})$ as word2vec.c.
    pub w_in: Tensor,
    /// Output (context) vectors $u$, $(V, d)$: zeros as word2vec.c.
    pub w_out: Tensor,
    mode: Mode,
}

impl SkipGram {
    pub fn new(vocab: usize, dim: usize, dtype: DType, rng: &mut Generator) -> Result<SkipGram> {
        if vocab == 0 || dim == 0 {
            return Err(Error::invalid("SkipGram", "vocabulary and dimension must be at least 1"));
        }
        let h = 0.5 / dim as f64;
        let w_in = Tensor::uniform(&[vocab, dim], -h, h, dtype, rng)?.requires_grad_()?;
        let w_out = Tensor::zeros(&[vocab, dim], dtype)?.requires_grad_()?;
        Ok(SkipGram { w_in, w_out, mode: Mode::default() })
    }

    /// The mean negative-sampling loss of `centres (B)` against `targets (B, 1 + K)` (column 0
    /// the true context, the others negatives), with row-sparse gradients on both tables.
    pub fn loss(&self, centres: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let ts = targets.shape();
        if ts.len() != 2 || ts[1] == 0 || centres.shape() != [ts[0]] {
            return Err(Error::mismatch(
                "skipgram",
                &centres.shape(),
                &ts,
                "centres (B) and targets (B, 1 + K)",
            ));
        }
        let (b, j) = (ts[0], ts[1]);
        let v = Tensor::embedding_sparse_grad(centres, &self.w_in, None)?; // (B, d)
        let u = Tensor::embedding_sparse_grad(targets, &self.w_out, None)?; // (B, 1+K, d)
        let scores = u.matmul(&v.unsqueeze(2)?)?.reshape_usize(&[b, j])?; // u_jᵀ v_c
        let signs: Vec<f64> = (0..j).map(|k| if k == 0 { 1.0 } else { -1.0 }).collect();
        let z = scores.mul(&Tensor::from_vec(signs, &[j])?.to_dtype(scores.dtype())?)?;
        // -log σ(z) = log(1 + e^{-z}) = logsumexp(0, -z): stable, and smooth at z = 0 (where
        // relu(-z) + log(1 + e^{-|z|}) would back-propagate relu'(0) = |·|'(0) = 0, and the
        // zero-initialised output vectors would never move).
        let nz = z.neg()?;
        let softplus = Tensor::stack(&[nz.zeros_like()?, nz], -1)?.logsumexp(-1, false)?;
        softplus.sum()?.div_scalar(b as f64)
    }

    /// One epoch over `pairs` (shuffled) in batches, `negatives` per pair from `table`; returns
    /// the mean batch loss. The optimizer consumes the sparse gradients.
    pub fn train_epoch(
        &self,
        pairs: &mut [(usize, usize)],
        table: &NegativeTable,
        negatives: usize,
        batch: usize,
        opt: &mut dyn Optimizer,
        rng: &mut Generator,
    ) -> Result<f64> {
        rng.shuffle(pairs);
        let (mut total, mut n) = (0.0, 0);
        for chunk in pairs.chunks(batch.max(1)) {
            let centres: Vec<i64> = chunk.iter().map(|&(c, _)| c as i64).collect();
            let mut targets = Vec::with_capacity(chunk.len() * (1 + negatives));
            for &(_, o) in chunk {
                targets.push(o as i64);
                for _ in 0..negatives {
                    let mut w = table.sample(rng);
                    for _ in 0..3 {
                        if w != o {
                            break;
                        }
                        w = table.sample(rng);
                    }
                    targets.push(w as i64);
                }
            }
            let c = Tensor::from_vec(centres, &[chunk.len()])?;
            let t = Tensor::from_vec(targets, &[chunk.len(), 1 + negatives])?;
            opt.zero_grad();
            let loss = self.loss(&c, &t)?;
            loss.backward()?;
            opt.step()?;
            total += loss.item()?;
            n += 1;
        }
        Ok(total / n.max(1) as f64)
    }

    /// The input vectors as f64 rows.
    pub fn vectors(&self) -> Vec<Vec<f64>> {
        let d = self.w_in.shape()[1];
        self.w_in.to_f64_vec().chunks(d).map(<[f64]>::to_vec).collect()
    }

    /// The `k` words nearest to word `w` by cosine of the input vectors (`w` itself excluded),
    /// most similar first.
    pub fn nearest(&self, w: usize, k: usize) -> Vec<(usize, f64)> {
        let vs = self.vectors();
        let Some(q) = vs.get(w) else { return Vec::new() };
        let mut sims: Vec<(usize, f64)> =
            vs.iter().enumerate().filter(|&(i, _)| i != w).map(|(i, v)| (i, cosine(q, v))).collect();
        sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        sims.truncate(k);
        sims
    }
}

impl Module for SkipGram {
    /// Input vectors of `ids` (any shape): `ids.shape + [d]`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        no_grad(|| Tensor::embedding(ids, &self.w_in, None))
    }
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("w_in".into(), self.w_in.clone()), ("w_out".into(), self.w_out.clone())]
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// $\cos(a, b) = a^\top b / (\|a\| \|b\|)$ (0 when either is zero).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

/// Writes vectors in word2vec's text format: a header `V d`, then `word x_1 ... x_d` per line.
pub fn save_text(path: &Path, words: &[String], vectors: &[Vec<f64>]) -> Result<()> {
    let err = |e: std::io::Error| Error::file(path, e.to_string());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(err)?);
    let d = vectors.first().map_or(0, Vec::len);
    writeln!(f, "{} {d}", words.len()).map_err(err)?;
    for (w, v) in words.iter().zip(vectors) {
        write!(f, "{w}").map_err(err)?;
        for x in v {
            write!(f, " {x:.6}").map_err(err)?;
        }
        writeln!(f).map_err(err)?;
    }
    f.flush().map_err(err)
}

/// The column `column` of a CSV file (plain or `.gz`) read as latin-1 text (each byte one
/// character), one string per record.
pub fn read_latin1_column(path: &Path, column: &str) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(crate::data::csv::open(path)?);
    let headers = reader.byte_headers().map_err(|e| Error::file(path, e.to_string()))?.clone();
    let latin1 = |b: &[u8]| b.iter().map(|&c| c as char).collect::<String>();
    let col = headers
        .iter()
        .position(|h| latin1(h) == column)
        .ok_or_else(|| Error::file(path, format!("no column {column:?} in the header")))?;
    let mut out = Vec::new();
    for rec in reader.byte_records() {
        let rec = rec.map_err(|e| Error::file(path, e.to_string()))?;
        out.push(rec.get(col).map(latin1).unwrap_or_default());
    }
    Ok(out)
}
