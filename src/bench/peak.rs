//! The machine's fp32 peak, measured by an FMA loop.
//!
//! One thread runs `C` independent accumulator chains, each a vector of `L` f32 lanes:
//!
//! $$a_{c,l} \leftarrow a_{c,l}\,x + y \qquad (c = 1..C,\ l = 1..L),$$
//!
//! `iters` times over. Every update is one fused multiply–add, counted as **2 flops**, so one pass
//! of the loop does $2\,C\,L$ flops and the measured single-thread peak is
//!
//! $$P_1 = \frac{2\,C\,L \cdot \text{iters}}{t}.$$
//!
//! The chains are independent, so the compiler vectorises them (one register per chain) and the
//! processor keeps its FMA units busy: $C = 12$ chains cover an FMA latency of 4 cycles on two units
//! with room to spare, and 12 registers fit in the 16 (AVX2) or 32 (AVX-512) vector registers.
//! $x = 0.999\,999$ and $y = 10^{-6}$ keep the values near their start: no overflow, no denormals.
//!
//! The kernel is compiled for each instruction set the processor offers (detected at run time:
//! AVX-512F and AVX2 + FMA on x86-64), and always for the base target (`base`: SSE2 on x86-64, 4
//! lanes, a separate multiply and add, still counted as 2 flops). **Every** one of them is measured
//! and reported ([`Peak::per_isa`]): each figure is the best of many short (1 ms) calls of that
//! kernel on one thread, what the probe measured and nothing else. The peak used for the shares
//! is the best of them; the machine's peak for `n` threads is taken as $n \cdot P_1$ (the
//! single-thread peak times the thread count), which assumes `n` real cores at the same clock — an
//! upper bound on what `n` threads can reach.
//!
//! The GEMM (`device::cpu::gemm`) runs AVX-512F micro-kernels where the CPU has them, so its share
//! of this peak is the share of the machine's own FMA throughput.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Independent accumulator chains (vector registers) in the FMA loop.
pub const CHAINS: usize = 12;

/// A measured (or given) fp32 peak.
#[derive(Debug, Clone, PartialEq)]
pub struct Peak {
    /// Peak for the whole run, in GFLOP/s: `single_thread_gflops × threads` when measured.
    pub gflops: f64,
    /// The measured single-thread peak, when measured.
    pub single_thread_gflops: Option<f64>,
    /// The thread count the peak was scaled to.
    pub threads: usize,
    /// The instruction set of the fastest kernel (`avx512f`, `avx2+fma`, `base`), or `given`.
    pub isa: String,
    /// The measured single-thread peak of every instruction set the processor has, in GFLOP/s,
    /// widest first (empty when given).
    pub per_isa: Vec<(String, f64)>,
}

impl Peak {
    /// A peak given by the user (`--peak-gflops`), taken as the whole run's peak.
    pub fn given(gflops: f64, threads: usize) -> Peak {
        Peak { gflops, single_thread_gflops: None, threads, isa: "given".into(), per_isa: Vec::new() }
    }

    /// Measures the single-thread peak of every instruction set (100 rounds of one 1 ms call each,
    /// about 0.1 s per instruction set) and scales the best to `threads`. Short calls and the best
    /// of many make the figure robust to a busy machine: one call that ran undisturbed is enough.
    pub fn measure(threads: usize) -> Peak {
        Peak::from_each(measure_each(Duration::from_millis(1), 100), threads)
    }

