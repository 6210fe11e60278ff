//! The CPU GEMM beside `matrixmultiply`, and its micro-kernels beside the FMA peak.
//!
//! ```text
//! cargo run --release --example gemm_kernels [-- N [ROUNDS]]
//! ```
//!
//! Prints this machine's caches and the derived blocks, the single-thread FMA peak (the bench's
//! probe), each micro-kernel with both packed panels in L1 (GFLOP/s and share of the peak), then
//! the square `N×N·N×N` f32 product (default 1024) on one thread and on all of rayon's, the packed
//! GEMM of every family this CPU runs alternated with `matrixmultiply` for ROUNDS rounds (default
//! 5): each round takes the median of 7 calls; each side's best median is reported, as the bench
//! does (a busy neighbour slows single rounds, not the best of them).

use std::time::Instant;

use glassgrad::bench::Peak;
use glassgrad::device::cpu::gemm::{Blocks, Caches, GemmElem, Isa, gemm_with};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds of 7 calls of the square product on `threads` tasks.
fn time_gemm(isa: Isa, threads: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) -> f64 {
    let runs = (0..7)
        .map(|_| {
            let t = Instant::now();
            // SAFETY: a, b, c are n×n row-major buffers; c is distinct from both.
            unsafe {
                gemm_with(
                    isa,
                    threads,
                    n,
                    n,
                    n,
                    1.0,
                    a.as_ptr(),
                    n as isize,
                    1,
                    b.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                )
            };
            t.elapsed().as_secs_f64()
        })
        .collect();
    median(runs)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(1024);
    let rounds = args.get(1).copied().unwrap_or(5).max(1);
    let caches = Caches::detect();
    println!("caches: L1d {} KiB, L2 {} KiB, L3 {} KiB", caches.l1 >> 10, caches.l2 >> 10, caches.l3 >> 10);
    let peak = Peak::measure(1);
    println!("peak: {}", peak.describe());
    let p1 = peak.gflops;

    let families: Vec<Isa> = Isa::ALL.into_iter().filter(|i| i.available()).collect();
    for &isa in &families {
        let Some(k) = f32::kernel(isa) else { continue };
        let b = Blocks::derive(caches, k.mr, k.nr, 4);
        let kc = b.kc;
        let (pa, pb) = (vec![0.5f32; k.mr * kc], vec![0.25f32; kc * k.nr]);
        let mut tile = vec![0.0f32; k.mr * k.nr];
        let calls = 20_000;
        let best = (0..20)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..calls {
                    // SAFETY: panels of mr·kc and kc·nr values, an mr×nr tile; the ISA is present.
                    unsafe {
                        (k.run)(kc, pa.as_ptr(), pb.as_ptr(), tile.as_mut_ptr(), k.nr as isize, 1.0, 1.0)
                    };
                }
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let g = 2.0 * (k.mr * k.nr * kc * calls) as f64 / best / 1e9;
        println!(
            "kernel {:>8} f32 {}x{}: blocks kc {} mc {} nc {}; in L1 {g:.1} GFLOP/s = {:.1} % of the peak",
            k.name,
            k.mr,
            k.nr,
            b.kc,
            b.mc,
            b.nc,
            100.0 * g / p1
        );
    }

    let a: Vec<f32> = (0..n * n).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 500.0).collect();
    let b: Vec<f32> = (0..n * n).map(|i| ((i * 104_729 % 997) as f32 - 498.0) / 498.0).collect();
    let mut c = vec![0.0f32; n * n];
    let flops = 2.0 * (n as f64).powi(3);
    for threads in [1, rayon::current_num_threads()] {
        let mut best = vec![f64::INFINITY; families.len()];
        for _ in 0..rounds {
            for (i, &isa) in families.iter().enumerate() {
                best[i] = best[i].min(time_gemm(isa, threads, n, &a, &b, &mut c));
            }
        }
        for (i, &isa) in families.iter().enumerate() {
            let g = flops / best[i] / 1e9;
            println!(
                "sgemm {n}, {threads} thread(s), {:>14}: best median {:.3} ms, {g:.1} GFLOP/s = {:.1} % of {threads} × peak",
                isa.name(),
                best[i] * 1e3,
                100.0 * g / (p1 * threads as f64)
            );
        }
    }
}
