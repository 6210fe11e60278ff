//! Is CUDA usable here? The low-level answers are in `libraries.rs` (re-exported here); [`report`]
//! gathers them with the devices' names and capabilities for `glassgrad doctor`. Never panics,
//! with or without the `cuda` feature.

pub use super::libraries::{
    cublas_present, device_count, driver_present, nvrtc_present, nvrtc_version, skip_reason,
};

/// What this process can do with CUDA, as `glassgrad doctor` reports it.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Built with the `cuda` feature.
    pub compiled: bool,
    /// `libcuda` found and `cuInit` succeeded.
    pub driver: bool,
    /// The driver's CUDA version, e.g. `(13, 0)`.
    pub driver_version: Option<(i32, i32)>,
    /// Usable devices: (ordinal, name, compute capability, memory in bytes).
    pub devices: Vec<(usize, String, (i32, i32), usize)>,
    /// `libnvrtc` found.
    pub nvrtc: bool,
    /// NVRTC's version.
    pub nvrtc_version: Option<(i32, i32)>,
    /// Why something is missing, one line each.
    pub notes: Vec<String>,
}

/// Everything above in one report.
pub fn report() -> Report {
    let mut r = Report { compiled: cfg!(feature = "cuda"), ..Report::default() };
    if !r.compiled {
        r.notes.push("built without the `cuda` feature (cargo build --release --features cuda)".into());
        return r;
    }
    r.nvrtc = nvrtc_present();
    r.nvrtc_version = nvrtc_version();
    if !r.nvrtc {
        r.notes.push("libnvrtc.so not found on the library path (LD_LIBRARY_PATH)".into());
    }
    r.driver = driver_present();
    if !r.driver {
        r.notes.push("libcuda.so not found or cuInit failed: no usable NVIDIA driver".into());
        return r;
    }
    #[cfg(feature = "cuda")]
    {
        let mut v = 0;
        // SAFETY: the driver is present and initialised; the pointer is to a live local.
        if unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) }
            == cudarc::driver::sys::cudaError_enum::CUDA_SUCCESS
        {
            r.driver_version = Some((v / 1000, (v % 1000) / 10));
        }
        for ordinal in 0..device_count() {
            match super::context::gpu(ordinal) {
                Ok(g) => r.devices.push((ordinal, g.name(), g.compute_capability(), g.total_memory())),
                Err(e) => r.notes.push(format!("cuda:{ordinal}: {e}")),
            }
        }
        if r.devices.is_empty() {
            r.notes.push("the driver reports no usable device".into());
        }
    }
    r
}
