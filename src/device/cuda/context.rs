//! One [`Gpu`] per device ordinal: its context and stream, the compiled modules and the caching
//! allocator. Created on first use and kept for the life of the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream, DriverError, LaunchConfig};

use super::alloc::{AnySlice, DevElem, Pool};
use super::compile::compile_file;
use super::libraries;
use super::sources;
use crate::error::{Error, Result};

/// A CUDA device in use: context, default stream, kernel cache, allocator.
pub struct Gpu {
    ordinal: usize,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    arch: &'static str,
    /// Streaming multiprocessors (the GEMM picks its tile size from it).
    sms: usize,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    functions: Mutex<HashMap<String, CudaFunction>>,
    pub(crate) pool: Pool,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu(cuda:{}, {})", self.ordinal, self.arch)
    }
}

/// A driver error as a glassgrad error naming `op`.
pub(crate) fn dev_err(op: &'static str) -> impl Fn(DriverError) -> Error {
    move |e| Error::Device { op, msg: format!("CUDA driver: {e:?}") }
}

static GPUS: OnceLock<Mutex<HashMap<usize, Arc<Gpu>>>> = OnceLock::new();

/// The device `cuda:<ordinal>`, initialised on first use. An error (never a panic) when there is no
/// driver or no such device.
pub fn gpu(ordinal: usize) -> Result<Arc<Gpu>> {
    let op = "cuda";
    let map = GPUS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(g) = map.get(&ordinal) {
        return Ok(g.clone());
    }
    if !libraries::driver_present() {
        return Err(Error::Device {
            op,
            msg: "no usable NVIDIA driver (libcuda.so not found or cuInit failed)".into(),
        });
    }
    let count = libraries::device_count();
    if ordinal >= count {
        return Err(Error::Device {
            op,
            msg: format!("cuda:{ordinal} requested but {count} device(s) found"),
        });
    }
    let ctx = CudaContext::new(ordinal).map_err(dev_err(op))?;
    let (major, minor) = ctx.compute_capability().map_err(dev_err(op))?;
    // PTX for the device's own architecture; leaked once per device (a handful of bytes).
    let arch: &'static str = Box::leak(format!("compute_{major}{minor}").into_boxed_str());
    let stream = ctx.default_stream();
    let sms = ctx
        .attribute(cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
        .map_or(1, |v| v.max(1) as usize);
    let g = Arc::new(Gpu {
        ordinal,
        ctx,
        stream,
        arch,
        sms,
        modules: Mutex::new(HashMap::new()),
        functions: Mutex::new(HashMap::new()),
        pool: Pool::default(),
    });
    map.insert(ordinal, g.clone());
    Ok(g)
}

impl Gpu {
    /// The device ordinal.
    pub fn ordinal(&self) -> usize {
        self.ordinal
    }
    /// The device's name as the driver reports it.
    pub fn name(&self) -> String {
        self.ctx.name().unwrap_or_else(|e| format!("(name unavailable: {e:?})"))
    }
    /// (major, minor) compute capability.
    pub fn compute_capability(&self) -> (i32, i32) {
        self.ctx.compute_capability().unwrap_or((0, 0))
    }
    /// The number of streaming multiprocessors.
    pub fn sm_count(&self) -> usize {
        self.sms
    }
    /// Total device memory in bytes.
    pub fn total_memory(&self) -> usize {
        self.ctx.total_mem().unwrap_or(0)
    }
    /// The stream every op is queued on.
    pub(crate) fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }
    /// Waits for every queued kernel (for timing, and before reading results on the host).
    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(dev_err("synchronize"))
    }
    /// (bytes held by live tensors, bytes cached for reuse) in the caching allocator.
    pub fn memory_stats(&self) -> (usize, usize) {
        self.pool.stats()
    }
    /// Frees the allocator's cached blocks.
    pub fn empty_cache(&self) {
        self.pool.release_cached();
    }

    /// The kernel `name` of `kernels/<stem>.cu`, compiling the file on first use (once per process).
    pub(crate) fn function(&self, stem: &'static str, name: &str) -> Result<CudaFunction> {
        let op = "cuda kernel";
        if let Some(f) = self.functions.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(f.clone());
        }
        let module = {
            let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
            match modules.get(stem) {
                Some(m) => m.clone(),
                None => {
                    let file = sources::file(stem).ok_or_else(|| Error::Device {
                        op,
                        msg: format!("no kernel file kernels/{stem}.cu"),
                    })?;
                    let ptx = compile_file(file, self.arch)?;
                    let m = self.ctx.load_module(ptx).map_err(dev_err(op))?;
                    modules.insert(stem, m.clone());
                    m
                }
            }
        };
        let f = module.load_function(name).map_err(|e| Error::Device {
            op,
            msg: format!("kernels/{stem}.cu has no kernel {name}: {e:?}"),
        })?;
        self.functions.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), f.clone());
        Ok(f)
    }

    /// A pooled buffer of at least `len` elements.
    pub(crate) fn alloc<T: DevElem>(self: &Arc<Self>, len: usize) -> Result<Block> {
        let s = self.pool.take::<T>(&self.stream, len).map_err(dev_err("cuda alloc"))?;
        Ok(Block { slice: Some(T::wrap(s)), gpu: self.clone() })
    }
}

/// A device buffer on loan from the caching allocator; dropping it gives it back.
#[derive(Debug)]
pub struct Block {
    slice: Option<AnySlice>,
    gpu: Arc<Gpu>,
}

impl Block {
    pub(crate) fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }
    pub(crate) fn slice<T: DevElem>(&self) -> Option<&cudarc::driver::CudaSlice<T>> {
        self.slice.as_ref().and_then(T::get)
    }
    pub(crate) fn slice_mut<T: DevElem>(&mut self) -> Option<&mut cudarc::driver::CudaSlice<T>> {
        self.slice.as_mut().and_then(T::get_mut)
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if let Some(s) = self.slice.take() {
            self.gpu.pool.give(s);
        }
    }
}

/// Grid-stride launch for `n` independent outputs: blocks of 256, at most 2^20 blocks.
pub(crate) fn elementwise_cfg(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(256).clamp(1, 1 << 20) as u32;
    LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 }
}

/// One block of 256 threads per row (rows grid-strided beyond 65,535 blocks), with `smem` bytes
/// of dynamic shared memory.
pub(crate) fn rows_cfg(rows: usize, smem: usize) -> LaunchConfig {
    let blocks = rows.clamp(1, 65_535) as u32;
    LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: smem as u32 }
}
