//! Criterion benchmarks of f32 `conv2d` at batch 64, the two layers of the document's CNN
//! (3→32 on 28×28 and 32→64 on 14×14, 3×3, padding 1), forward and forward + backward (dX, dW,
//! db), and the whole CNN's forward and SGD training step. The same cases (ids `conv1_fwd`,
//! `conv1_fwd_bwd`, `conv2_fwd`, `conv2_fwd_bwd`, `cnn_fwd`, `cnn_train_step`) are in
//! `glassgrad bench`, beside PyTorch with `--torch`.
//!
//! Throughput is in "elements" where one element is one flop: a forward does
//! $2 N O\,OH\,OW\,C k_H k_W$, a forward + backward three times that. Run:
//! `cargo bench --bench conv2d`. Threads: `MATMUL_NUM_THREADS` and `RAYON_NUM_THREADS`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassgrad::Generator;
use glassgrad::bench::{Case, cnn};

fn run_cases(c: &mut Criterion, group_name: &str, cases: Vec<Case>) {
    let mut group = c.benchmark_group(group_name);
    group.sample_size(20);
    for case in cases {
        let Ok(mut run) = (case.setup)(&mut Generator::new(glassgrad::bench::SEED)) else {
            eprintln!("{}: could not set up the case", case.id);
            continue;
        };
        // Criterion takes one throughput: flops where counted, else bytes.
        match (case.work.flops, case.work.bytes) {
            (Some(f), _) => {
                group.throughput(Throughput::Elements(f as u64));
            }
            (None, Some(b)) => {
                group.throughput(Throughput::Bytes(b as u64));
            }
            (None, None) => {}
        }
        group.bench_function(case.id.as_str(), |b| {
            b.iter(|| {
                if let Err(e) = run() {
                    eprintln!("{}: {e}", case.id);
                }
            })
        });
    }
    group.finish();
}

fn conv2d_f32(c: &mut Criterion) {
    let cases =
        cnn::cases().into_iter().filter(|k| k.id.starts_with("conv") || k.id.starts_with("cnn")).collect();
    run_cases(c, "conv2d_f32_batch64", cases);
}

criterion_group!(benches, conv2d_f32);
criterion_main!(benches);
