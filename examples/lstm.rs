//! Listing 1.4.3, the LSTM text classifier (vocabulary 1000, embedding 64, hidden 128, 2 layers),
//! on short consumer messages labelled negative / neutral / positive.
//!
//! The PyTorch listing and its bugs:
//!
//! ```text
//! class NLPModel(nn.Module):
//!     def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers):
//!         super().__init()                                  # bug: __init__
//!         self.embedding = nn.Embedding(vocab_size, embedding_dim)
//!         self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, batch_first=True)
//!         self.fc = nn.Linear(hidden_dim, output_dim)
//!     def forward(self, x):
//!         x = self.embedding(x)
//!         h0 = torch.zeros(n_layers, x.size(0), hidden_dim)  # bug: undefined names, use self's sizes
//!         c0 = torch.zeros(n_layers, x.size(0), hidden_dim)
//!         out, _ = self.rnn(x, (h0, c0))
//!         out = self.fc(out[:, -1, :])
//!         return out
//! ```
//!
//! The twin is [`glassgrad::models::SeedLstm`]: the constructor is a plain Rust `new`, and the zero
//! states are sized from the model's own LSTM. Data ([`glassgrad::data::text`]): the corpus is read
//! as latin-1, lower-cased word tokens, ids for the 998 most frequent training words plus unknown
//! and padding, messages left-padded or truncated to 32 ids so the last step is a real token; a
//! seeded 80/20 split. Printed beside it: the majority class, and a bag-of-words logistic
//! regression over the same vocabulary trained by the same engine.
//!
//! Run: `cargo run --release --example lstm [-- PATH [--epochs N] [--budget-s S]]`, PATH defaulting
//! to `../shared/data/sentiment_tweets.csv.gz` (the corpus is not redistributed with glassgrad).

use std::path::PathBuf;
use std::time::Instant;

use glassgrad::data::DataLoader;
use glassgrad::models::SeedLstm;
use glassgrad::models::lstm::{TWEETS_LEN as MAX_LEN, TWEETS_PATH, TWEETS_VOCAB as VOCAB, load_tweets};
use glassgrad::nn::{Linear, Module};
use glassgrad::ops::loss::Reduction;
use glassgrad::optim::{Adam, AdamConfig, Optimizer, clip_grad_norm};
use glassgrad::{DType, Generator, Result, Tensor, no_grad};

fn accuracy(model: &dyn Module, x: &Tensor, y: &Tensor) -> Result<f64> {
    let n = y.shape()[0];
    let (mut right, mut at) = (0, 0);
    while at < n {
        let len = 512.min(n - at);
        let pred = no_grad(|| model.forward(&x.narrow(0, at, len)?))?.argmax(Some(1), false)?;
        let t = y.narrow(0, at, len)?.to_vec::<i64>()?;
        right += pred.to_vec::<i64>()?.iter().zip(&t).filter(|(a, b)| a == b).count();
        at += len;
    }
    Ok(right as f64 / n.max(1) as f64)
}

/// Trains `model` with Adam on (x, y) for up to `epochs` epochs or `budget_s` seconds.
#[allow(clippy::too_many_arguments)]
fn fit(
    name: &str,
    model: &mut dyn Module,
    x: &Tensor,
    y: &Tensor,
    lr: f64,
    batch: usize,
    epochs: usize,
    budget_s: f64,
    clip: Option<f64>,
) -> Result<()> {
    let start = Instant::now();
    let params = model.parameters();
    let mut opt = Adam::new(params.clone(), AdamConfig::new(lr))?;
    let mut loader = DataLoader::new(vec![x.clone(), y.clone()], batch)?.shuffle(7);
    'epochs: for epoch in 1..=epochs {
        model.train();
        let (mut total, mut seen) = (0.0, 0);
        for b in loader.iter() {
            let b = b?;
            let loss = model.forward(&b[0])?.cross_entropy(&b[1], Reduction::Mean)?;
            opt.zero_grad();
            loss.backward()?;
            if let Some(c) = clip {
                clip_grad_norm(&params, c, 2.0)?;
            }
            opt.step()?;
            total += loss.item()?;
            seen += 1;
            if start.elapsed().as_secs_f64() > budget_s {
                eprintln!("{name}: time budget of {budget_s} s reached in epoch {epoch} ({seen} batches)");
                break 'epochs;
            }
        }
        eprintln!(
            "{name}: epoch {epoch}, train loss {:.4}, {:.0} s",
            total / seen.max(1) as f64,
            start.elapsed().as_secs_f64()
        );
    }
    model.eval();
    Ok(())
}

