//! CPU threading: one setting, rayon's pool, for every kernel including the GEMMs.
//!
//! rayon's global pool is built once; [`set_num_threads`] sizes it and must run before the first
//! op (or set `RAYON_NUM_THREADS`). Results do not depend on the thread count: every reduction runs
//! in a fixed order (parallelism splits independent outputs, never one sum).
//!
//! **Freed memory.** A training step allocates and frees the same large tensors (activations,
//! gradients: 1–7 MB each for the CNN) every step. glibc returns the free top of its heaps to the
//! kernel once it exceeds `M_TRIM_THRESHOLD` (by default twice the dynamic mmap threshold), so the
//! next step page-faults the same memory back in: about 1,300 faults per CNN step.
//! [`retain_freed_memory`] (called by [`set_num_threads`] and by the `glassgrad` command) fixes both
//! thresholds so freed blocks stay in the process for reuse.

use crate::error::{Error, Result};

/// Below this many elements, elementwise work stays on the calling thread.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Sets the number of worker threads (rayon's global pool, which the GEMMs use too). Call it once,
/// before any tensor work; a second call with another count is an error (the pool cannot be
/// rebuilt).
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid("set_num_threads", "thread count must be at least 1"));
    }
    let max = max_threads();
    if n > max {
        return Err(Error::invalid(
            "set_num_threads",
            format!(
                "{n} threads asked for, at most {max} allowed (4 × this machine's {} logical CPUs): \
                 more only adds switching, and tens of thousands of threads can stall the machine",
                max / 4
            ),
        ));
    }
    retain_freed_memory();
    match rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
        Ok(()) => Ok(()),
        Err(_) if rayon::current_num_threads() == n => Ok(()),
        Err(e) => Err(Error::invalid(
            "set_num_threads",
            format!("rayon's pool already runs {} threads: {e}", rayon::current_num_threads()),
        )),
    }
}

/// The most threads [`set_num_threads`] accepts: 4 × the logical CPUs this process may use.
pub fn max_threads() -> usize {
    4 * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The number of threads rayon uses.
pub fn num_threads() -> usize {
    rayon::current_num_threads()
}

/// glibc's `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` (`malloc.h`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const M_TRIM_THRESHOLD: i32 = -1;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const M_MMAP_THRESHOLD: i32 = -3;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    fn mallopt(param: i32, value: i32) -> i32;
}

/// Keeps freed memory in the process (module docs): blocks up to 32 MiB (glibc's largest
/// heap-served size) come from the heap, and up to 1 GiB of free heap top is kept rather than
/// returned to the kernel. Measured on `glassgrad train cnn --epochs 2 --threads 2`: page faults
/// 252,832 → 63,116 (what remains is start-up), system time 0.74 → 0.32 s; `glassgrad bench
/// --filter cnn_train_step` median over three interleaved runs 74 → 62 ms (2 shared cores, load
/// ≈ 5.7, so only the direction is solid; see `benches/RESULTS.md`). Process-wide and
/// idempotent; a no-op off glibc.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator parameters; valid values, no pointers.
            unsafe {
                mallopt(M_MMAP_THRESHOLD, 32 << 20);
                mallopt(M_TRIM_THRESHOLD, 1 << 30);
            }
        });
    }
}

thread_local! {
    /// Set on the worker that runs an [`in_pool`] closure: its own GEMMs may split across the pool.
    static SPLIT_INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on one of rayon's workers and returns its result, for ops that make many parallel
/// calls in a row (a recurrent layer: a GEMM and an elementwise pass per time step).
///
/// Called from outside the pool, every parallel call hands its work to a worker and puts the
/// calling thread to sleep until it is done: two context switches per call, paid twice per time
/// step (`perf` of `lstm_fwd` put about 30 % of the samples in the scheduler, even with one
/// thread). Inside `f`, which runs on a worker, the calls fork
/// and join among the workers without sleeping. The GEMMs `f` calls on that worker still split
/// across the pool (a GEMM called from inside the pool otherwise runs on one thread, for the
/// per-sample GEMMs of a convolution, see [`crate::device::cpu::gemm::driver`]). Called from
/// inside the pool, it just runs `f`. Results are the same bits either way.
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SPLIT_INSIDE.with(|c| c.set(false));
        }
    }
    rayon::join(
        || {
            SPLIT_INSIDE.with(|c| c.set(true));
            let _reset = Reset;
            f()
        },
        || (),
    )
    .0
}

/// Runs `f` with the GEMMs it calls kept on this thread (never split across the pool), whatever
/// [`in_pool`] set: for work already split by the caller, such as the row chunks of a recurrent
/// layer's time loop.
pub fn on_this_thread<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SPLIT_INSIDE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(SPLIT_INSIDE.with(|c| c.replace(false)));
    f()
}

/// Whether a GEMM on this thread may split across the pool: outside it, or on the worker of an
/// [`in_pool`] closure.
pub fn gemm_may_split() -> bool {
    rayon::current_thread_index().is_none() || SPLIT_INSIDE.with(|c| c.get())
}

/// Batch rows per rayon task in an elementwise step: small steps stay on the calling thread.
pub fn min_rows(work_per_row: usize) -> usize {
    (16_384 / work_per_row.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread count beyond the bound is refused before any pool is built, naming the bound.
    #[test]
    fn absurd_thread_counts_are_errors() {
        let e = set_num_threads(max_threads() + 1).unwrap_err().to_string();
        assert!(e.contains("at most") && e.contains(&max_threads().to_string()), "{e}");
        assert!(set_num_threads(0).is_err());
    }
}
