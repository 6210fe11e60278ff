//! Scratch buffers that outlive one op call: a small per-thread pool of `Vec<f32>` / `Vec<f64>`.
//!
//! Convolution lowers every sample to an im2col matrix (`C·kH·kW × OH·OW` values, 100 KB to a few
//! MB) that lives only for one GEMM. Allocating it afresh each call can cost page faults: glibc
//! serves blocks above its mmap threshold straight from the kernel and unmaps them on `free`, so
//! the next call touches brand-new pages. (glibc's *dynamic* threshold, which rises to 32 MiB
//! after the first such `free`, hides this in steady state for most shapes; with the threshold
//! pinned, pooling halves the page faults of a CNN layer's forward+backward, see
//! `ops::conv2d`'s module docs.) The pool keeps a few buffers per thread and hands back the
//! smallest one that is large enough.
//!
//! ```
//! use glassgrad::device::cpu::scratch::with_scratch;
//! let s: f32 = with_scratch::<f32, _>(1000, |buf| {
//!     buf.fill(1.0);
//!     buf.iter().sum()
//! });
//! assert_eq!(s, 1000.0);
//! ```
//!
//! The buffer's contents on entry are unspecified (whatever the last user left): callers overwrite
//! every element they read. Each rayon worker has its own pool (thread-local), so no locking.

use std::cell::RefCell;

/// Buffers kept per thread and element type.
const MAX_BUFFERS: usize = 8;
/// Buffers larger than this (in elements) are not kept (256 MiB of f32).
const MAX_KEPT_LEN: usize = 1 << 26;

thread_local! {
    static POOL_F32: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
    static POOL_F64: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
}

/// An element type with a scratch pool (`f32`, `f64`).
pub trait ScratchElem: Copy + Default + Send + 'static {
    /// Runs `f` on this thread's pool of buffers of this type.
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
}

impl ScratchElem for f32 {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<f32>>) -> R) -> R {
        POOL_F32.with(|p| f(&mut p.borrow_mut()))
    }
}

impl ScratchElem for f64 {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<f64>>) -> R) -> R {
        POOL_F64.with(|p| f(&mut p.borrow_mut()))
    }
}

/// Takes a buffer of exactly `len` elements from this thread's pool (the smallest that fits), or
/// allocates one. Contents are unspecified. Give it back with [`give`].
pub fn take<T: ScratchElem>(len: usize) -> Vec<T> {
    if !enabled() {
        return vec![T::default(); len];
    }
    let found = T::with_pool(|pool| {
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
    });
    match found {
        Some(mut v) => {
            // Growing within capacity writes defaults only into the new tail; shrinking is free.
            v.resize(len, T::default());
            v
        }
        None => vec![T::default(); len],
    }
}

/// Returns a buffer to this thread's pool (dropping the smallest when the pool is full).
pub fn give<T: ScratchElem>(v: Vec<T>) {
    if !enabled() || v.capacity() == 0 || v.capacity() > MAX_KEPT_LEN {
        return;
    }
    T::with_pool(|pool| {
        pool.push(v);
        if pool.len() > MAX_BUFFERS {
            // ok: the pool is non-empty (just pushed)
            let smallest = (0..pool.len()).min_by_key(|&i| pool[i].capacity()).unwrap_or(0);
            pool.swap_remove(smallest);
        }
    });
}

/// Runs `f` with a scratch buffer of `len` elements, returned to the pool afterwards.
pub fn with_scratch<T: ScratchElem, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    let mut v = take::<T>(len);
    let r = f(&mut v);
    give(v);
    r
}

/// Empties this thread's pools (for measurements of the unpooled cost).
pub fn clear_thread_pool() {
    POOL_F32.with(|p| p.borrow_mut().clear());
    POOL_F64.with(|p| p.borrow_mut().clear());
}

/// Turns pooling off (`false`) or on for the whole process: with it off, [`take`] always
/// allocates and [`give`] frees. Used by the benchmark that measures what the pool saves.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, std::sync::atomic::Ordering::Relaxed);
}

static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn enabled() -> bool {
    ENABLED.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_the_same_allocation() {
        let a = take::<f64>(5000);
        let p = a.as_ptr();
        give(a);
        let b = take::<f64>(4000);
        assert_eq!(b.as_ptr(), p);
        assert_eq!(b.len(), 4000);
        give(b);
    }
}