/// Bag-of-words logistic regression: softmax(W · counts + b), one `Linear(V, C)`.
struct BagOfWords(Linear);
impl Module for BagOfWords {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.forward(x)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("fc".into(), &self.0)]
    }
    fn mode(&self) -> &glassgrad::nn::Mode {
        self.0.mode()
    }
}

fn main() -> Result<()> {
    let start = Instant::now();
    let mut args = std::env::args().skip(1);
    let (mut path, mut epochs, mut budget_s) = (None, 4usize, 480.0f64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--epochs" => epochs = args.next().and_then(|v| v.parse().ok()).unwrap_or(epochs),
            "--budget-s" => budget_s = args.next().and_then(|v| v.parse().ok()).unwrap_or(budget_s),
            _ => path = Some(PathBuf::from(a)),
        }
    }
    let path = path.unwrap_or_else(|| PathBuf::from(TWEETS_PATH));
    // The same data as `glassgrad train lstm` (split seed 0, vocabulary from the training part).
    let t = match load_tweets(&path, 0) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}\nthen: cargo run --release --example lstm -- sentiment_tweets.csv.gz");
            std::process::exit(2);
        }
    };
    let (tokens, classes, vocab) = (&t.tokens, &t.classes, &t.vocab);
    let (train_idx, test_idx) = (&t.train_idx[..], &t.test_idx[..]);
    let bags = |idx: &[usize]| -> Result<Tensor> {
        let v: Vec<f32> = idx.iter().flat_map(|&i| vocab.bag_of_words(&tokens[i])).collect();
        Tensor::from_vec(v, &[idx.len(), vocab.len()])
    };
    let (x_train, y_train) = (t.data.train_x.clone(), t.data.train_y.clone());
    let (x_test, y_test) = (t.data.test_x.clone(), t.data.test_y.clone());
    println!(
        "{} messages, classes {:?}; train {} / held-out {}; vocabulary {} ids, sequences of {MAX_LEN}",
        t.labels.len(),
        classes,
        train_idx.len(),
        test_idx.len(),
        vocab.len()
    );

    // Baseline 1: the training majority class.
    let majority_acc = t.majority_accuracy;
    println!("majority class: held-out accuracy {majority_acc:.4}");

    // Baseline 2: bag-of-words logistic regression over the same vocabulary, same engine.
    let t0 = Instant::now();
    let mut rng = Generator::new(1);
    let mut bow = BagOfWords(Linear::new(vocab.len(), classes.len(), true, DType::F32, &mut rng)?);
    let (b_train, b_test) = (bags(train_idx)?, bags(test_idx)?);
    fit("bag-of-words", &mut bow, &b_train, &y_train, 5e-3, 64, 5, 120.0, None)?;
    let bow_acc = accuracy(&bow, &b_test, &y_test)?;
    println!(
        "bag-of-words logistic regression: held-out accuracy {bow_acc:.4} ({:.0} s)",
        t0.elapsed().as_secs_f64()
    );

    // The listing's model.
    let t0 = Instant::now();
    let mut model = SeedLstm::listing(classes.len(), DType::F32, &mut rng)?;
    fit("lstm", &mut model, &x_train, &y_train, 2e-3, 64, epochs, budget_s, Some(1.0))?;
    let acc = accuracy(&model, &x_test, &y_test)?;
    println!(
        "LSTM (vocabulary {VOCAB}, embedding 64, hidden 128, 2 layers): trained in {:.0} s, total {:.0} s",
        t0.elapsed().as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    println!("held-out accuracy: {acc:.4}");
    Ok(())
}
