//! Whether `libcuda`, `libnvrtc` and `libcublas` can be loaded and used, asked without panicking,
//! with or without the `cuda` feature: `cudarc` loads them lazily and panics when one is missing,
//! so every entry into it is guarded by these probes.

/// True when `libcuda` loads and initialises (never panics).
pub fn driver_present() -> bool {
    #[cfg(feature = "cuda")]
    {
        use std::sync::OnceLock;
        static OK: OnceLock<bool> = OnceLock::new();
        *OK.get_or_init(|| {
            // SAFETY: only tries to dlopen the library by its known names.
            (unsafe { cudarc::driver::sys::is_culib_present() }) && cudarc::driver::result::init().is_ok()
        })
    }
    #[cfg(not(feature = "cuda"))]
    {
        false
    }
}

/// The number of CUDA devices (0 without a driver, or without the `cuda` feature).
pub fn device_count() -> usize {
    #[cfg(feature = "cuda")]
    {
        if !driver_present() {
            return 0;
        }
        cudarc::driver::result::device::get_count().map(|c| c.max(0) as usize).unwrap_or(0)
    }
    #[cfg(not(feature = "cuda"))]
    {
        0
    }
}

/// True when `libnvrtc` loads (never panics).
pub fn nvrtc_present() -> bool {
    #[cfg(feature = "cuda")]
    {
        // SAFETY: only tries to dlopen the library by its known names.
        unsafe { cudarc::nvrtc::sys::is_culib_present() }
    }
    #[cfg(not(feature = "cuda"))]
    {
        false
    }
}

/// Whether `libcublas` (the GEMM comparison path, `cuda::cublas`) can be opened. Never panics.
pub fn cublas_present() -> bool {
    #[cfg(feature = "cuda")]
    {
        static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        // SAFETY: only tries to dlopen the library by its known names.
        *OK.get_or_init(|| unsafe { cudarc::cublas::sys::is_culib_present() })
    }
    #[cfg(not(feature = "cuda"))]
    {
        false
    }
}

/// NVRTC's (major, minor) version, when NVRTC is present.
pub fn nvrtc_version() -> Option<(i32, i32)> {
    #[cfg(feature = "cuda")]
    {
        if !nvrtc_present() {
            return None;
        }
        let (mut major, mut minor) = (0, 0);
        // SAFETY: the library is present (probed above); the pointers are to live locals.
        let r = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        (r == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS).then_some((major, minor))
    }
    #[cfg(not(feature = "cuda"))]
    {
        None
    }
}

/// Why GPU checks cannot run here, or `None` when `cuda:0` is usable.
pub fn skip_reason() -> Option<String> {
    if !cfg!(feature = "cuda") {
        return Some("built without the `cuda` feature".into());
    }
    if !driver_present() {
        return Some("no NVIDIA driver (libcuda.so not found or cuInit failed)".into());
    }
    if device_count() == 0 {
        return Some("the driver reports no CUDA device".into());
    }
    if !nvrtc_present() {
        return Some("libnvrtc.so not found: kernels cannot be compiled".into());
    }
    None
}
