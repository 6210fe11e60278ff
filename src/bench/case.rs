//! What a bench case is: an id, the [`Work`] one iteration does, and a setup closure returning the
//! closure to time; and what timing it gives ([`CaseResult`]).

use std::hint::black_box;

use super::timing::Timing;
use crate::error::Result;
use crate::rng::Generator;

/// The seed every case's inputs are drawn from.
pub const SEED: u64 = 0;

/// The closure a case times: one iteration of the work.
pub type RunFn = Box<dyn FnMut() -> Result<()>>;

/// Builds a case's inputs from a seeded generator and returns the closure to time.
pub type SetupFn = Box<dyn Fn(&mut Generator) -> Result<RunFn>>;

/// The work one iteration of a case does, which turns its time into a rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Work {
    /// Floating-point operations (a multiply–add counts 2): reported in GFLOP/s and as a share of peak.
    Flops(f64),
    /// Bytes that must be read and written: reported in GB/s (memory-bound cases).
    Bytes(f64),
    /// Only the time is reported.
    Time,
}

/// One benchmark case.
pub struct Case {
    /// Stable id, the same in the PyTorch twin (`sgemm_1024`).
    pub id: String,
    /// The work of one iteration.
    pub work: Work,
    /// One line on what is timed.
    pub about: String,
    /// Builds the inputs and returns the closure to time.
    pub setup: SetupFn,
}

impl Case {
    pub fn new(
        id: impl Into<String>,
        work: Work,
        about: impl Into<String>,
        setup: impl Fn(&mut Generator) -> Result<RunFn> + 'static,
    ) -> Case {
        Case { id: id.into(), work, about: about.into(), setup: Box::new(setup) }
    }
}

/// Ends an iteration on `dev`: waits for the GPU's queued kernels (nothing on the CPU), so that a
/// GPU case times the kernels and not their launch.
pub fn finish(dev: &crate::device::Device) -> Result<()> {
    match dev {
        #[cfg(feature = "cuda")]
        crate::device::Device::Cuda(n) => crate::device::cuda::gpu(*n)?.synchronize(),
        _ => Ok(()),
    }
}

/// Keeps a result alive as far as the optimiser can tell, so the work that made it is not dropped.
pub fn keep<T>(value: T) -> Result<()> {
    black_box(value);
    Ok(())
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    pub id: String,
    pub device: String,
    pub threads: usize,
    pub work: Work,
    pub timing: Timing,
    /// The run's fp32 peak in GFLOP/s.
    pub peak_gflops: Option<f64>,
    /// PyTorch's median for the same case id, in ms, when `--torch` ran it.
    pub torch_median_ms: Option<f64>,
}

impl CaseResult {
    /// GFLOP/s at the median time (compute-bound cases).
    pub fn gflops(&self) -> Option<f64> {
        match self.work {
            Work::Flops(f) => Some(f / (self.timing.median_ms * 1e-3) / 1e9),
            _ => None,
        }
    }
    /// GB/s at the median time (memory-bound cases).
    pub fn gbps(&self) -> Option<f64> {
        match self.work {
            Work::Bytes(b) => Some(b / (self.timing.median_ms * 1e-3) / 1e9),
            _ => None,
        }
    }
    /// GFLOP/s over the run's peak.
    pub fn peak_fraction(&self) -> Option<f64> {
        Some(self.gflops()? / self.peak_gflops?)
    }
    /// glassgrad's median over torch's (below 1: glassgrad is faster).
    pub fn torch_ratio(&self) -> Option<f64> {
        Some(self.timing.median_ms / self.torch_median_ms?)
    }
}
