//! Where a tensor lives. The CPU path uses rayon and `matrixmultiply`; the CUDA path (crate
//! feature `cuda`) is the subject of its own work and is not compiled in yet.

pub mod cpu;

/// A compute device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda(usize),
}

impl Device {
    /// A CUDA device when one is usable, else the CPU. Without the `cuda` feature: the CPU.
    pub fn cuda_if_available() -> Device {
        Device::Cpu
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
