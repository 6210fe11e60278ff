//! Where a tensor lives. The CPU path uses rayon and its own packed GEMM ([`cpu::gemm`]); the CUDA path (crate
//! feature `cuda`) runs the kernels of `kernels/` through `cudarc` (see [`crate::device::cuda`]).

pub mod cpu;
pub mod cuda;
pub mod shape;

/// A compute device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda(usize),
}

impl Device {
    /// `cuda:0` when a CUDA device and NVRTC are usable, else the CPU (always the CPU without the
    /// `cuda` feature). Probes without panicking, whatever is installed.
    pub fn cuda_if_available() -> Device {
        if crate::device::cuda::probe::skip_reason().is_none() { Device::Cuda(0) } else { Device::Cpu }
    }
    /// True for a CUDA device.
    pub fn is_cuda(&self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}
