//! Criterion bench of the embedding lookup and its backward: 3,200 ids (a (64, 50) batch) into a
//! (1000, 128) f32 table, forward (gather) and forward + backward (dense scatter-add of the
//! gradient rows). Throughput in bytes moved by the forward: one read and one write of each row.
//! Run: `cargo bench --bench embedding`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassgrad::{DType, Generator, Tensor};

fn embedding(c: &mut Criterion) {
    let mut g = c.benchmark_group("embedding");
    let mut rng = Generator::new(0);
    let (Ok(ids), Ok(w)) =
        (Tensor::randint(&[64, 50], 0, 1000, &mut rng), Tensor::randn(&[1000, 128], DType::F32, &mut rng))
    else {
        eprintln!("embedding: could not make the inputs");
        return;
    };
    g.throughput(Throughput::Bytes(2 * 4 * 64 * 50 * 128));
    g.bench_function("fwd_64x50_1000x128", |b| b.iter(|| black_box(Tensor::embedding(&ids, &w, None))));
    let Ok(w) = w.requires_grad_() else { return };
    g.bench_function("fwd_bwd_64x50_1000x128", |b| {
        b.iter(|| {
            let r = Tensor::embedding(&ids, &w, None).and_then(|y| y.sum()).and_then(|l| l.backward());
            w.zero_grad();
            black_box(r)
        })
    });
    g.finish();
}

criterion_group!(benches, embedding);
criterion_main!(benches);
