//! The CUDA C sources in `kernels/`, embedded in the binary so that it runs from any folder.
//!
//! Each `kernels/<stem>.cu` is one NVRTC program. Its line `#include "common.cuh"` is replaced by
//! the text of `kernels/common.cuh` before compilation ([`program_source`]), so the files also read
//! and compile as standalone translation units.

/// One kernel file.
#[derive(Debug, Clone, Copy)]
pub struct KernelFile {
    /// The op stem: `kernels/<stem>.cu`, and the module name in the compile cache.
    pub stem: &'static str,
    /// The file's text as written.
    pub source: &'static str,
}

/// `kernels/common.cuh`: shared types (`Layout`, `i64`), the grid-stride loop and math helpers.
pub const COMMON: &str = include_str!("../../../kernels/common.cuh");

macro_rules! kernel_files {
    ($($stem:literal),* $(,)?) => {
        /// Every kernel file, in the order `glassgrad doctor` compiles them.
        pub const FILES: &[KernelFile] = &[
            $(KernelFile { stem: $stem, source: include_str!(concat!("../../../kernels/", $stem, ".cu")) }),*
        ];
    };
}

kernel_files![
    "copy",
    "elementwise",
    "reduce",
    "matmul",
    "softmax",
    "loss",
    "conv2d",
    "pool2d",
    "embedding",
    "rnn",
    "lstm",
    "gru",
    "factorization",
    "optim",
    "norm",
    "bce",
    "compare",
    "stats",
    "index",
    "sort",
];

/// The kernel file of `stem`.
pub fn file(stem: &str) -> Option<&'static KernelFile> {
    FILES.iter().find(|f| f.stem == stem)
}

/// The text NVRTC compiles for `file`: the file with `common.cuh` spliced in.
pub fn program_source(file: &KernelFile) -> String {
    file.source.replace("#include \"common.cuh\"", COMMON)
}

/// The kernel names in compiled PTX (its `.entry` lines): what `glassgrad doctor` lists per file.
pub fn entry_points_in_ptx(ptx: &str) -> Vec<String> {
    ptx.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix(".visible .entry ").or_else(|| l.strip_prefix(".entry "))?;
            Some(rest.split('(').next().unwrap_or(rest).trim().to_string())
        })
        .collect()
}

/// The NVRTC include folders in effect (`NVRTC_INCLUDE_PATH`), for `glassgrad doctor`.
pub fn check_kernels_include_paths() -> Vec<String> {
    std::env::var("NVRTC_INCLUDE_PATH")
        .map(|v| v.split(':').filter(|p| !p.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}
