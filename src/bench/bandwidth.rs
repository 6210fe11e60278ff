//! The machine's memory bandwidth, measured by a STREAM-like triad (McCalpin, STREAM benchmark):
//!
//! $$a_i \leftarrow b_i + s\,c_i \qquad (i = 1..n),$$
//!
//! over three f32 arrays far larger than the last-level cache, so every pass streams them from and
//! to main memory. STREAM's convention is followed for the byte count: **12 bytes per element**
//! (4 read from $b$, 4 read from $c$, 4 written to $a$), so
//!
//! $$B = \frac{12\,n}{t_{\min}}.$$
//!
//! Write-allocate traffic is **not** counted: a plain store first reads $a$'s cache line into the
//! cache, so the bus may carry 16 bytes per element, and the true traffic is up to 4/3 of the
//! figure. The figure is therefore what a kernel counting only its compulsory bytes (as the cases
//! do, see [`super::Work`]) can expect to reach, not the bus's raw capacity.
//!
//! Each array has $\max(64\ \text{MiB}, 4 L_3)$ bytes ($L_3$ read from `sysfs` by the GEMM's
//! [`Caches`], STREAM's rule of arrays at least 4 times the last-level cache): 3 × 128 MiB on a
//! 32 MiB L3. The arrays are split into one contiguous part per thread of rayon's pool (the
//! bench's `--threads`), which each thread first touches itself (page placement on NUMA machines)
//! and then updates; the triad is repeated and the **best** pass counts (as STREAM reports the best
//! time), so a moment when a neighbour on a shared machine took the bus does not lower the figure.

use std::hint::black_box;
use std::time::Instant;

use rayon::prelude::*;

use crate::device::cpu::gemm::Caches;

/// How the bandwidth was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Bandwidth {
    /// GB/s ($10^9$ bytes per second), STREAM's count (no write-allocate).
    pub gbps: f64,
    /// Threads that ran the triad.
    pub threads: usize,
    /// Bytes of each of the three arrays (`None` when given).
    pub array_bytes: Option<usize>,
    /// `"triad"` (measured) or `"given"` (`--bandwidth-gbps`).
    pub source: &'static str,
}

/// Passes of the triad; the best counts.
pub const REPS: usize = 10;

impl Bandwidth {
    /// A bandwidth given by the user.
    pub fn given(gbps: f64, threads: usize) -> Bandwidth {
        Bandwidth { gbps, threads, array_bytes: None, source: "given" }
    }

    /// Runs the triad on rayon's global pool (set to `threads` threads beforehand) over arrays of
    /// [`array_len`] elements, [`REPS`] passes.
    pub fn measure(threads: usize) -> Bandwidth {
        let n = array_len(Caches::detect().l3);
        Bandwidth { gbps: triad_gbps(n, REPS), threads, array_bytes: Some(4 * n), source: "triad" }
    }

    /// One line for the human report.
    pub fn describe(&self) -> String {
        match self.array_bytes {
            Some(b) => format!(
                "{:.1} GB/s (STREAM-like triad, 3 × {} MiB f32, {} threads, best of {REPS}; 12 bytes per element, no write-allocate)",
                self.gbps,
                b >> 20,
                self.threads
            ),
            None => format!("{:.1} GB/s (given)", self.gbps),
        }
    }
}

/// Elements of each triad array for a last-level cache of `l3` bytes: $\max(64\ \text{MiB}, 4 L_3)$
/// bytes of f32.
pub fn array_len(l3: usize) -> usize {
    (64usize << 20).max(4 * l3) / 4
}

/// The best of `reps` triad passes over arrays of `n` f32, in GB/s (12 bytes per element), on
/// rayon's current pool.
pub fn triad_gbps(n: usize, reps: usize) -> f64 {
    let n = n.max(1);
    let parts = rayon::current_num_threads().max(1);
    let chunk = n.div_ceil(parts);
    // Zeroed allocations are mapped lazily: each thread touches its own part first.
    let (mut a, mut b, mut c) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
    a.par_chunks_mut(chunk).zip(b.par_chunks_mut(chunk)).zip(c.par_chunks_mut(chunk)).for_each(
        |((a, b), c)| {
            a.fill(0.0);
            b.fill(1.0);
            c.fill(2.0);
        },
    );
    let s = black_box(3f32);
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        a.par_chunks_mut(chunk).zip(b.par_chunks(chunk)).zip(c.par_chunks(chunk)).for_each(|((a, b), c)| {
            for ((x, y), z) in a.iter_mut().zip(b).zip(c) {
                *x = y + s * z;
            }
        });
        best = best.min(t.elapsed().as_secs_f64());
        black_box(&mut a);
    }
    debug_assert!(a[0] == 7.0 && a[n - 1] == 7.0);
    12.0 * n as f64 / best.max(1e-9) / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triad_gives_a_positive_finite_figure() {
        let g = triad_gbps(1 << 16, 3);
        assert!(g.is_finite() && g > 0.0, "{g} GB/s");
        assert!(triad_gbps(1, 1).is_finite());
    }

    #[test]
    fn arrays_are_four_l3_or_64_mib() {
        assert_eq!(array_len(32 << 20), (128 << 20) / 4);
        assert_eq!(array_len(8 << 20), (64 << 20) / 4);
    }
}