    /// The peak of `threads` threads from each instruction set's single-thread figure: the best
    /// of them, times `threads`.
    pub fn from_each(each: Vec<(&'static str, f64)>, threads: usize) -> Peak {
        let (isa, single) = best_of(&each);
        Peak {
            gflops: single * threads as f64,
            single_thread_gflops: Some(single),
            threads,
            isa: isa.into(),
            per_isa: each.into_iter().map(|(n, g)| (n.to_string(), g)).collect(),
        }
    }

    /// One line describing the peak, for the human report.
    pub fn describe(&self) -> String {
        match self.single_thread_gflops {
            Some(p1) => format!(
                "{:.1} GFLOP/s fp32 ({:.1} per thread × {} threads, FMA loop, {})",
                self.gflops, p1, self.threads, self.isa
            ),
            None => format!("{:.1} GFLOP/s fp32 (given)", self.gflops),
        }
    }
}

/// The FMA loop over `N = CHAINS × lanes` accumulators; returns a sum so the work is not dropped.
/// `fused` chooses `mul_add` (one FMA instruction, only where the target has FMA) or `a * x + y`.
#[inline(always)]
fn chains<const N: usize, const FUSED: bool>(iters: u64, x: f32, y: f32) -> f32 {
    let mut a = [0f32; N];
    for (i, v) in a.iter_mut().enumerate() {
        *v = 1.0 + i as f32 * 1e-3;
    }
    for _ in 0..iters {
        for v in a.iter_mut() {
            *v = if FUSED { v.mul_add(x, y) } else { *v * x + y };
        }
    }
    a.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn chains_avx512(iters: u64, x: f32, y: f32) -> f32 {
    chains::<{ CHAINS * 16 }, true>(iters, x, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chains_avx2(iters: u64, x: f32, y: f32) -> f32 {
    chains::<{ CHAINS * 8 }, true>(iters, x, y)
}

fn chains_base(iters: u64, x: f32, y: f32) -> f32 {
    chains::<{ CHAINS * 4 }, false>(iters, x, y)
}

/// A kernel: its name, flops per iteration, and the function.
type Kernel = (&'static str, f64, fn(u64, f32, f32) -> f32);

fn kernels() -> Vec<Kernel> {
    let mut ks: Vec<Kernel> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the features the function is compiled for were detected just above.
            ks.push(("avx512f", (2 * CHAINS * 16) as f64, |n, x, y| unsafe { chains_avx512(n, x, y) }));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            ks.push(("avx2+fma", (2 * CHAINS * 8) as f64, |n, x, y| unsafe { chains_avx2(n, x, y) }));
        }
    }
    ks.push(("base", (2 * CHAINS * 4) as f64, chains_base));
    ks
}

/// Iterations of `kernel` for one call to last about `sample` (doubling, then scaling).
fn calibrate(kernel: &Kernel, sample: Duration) -> u64 {
    let f = kernel.2;
    let mut iters: u64 = 256;
    loop {
        let t = Instant::now();
        black_box(f(black_box(iters), black_box(0.999_999), black_box(1e-6)));
        let dt = t.elapsed();
        if dt >= sample / 4 || iters >= 1 << 40 {
            let scale = sample.as_secs_f64() / dt.as_secs_f64().max(1e-9);
            return ((iters as f64 * scale).ceil() as u64).max(1);
        }
        iters *= 2;
    }
}

/// The single-thread fp32 peak of every instruction set the processor has, in GFLOP/s, widest
/// first. Each kernel is calibrated to calls of about `sample`; then `rounds` rounds time one call
/// of each kernel in turn (interleaved, so a busy moment of the machine hits them alike), and each
/// kernel's figure is its best call.
pub fn measure_each(sample: Duration, rounds: usize) -> Vec<(&'static str, f64)> {
    let ks: Vec<(Kernel, u64)> = kernels().into_iter().map(|k| (k, calibrate(&k, sample))).collect();
    let mut best = vec![0f64; ks.len()];
    for _ in 0..rounds.max(1) {
        for (b, ((_, flops_per_iter, f), iters)) in best.iter_mut().zip(&ks) {
            let t = Instant::now();
            black_box(f(black_box(*iters), black_box(0.999_999), black_box(1e-6)));
            let s = t.elapsed().as_secs_f64().max(1e-9);
            *b = b.max(flops_per_iter * *iters as f64 / s / 1e9);
        }
    }
    ks.iter().zip(best).map(|(((name, _, _), _), g)| (*name, g)).collect()
}

/// The fastest entry of `each` as (name, GFLOP/s); `("base", 0.0)` when empty.
pub fn best_of(each: &[(&'static str, f64)]) -> (&'static str, f64) {
    each.iter().fold(("base", 0.0), |acc, &(n, g)| if g > acc.1 { (n, g) } else { acc })
}

/// The single-thread fp32 peak in GFLOP/s and the instruction set that reached it: the best of
/// [`measure_each`].
pub fn measure_single_thread(sample: Duration, rounds: usize) -> (f64, &'static str) {
    let (isa, g) = best_of(&measure_each(sample, rounds));
    (g, isa)
}
