//! The kernel compile check of `glassgrad doctor` and CI: every `kernels/*.cu` through NVRTC for a
//! given architecture, no GPU needed.

/// The outcome of compiling one kernel file: its kernel names and the compile time, or NVRTC's log.
#[derive(Debug, Clone)]
pub struct KernelCheck {
    pub stem: &'static str,
    pub result: std::result::Result<(Vec<String>, f64), String>,
}

/// Compiles every file of [`super::sources::FILES`] with NVRTC for `arch` (no GPU needed): what
/// `glassgrad doctor` reports and CI checks. `Err` when NVRTC is not usable here at all.
pub fn check_kernels(arch: &'static str) -> std::result::Result<Vec<KernelCheck>, String> {
    #[cfg(feature = "cuda")]
    {
        if !super::libraries::nvrtc_present() {
            return Err("libnvrtc.so not found on the library path".into());
        }
        Ok(super::sources::FILES
            .iter()
            .map(|f| {
                let t0 = std::time::Instant::now();
                let result = super::compile::compile_file(f, arch)
                    .map(|ptx| {
                        (super::sources::entry_points_in_ptx(&ptx.to_src()), t0.elapsed().as_secs_f64() * 1e3)
                    })
                    .map_err(|e| e.to_string());
                KernelCheck { stem: f.stem, result }
            })
            .collect())
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = arch;
        Err("built without the `cuda` feature".into())
    }
}
