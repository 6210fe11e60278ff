//! Criterion benchmark of f32 2×2 max-pooling, forward + backward, on (64, 32, 28, 28): the id
//! `maxpool_fwd_bwd` of `glassgrad bench`. Throughput in bytes: $x$ and $\bar y$ read, $y$ and
//! $\partial x$ written. Run: `cargo bench --bench pool2d`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassgrad::Generator;
use glassgrad::bench::cnn;

fn maxpool_f32(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool2d_f32");
    for case in cnn::cases().into_iter().filter(|k| k.id.starts_with("maxpool")) {
        let Ok(mut run) = (case.setup)(&mut Generator::new(glassgrad::bench::SEED)) else {
            eprintln!("{}: could not set up the case", case.id);
            continue;
        };
        if let Some(b) = case.work.bytes {
            group.throughput(Throughput::Bytes(b as u64));
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

criterion_group!(benches, maxpool_f32);
criterion_main!(benches);
