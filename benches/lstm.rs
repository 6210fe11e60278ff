//! Criterion benches of the LSTM: the `glassgrad bench` cases `lstm_fwd` and `lstm_train_step`
//! (LSTM 64→128, 2 layers, over (64, 50, 64), Linear(128, 10) on the last step, cross-entropy,
//! SGD). Throughput in flops. Run: `cargo bench --bench lstm`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassgrad::Generator;
use glassgrad::bench::{SEED, sequence_cases};

fn lstm(c: &mut Criterion) {
    let mut g = c.benchmark_group("lstm");
    g.sample_size(10);
    for case in sequence_cases().into_iter().filter(|c| c.id.starts_with("lstm_")) {
        let Ok(mut run) = (case.setup)(&mut Generator::new(SEED)) else {
            eprintln!("{}: setup failed", case.id);
            continue;
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

criterion_group!(benches, lstm);
criterion_main!(benches);
