//! §1.3.3.2 seq2seq: an encoder–decoder with Luong attention learns to read dates written in
//! words and write them as ISO dates ("the twenty-third of march nineteen ninety-one" →
//! "1991-03-23"). Trained with teacher forcing, evaluated by greedy decoding on held-out dates
//! (no test date appears in training, in any wording); the headline is exact-match accuracy.
//!
//! Run: `cargo run --release --example seq2seq -- [--epochs 4] [--cell gru|lstm] [--json]`

use std::time::Instant;

use clap::Parser;
use glassgrad::data::dates::{DateExample, DateTask, EOS, PAD, Vocab, source_tokens, target_tokens};
use glassgrad::models::seq2seq::{Cell, Seq2Seq, Seq2SeqConfig, pad_batch};
use glassgrad::nn::Module;
use glassgrad::optim::{Adam, AdamConfig, Optimizer, clip_grad_norm};
use glassgrad::{Generator, Result, Tensor};

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

/// Encoded (source ids, target ids ending in eos) of every example.
fn encode(ex: &[DateExample], src: &Vocab, tgt: &Vocab) -> Vec<(Vec<i64>, Vec<i64>)> {
    ex.iter()
        .map(|e| (src.encode(&source_tokens(&e.source), false), tgt.encode(&target_tokens(&e.target), true)))
        .collect()
}

/// Batches of indices: shuffled, then sorted by source length within windows of 16 batches so
/// that a batch holds few distinct lengths (the encoder runs once per length), then shuffled.
fn batches(data: &[(Vec<i64>, Vec<i64>)], batch: usize, rng: &mut Generator) -> Vec<Vec<usize>> {
    let mut order = rng.permutation(data.len());
    let mut out = Vec::new();
    for window in order.chunks_mut(batch * 16) {
        window.sort_by_key(|&i| data[i].0.len());
        out.extend(window.chunks(batch).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut out);
    out
}

fn tensors(data: &[(Vec<i64>, Vec<i64>)], idx: &[usize]) -> Result<(Tensor, Tensor)> {
    let src: Vec<Vec<i64>> = idx.iter().map(|&i| data[i].0.clone()).collect();
    let tgt: Vec<Vec<i64>> = idx.iter().map(|&i| data[i].1.clone()).collect();
    Ok((pad_batch(&src, PAD)?, pad_batch(&tgt, PAD)?))
}

/// Exact-match accuracy of greedy decoding (and a few wrong answers to show).
fn evaluate(
    model: &Seq2Seq,
    data: &[(Vec<i64>, Vec<i64>)],
    tgt: &Vocab,
) -> Result<(f64, Vec<(usize, String)>)> {
    let (mut right, mut wrong) = (0, Vec::new());
    let idx: Vec<usize> = (0..data.len()).collect();
    for chunk in idx.chunks(256) {
        let (src, _) = tensors(data, chunk)?;
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

fn main() -> Result<()> {
    let args = Args::parse();
    let start = Instant::now();
    let task = DateTask::new(args.train, args.test, args.seed)?;
    assert!(!task.leaks(), "test dates must not appear in training"); // ok: example
    let src_vocab = Vocab::build(
        task.train
            .iter()
            .flat_map(|e| source_tokens(&e.source))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    let tgt_vocab = Vocab::build("0123456789-".split("").filter(|s| !s.is_empty()));
    let train = encode(&task.train, &src_vocab, &tgt_vocab);
    let test = encode(&task.test, &src_vocab, &tgt_vocab);
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
    let mut config = Seq2SeqConfig::new(src_vocab.len(), tgt_vocab.len(), args.embed, args.hidden);
    config.cell = if args.cell == "lstm" { Cell::Lstm } else { Cell::Gru };
    config.max_len = 12;
    let model = Seq2Seq::new(config, &mut rng)?;
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
        for idx in batches(&train, args.batch, &mut rng) {
            let (src, tgt) = tensors(&train, &idx)?;
            opt.zero_grad();
            let loss = model.loss(&src, &tgt)?;
            loss.backward()?;
            clip_grad_norm(&params, args.clip, 2.0)?;
            opt.step()?;
            total += loss.item()?;
            count += 1;
        }
        let (acc, _) = evaluate(&model, &test[..test.len().min(500)], &tgt_vocab)?;
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
    let (acc, wrong) = evaluate(&model, &test, &tgt_vocab)?;
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
