//! The caching device allocator: freed blocks are kept, keyed by dtype and rounded size, and
//! handed out again, so that eager execution does not call `cuMemAlloc` once per op.
//!
//! Sizes round up to a multiple of 512 bytes below 1 MiB and of 2 MiB above (a freed block serves
//! every later request that rounds to the same size). When an allocation fails, the cache is
//! released to the driver and the allocation retried once, as PyTorch's allocator does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use cudarc::driver::{CudaSlice, CudaStream, DeviceRepr, ValidAsZeroBits};

/// A device buffer of any element type glassgrad stores (bool as one byte).
#[derive(Debug)]
pub(crate) enum AnySlice {
    F32(CudaSlice<f32>),
    F64(CudaSlice<f64>),
    I64(CudaSlice<i64>),
    U8(CudaSlice<u8>),
}

impl AnySlice {
    fn key(&self) -> (u8, usize) {
        match self {
            AnySlice::F32(s) => (0, s.len()),
            AnySlice::F64(s) => (1, s.len()),
            AnySlice::I64(s) => (2, s.len()),
            AnySlice::U8(s) => (3, s.len()),
        }
    }
    fn bytes(&self) -> usize {
        match self {
            AnySlice::F32(s) => s.num_bytes(),
            AnySlice::F64(s) => s.num_bytes(),
            AnySlice::I64(s) => s.num_bytes(),
            AnySlice::U8(s) => s.num_bytes(),
        }
    }
}

/// Element types with a device buffer variant.
pub(crate) trait DevElem: DeviceRepr + ValidAsZeroBits + Copy + Default + Unpin + 'static {
    /// Index of the variant (the pool's key).
    const KIND: u8;
    /// The suffix of kernel names (`f32`, `f64`, `i64`, `u8`).
    const NAME: &'static str;
    fn wrap(s: CudaSlice<Self>) -> AnySlice;
    fn get(a: &AnySlice) -> Option<&CudaSlice<Self>>;
    fn get_mut(a: &mut AnySlice) -> Option<&mut CudaSlice<Self>>;
    fn unwrap(a: AnySlice) -> Option<CudaSlice<Self>>;
}

macro_rules! dev_elem {
    ($t:ty, $kind:expr, $name:expr, $var:ident) => {
        impl DevElem for $t {
            const KIND: u8 = $kind;
            const NAME: &'static str = $name;
            fn wrap(s: CudaSlice<Self>) -> AnySlice {
                AnySlice::$var(s)
            }
            fn get(a: &AnySlice) -> Option<&CudaSlice<Self>> {
                match a {
                    AnySlice::$var(s) => Some(s),
                    _ => None,
                }
            }
            fn get_mut(a: &mut AnySlice) -> Option<&mut CudaSlice<Self>> {
                match a {
                    AnySlice::$var(s) => Some(s),
                    _ => None,
                }
            }
            fn unwrap(a: AnySlice) -> Option<CudaSlice<Self>> {
                match a {
                    AnySlice::$var(s) => Some(s),
                    _ => None,
                }
            }
        }
    };
}
dev_elem!(f32, 0, "f32", F32);
dev_elem!(f64, 1, "f64", F64);
dev_elem!(i64, 2, "i64", I64);
dev_elem!(u8, 3, "u8", U8);

/// The rounded element count that serves a request for `len` elements of `size` bytes.
pub(crate) fn rounded_len(len: usize, size: usize) -> usize {
    const SMALL: usize = 512;
    const LARGE: usize = 2 << 20;
    let bytes = len.max(1) * size;
    let step = if bytes < (1 << 20) { SMALL } else { LARGE };
    bytes.div_ceil(step) * step / size
}

/// Free blocks of one device.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    free: Mutex<HashMap<(u8, usize), Vec<AnySlice>>>,
    cached: AtomicUsize,
    in_use: AtomicUsize,
}

impl Pool {
    /// A buffer of at least `len` elements (contents undefined), reused when one is cached.
    pub(crate) fn take<T: DevElem>(
        &self,
        stream: &std::sync::Arc<CudaStream>,
        len: usize,
    ) -> Result<CudaSlice<T>, cudarc::driver::DriverError> {
        let cap = rounded_len(len, std::mem::size_of::<T>());
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            free.get_mut(&(T::KIND, cap)).and_then(|v| v.pop())
        };
        if let Some(s) = reused {
            let bytes = s.bytes();
            self.cached.fetch_sub(bytes, Ordering::Relaxed);
            // The key holds the element kind, so this is always the right variant.
            if let Some(t) = T::unwrap(s) {
                self.in_use.fetch_add(bytes, Ordering::Relaxed);
                return Ok(t);
            }
        }
        let s = match self.fresh::<T>(stream, cap) {
            Ok(s) => s,
            Err(_) => {
                self.release_cached();
                self.fresh::<T>(stream, cap)?
            }
        };
        self.in_use.fetch_add(s.num_bytes(), Ordering::Relaxed);
        Ok(s)
    }

    fn fresh<T: DevElem>(
        &self,
        stream: &std::sync::Arc<CudaStream>,
        cap: usize,
    ) -> Result<CudaSlice<T>, cudarc::driver::DriverError> {
        // SAFETY: the memory is uninitialised; every kernel writes all the elements it later reads.
        unsafe { stream.alloc::<T>(cap) }
    }

    /// Returns a buffer to the cache.
    pub(crate) fn give(&self, s: AnySlice) {
        let bytes = s.bytes();
        self.in_use.fetch_sub(bytes, Ordering::Relaxed);
        self.cached.fetch_add(bytes, Ordering::Relaxed);
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        free.entry(s.key()).or_default().push(s);
    }

    /// Frees every cached block (`torch.cuda.empty_cache`).
    pub(crate) fn release_cached(&self) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        free.clear();
        self.cached.store(0, Ordering::Relaxed);
    }

    /// (bytes in live tensors, bytes cached for reuse).
    pub(crate) fn stats(&self) -> (usize, usize) {
        (self.in_use.load(Ordering::Relaxed), self.cached.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::rounded_len;

    #[test]
    fn sizes_round_to_512_bytes_then_2_mib() {
        assert_eq!(rounded_len(1, 4), 128);
        assert_eq!(rounded_len(128, 4), 128);
        assert_eq!(rounded_len(129, 4), 256);
        assert_eq!(rounded_len(0, 8), 64);
        assert_eq!(rounded_len(1 << 20, 4), (4 << 20) / 4);
        assert_eq!(rounded_len((1 << 20) + 1, 4), (6 << 20) / 4);
    }
}
