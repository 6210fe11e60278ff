//! Criterion benchmark of f32 matmul (`Tensor::matmul`, matrixmultiply's sgemm) on square matrices.
//!
//! A square `n×n · n×n` product does $2n^3$ flops ($n^2$ outputs, each $n$ multiplies and $n$ adds);
//! criterion reports it as throughput in elements, where one "element" is one flop, so its
//! `elem/s` figure reads as flop/s. Run: `cargo bench --bench matmul`. Thread count: set
//! `MATMUL_NUM_THREADS` in the environment (matrixmultiply reads it at the first GEMM).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use glassgrad::{DType, Generator, Tensor};

fn matmul_f32(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul_f32");
    for n in [64usize, 256, 1024] {
        let mut rng = Generator::new(0);
        let (Ok(a), Ok(b)) =
            (Tensor::randn(&[n, n], DType::F32, &mut rng), Tensor::randn(&[n, n], DType::F32, &mut rng))
        else {
            eprintln!("matmul_f32/{n}: could not make the inputs");
            continue;
        };
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        if n >= 1024 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bch, _| {
            bch.iter(|| black_box(a.matmul(black_box(&b))))
        });
    }
    group.finish();
}

criterion_group!(benches, matmul_f32);
criterion_main!(benches);
