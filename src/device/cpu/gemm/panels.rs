//! The buffers of the packed operands: 64-byte-aligned scratch memory, and micro-panels that the
//! tasks of one product pack on first use and share.

use std::sync::atomic::{AtomicU8, Ordering};

use super::dispatch::GemmElem;
use super::split::SendPtr;
use crate::device::cpu::scratch;

/// A scratch buffer of at least `len` elements whose usable part starts on a 64-byte boundary.
pub(super) struct Aligned<T: GemmElem> {
    buf: Vec<T>,
    off: usize,
    len: usize,
}

impl<T: GemmElem> Aligned<T> {
    pub(super) fn take(len: usize) -> Self {
        let buf = scratch::take::<T>(len + 64 / size_of::<T>());
        let off = buf.as_ptr().align_offset(64).min(64 / size_of::<T>());
        Aligned { buf, off, len }
    }
    pub(super) fn ptr(&mut self) -> *mut T {
        self.buf[self.off..self.off + self.len].as_mut_ptr()
    }
    pub(super) fn ptr_const(&self) -> *const T {
        self.buf[self.off..self.off + self.len].as_ptr()
    }
}

impl<T: GemmElem> Drop for Aligned<T> {
    fn drop(&mut self) {
        scratch::give(std::mem::take(&mut self.buf));
    }
}

/// Micro-panels packed on first use and shared by the tasks of a chunk: `slots` slots of `len`
/// values, each empty, being packed by one task, or ready.
///
/// The first task that needs a panel packs it; another that needs it meanwhile waits for that
/// packing to end (one panel's copy). A task never waits while it holds a panel half-packed,
/// so the wait always ends, whatever the order in which rayon runs the tasks.
pub(super) struct Panels<T: GemmElem> {
    /// Owns the memory `base` points into (back to the scratch pool when dropped).
    _buf: Aligned<T>,
    base: SendPtr<T>,
    state: Vec<AtomicU8>,
    len: usize,
}

const EMPTY: u8 = 0;
const PACKING: u8 = 1;
const READY: u8 = 2;

impl<T: GemmElem> Panels<T> {
    pub(super) fn new(slots: usize, len: usize) -> Self {
        let mut buf = Aligned::take(slots * len);
        let base = SendPtr(buf.ptr());
        Panels { _buf: buf, base, state: (0..slots).map(|_| AtomicU8::new(EMPTY)).collect(), len }
    }

    /// Slot `i`, packed by `pack` (given the slot's `len` values) unless it already is.
    pub(super) fn get(&self, i: usize, pack: impl FnOnce(&mut [T])) -> *const T {
        // SAFETY: slot i is inside the buffer (i < slots).
        let slot = unsafe { self.base.get().add(i * self.len) };
        if self.state[i].load(Ordering::Acquire) == READY {
            return slot; // the common case: one plain load, no read-modify-write
        }
        match self.state[i].compare_exchange(EMPTY, PACKING, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => {
                // SAFETY: this task won slot i: no one else reads or writes it until READY.
                pack(unsafe { std::slice::from_raw_parts_mut(slot, self.len) });
                self.state[i].store(READY, Ordering::Release);
            }
            Err(_) => {
                let mut spins = 0u32;
                while self.state[i].load(Ordering::Acquire) != READY {
                    spins += 1;
                    if spins < 1 << 12 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
        slot
    }
}

// SAFETY: slots are written only by the task that won them (compare-exchange) and read after
// READY is published with release/acquire ordering.
unsafe impl<T: GemmElem> Sync for Panels<T> {}
