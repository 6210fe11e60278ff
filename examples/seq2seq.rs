//! §1.3.3.2 seq2seq: an encoder–decoder with Luong attention learns to read dates written in
//! words and write them as ISO dates ("the twenty-third of march nineteen ninety-one" →
//! "1991-03-23"). Trained with teacher forcing, evaluated by greedy decoding on held-out dates
//! (no test date appears in training, in any wording); the headline is exact-match accuracy.
//!
//! Run: `cargo run --release --example seq2seq -- [--epochs 4] [--cell gru|lstm] [--json]`.
//! `glassgrad train seq2seq` runs the default GRU settings through the train framework
//! (checkpoints, curves, `--resume`) with the same numbers for the same seed.

use std::time::Instant;

use clap::Parser;
use glassgrad::models::seq2seq::{Cell, date_batches, date_data, date_model, date_tensors, exact_match};
use glassgrad::nn::Module;
use glassgrad::optim::{Adam, AdamConfig, Optimizer, clip_grad_norm};
use glassgrad::{Generator, Result};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 20000)]
    train: usize,
    #[arg(long, default_value_t = 2000)]
    test: usize,
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value_t = 32)]
    embed: usize,
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    #[arg(long, default_value_t = 0.003)]
    lr: f64,
    #[arg(long, default_value_t = 1.0)]
    clip: f64,
    /// gru or lstm
    #[arg(long, default_value = "gru")]
    cell: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// One JSON object per line on stdout instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let start = Instant::now();
    // The data, batching and evaluation are shared with `glassgrad train seq2seq`.
    let d = date_data(args.train, args.test, args.seed)?;
    let (task, src_vocab, tgt_vocab, train, test) = (&d.task, &d.src_vocab, &d.tgt_vocab, &d.train, &d.test);
    if !args.json {
        println!(
            "dates: {} train, {} held-out (disjoint dates); source vocabulary {} words, target {} symbols",
            train.len(),
            test.len(),
            src_vocab.len(),
            tgt_vocab.len()
        );
        for e in task.train.iter().take(3) {
            println!("  {:>50}  ->  {}", e.source, e.target);
        }
    }
    let mut rng = Generator::new(args.seed);
    let cell = if args.cell == "lstm" { Cell::Lstm } else { Cell::Gru };
    let model = date_model(&d, cell, args.embed, args.hidden, &mut rng)?;
    let config = model.config;
    let params = model.parameters();
    let mut opt = Adam::new(params.clone(), AdamConfig::new(args.lr))?;
    if !args.json {
        println!(
            "model: {:?} encoder-decoder, embed {}, hidden {}, {} parameters",
            config.cell,
            args.embed,
            args.hidden,
            model.num_parameters()
        );
    }
    for epoch in 1..=args.epochs {
        let t0 = Instant::now();
        let (mut total, mut count) = (0.0, 0);
        for idx in date_batches(train, args.batch, &mut rng) {
            let (src, tgt) = date_tensors(train, &idx)?;
            opt.zero_grad();
            let loss = model.loss(&src, &tgt)?;
            loss.backward()?;
            clip_grad_norm(&params, args.clip, 2.0)?;
            opt.step()?;
            total += loss.item()?;
            count += 1;
        }
        let (acc, _) = exact_match(&model, &test[..test.len().min(500)], tgt_vocab)?;
        let loss = total / count.max(1) as f64;
        if args.json {
            println!(
                "{{\"epoch\": {epoch}, \"loss\": {loss:.6}, \"exact_match_500\": {acc:.4}, \"epoch_s\": {:.2}}}",
                t0.elapsed().as_secs_f64()
            );
        } else {
            eprintln!(
                "epoch {epoch}: train loss {loss:.4}, held-out exact match (first 500) {acc:.4}, {:.1} s",
                t0.elapsed().as_secs_f64()
            );
        }
    }
    let (acc, wrong) = exact_match(&model, test, tgt_vocab)?;
    let secs = start.elapsed().as_secs_f64();
    if args.json {
        println!("{{\"accuracy\": {acc:.4}, \"fit_s\": {secs:.2}}}");
    } else {
        for (i, got) in wrong {
            println!("  miss: {:>50}  ->  {got} (want {})", task.test[i].source, task.test[i].target);
        }
        println!("wall time: {secs:.1} s");
        println!("held-out exact match: {acc:.4}");
    }
    Ok(())
}
