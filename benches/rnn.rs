//! Criterion benches of the tanh RNN: the `glassgrad bench` cases `rnn_fwd` (RNN 128→128 over
//! (64, 50, 128)), `rnnlm_fwd` and `rnnlm_train_step` (Embedding(1000, 128) → RNN 128 →
//! Linear(128, 1000), cross-entropy over all 3,200 tokens, SGD). Throughput is in flops (one
//! criterion "element" = one flop; the counts are in `glassgrad::bench::sequence_cases`).
//! Run: `cargo bench --bench rnn`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassgrad::Generator;
use glassgrad::bench::{SEED, sequence_cases};

fn bench_ids(c: &mut Criterion, group: &str, ids: &[&str]) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for case in sequence_cases().into_iter().filter(|c| ids.contains(&c.id.as_str())) {
        let mut run = match (case.setup)(&mut Generator::new(SEED)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: setup failed: {e}", case.id);
                continue;
            }
        };
        if let Some(f) = case.work.flops {
            g.throughput(Throughput::Elements(f as u64));
        }
        g.bench_function(case.id.as_str(), |b| {
            b.iter(|| {
                if let Err(e) = run() {
                    eprintln!("{}: {e}", case.id);
                }
            })
        });
    }
    g.finish();
}

fn rnn(c: &mut Criterion) {
    bench_ids(c, "rnn", &["rnn_fwd", "rnnlm_fwd", "rnnlm_train_step"]);
}

criterion_group!(benches, rnn);
criterion_main!(benches);
