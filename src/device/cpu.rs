//! CPU threading: one setting for rayon and `matrixmultiply`.
//!
//! `matrixmultiply` (feature `threading`) reads `MATMUL_NUM_THREADS` once per process, at its first
//! GEMM; rayon's global pool is built once too. [`set_num_threads`] sets both and must run before
//! the first op. Results do not depend on the thread count: every reduction runs in a fixed order
//! (parallelism splits independent outputs, never one sum).

use crate::error::{Error, Result};

/// Below this many elements, elementwise work stays on the calling thread.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Sets the number of worker threads for rayon and `matrixmultiply`. Call it once, before any
/// tensor work; a second call with another count is an error (the pools cannot be rebuilt).
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid("set_num_threads", "thread count must be at least 1"));
    }
    // SAFETY (of set_var): called at start-up before other threads read the environment.
    unsafe { std::env::set_var("MATMUL_NUM_THREADS", n.to_string()) };
    match rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
        Ok(()) => Ok(()),
        Err(_) if rayon::current_num_threads() == n => Ok(()),
        Err(e) => Err(Error::invalid(
            "set_num_threads",
            format!("rayon's pool already runs {} threads: {e}", rayon::current_num_threads()),
        )),
    }
}

/// The number of threads rayon uses.
pub fn num_threads() -> usize {
    rayon::current_num_threads()
}
