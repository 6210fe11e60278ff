//! Criterion benchmark of f32 matmul (`Tensor::matmul`, the packed GEMM of `device::cpu::gemm`) on
//! square matrices, and of the GEMM itself beside `matrixmultiply`.
//!
//! A square `n×n · n×n` product does $2n^3$ flops ($n^2$ outputs, each $n$ multiplies and $n$ adds);
//! criterion reports it as throughput in elements, where one "element" is one flop, so its
//! `elem/s` figure reads as flop/s. Run: `cargo bench --bench matmul`. Thread count: set
//! `RAYON_NUM_THREADS` in the environment.

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

/// The GEMM alone (row-major f32, `C = A·B`), the packed GEMM of each available family beside
/// `matrixmultiply`, on the shapes the models use: square, the LSTM's per-step product
/// (64 × 128 · 128 × 512) and a convolution's per-sample product (64 × 288 · 288 × 784).
fn gemm_f32(c: &mut Criterion) {
    use glassgrad::device::cpu::gemm::{Isa, gemm_with};
    let mut group = c.benchmark_group("gemm_f32");
    let threads = rayon::current_num_threads();
    for (m, k, n) in [(256usize, 256usize, 256usize), (1024, 1024, 1024), (64, 128, 512), (64, 288, 784)] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 17) as f32 / 17.0 - 0.5).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 13) as f32 / 13.0 - 0.5).collect();
        let mut out = vec![0.0f32; m * n];
        group.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        if m * k * n >= 1 << 28 {
            group.sample_size(10);
        }
        for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
            let id = BenchmarkId::new(isa.name(), format!("{m}x{k}x{n}"));
            group.bench_function(id, |bch| {
                bch.iter(|| {
                    // SAFETY: row-major m×k, k×n and m×n buffers; `out` is distinct from both.
                    unsafe {
                        gemm_with(
                            isa,
                            threads,
                            m,
                            k,
                            n,
                            1.0,
                            a.as_ptr(),
                            k as isize,
                            1,
                            b.as_ptr(),
                            n as isize,
                            1,
                            0.0,
                            out.as_mut_ptr(),
                            n as isize,
                            1,
                        )
                    };
                    black_box(out[0])
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, matmul_f32, gemm_f32);
criterion_main!(benches);
