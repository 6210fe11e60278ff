//! Compiling `kernels/*.cu` with NVRTC.

use cudarc::nvrtc::{CompileError, CompileOptions, Ptx, compile_ptx_with_opts};

use super::libraries;
use super::sources::{KernelFile, program_source};
use crate::error::{Error, Result};

/// NVRTC include folders from `NVRTC_INCLUDE_PATH` (colon-separated; `../shared/tools/with-nvrtc.sh`
/// sets it to the CUDA runtime and CCCL headers of the NVRTC wheels).
pub fn include_paths() -> Vec<String> {
    super::sources::check_kernels_include_paths()
}

/// Compiles one kernel file to PTX for `arch` (e.g. `compute_90`). A file that does not compile
/// is an error carrying NVRTC's log.
pub fn compile_file(file: &KernelFile, arch: &'static str) -> Result<Ptx> {
    let op = "nvrtc";
    if !libraries::nvrtc_present() {
        return Err(Error::Device {
            op,
            msg: "libnvrtc.so not found: put CUDA's NVRTC on LD_LIBRARY_PATH (see ../shared/CUDA.md)".into(),
        });
    }
    let src = program_source(file);
    if src.contains('\0') {
        return Err(Error::Device { op, msg: format!("kernels/{}.cu contains a NUL byte", file.stem) });
    }
    let opts = CompileOptions {
        arch: Some(arch),
        include_paths: include_paths(),
        name: Some(format!("{}.cu", file.stem)),
        ..Default::default()
    };
    compile_ptx_with_opts(src, opts).map_err(|e| {
        let msg = match e {
            CompileError::CompileError { nvrtc, log, .. } => format!(
                "kernels/{}.cu does not compile for {arch} ({nvrtc:?}):\n{}",
                file.stem,
                log.to_string_lossy()
            ),
            other => format!("kernels/{}.cu: {other}", file.stem),
        };
        Error::Device { op, msg }
    })
}
