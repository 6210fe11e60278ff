//! What a bench case is: an id, the [`Work`] one iteration does, a pinned description of what it
//! runs, and a setup closure returning the closure to time; and what timing it gives
//! ([`CaseResult`]).

use std::hint::black_box;

use super::roof::{Bound, roof};
use super::timing::Timing;
use crate::error::Result;
use crate::rng::Generator;

/// The seed every case's inputs are drawn from.
pub const SEED: u64 = 0;

/// The closure a case times: one iteration of the work.
pub type RunFn = Box<dyn FnMut() -> Result<()>>;

/// Builds a case's inputs from a seeded generator and returns the closure to time.
pub type SetupFn = Box<dyn Fn(&mut Generator) -> Result<RunFn>>;

/// The work one iteration of a case does, which turns its time into rates: its floating-point
/// operations and the bytes it must move, each where the case defines it.
///
/// - `flops`: floating-point operations, a multiply–add counted as 2 (each case's docs say what
///   else it counts). Gives GFLOP/s and the share of the compute peak.
/// - `bytes`: the **compulsory** memory traffic of one iteration: every input read once and every
///   output written once (parameters an optimizer updates count as read and written; the
///   intermediate activations a cache-perfect implementation would never spill do not count).
///   Gives GB/s. It is a lower bound on the traffic, so the GB/s is a lower bound on the
///   bandwidth the case used.
///
/// Together they give the arithmetic intensity $I = \text{flops} / \text{bytes}$ (flop/byte), which
/// places the case on the roofline ([`mod@super::roof`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    /// Floating-point operations of one iteration.
    pub flops: Option<f64>,
    /// Compulsory bytes of one iteration.
    pub bytes: Option<f64>,
}

impl Work {
    /// Only the time is reported.
    pub const TIME: Work = Work { flops: None, bytes: None };

    /// Both counts.
    pub fn new(flops: f64, bytes: f64) -> Work {
        Work { flops: Some(flops), bytes: Some(bytes) }
    }
    /// Flops only (bytes undefined).
    pub fn flops(flops: f64) -> Work {
        Work { flops: Some(flops), bytes: None }
    }
    /// Bytes only (flops undefined).
    pub fn bytes(bytes: f64) -> Work {
        Work { flops: None, bytes: Some(bytes) }
    }
    /// Arithmetic intensity, flops per byte, where both are defined and the bytes positive.
    pub fn intensity(&self) -> Option<f64> {
        let (f, b) = (self.flops?, self.bytes?);
        (b > 0.0).then(|| f / b)
    }
}

/// One benchmark case.
///
/// Nothing is cached across the timed calls of a case's run closure: the closure owns its inputs
/// (drawn once in the setup), and every call recomputes everything from them. `sgemm_*` packs its
/// operands inside each call (`device::cpu::gemm` packs panels on first use within one product);
/// the recurrent layers pack $W_{hh}$ once per call, not once per case; the training-step cases
/// update their weights (and optimizer state) on every call, so each call works on new values.
/// What does persist is memory, not results: per-thread scratch buffers (im2col matrices, GEMM
/// panels; `device::cpu::scratch`) are reused, their contents overwritten before being read.
pub struct Case {
    /// Stable id, the same in the PyTorch twin (`sgemm_1024`).
    pub id: String,
    /// The work of one iteration.
    pub work: Work,
    /// One line on what is timed.
    pub about: String,
    /// The pinned definition, `key=value` pairs separated by spaces (`op=matmul dtype=f32 m=1024
    /// ...`), built from the same constants the setup uses, so that `tests/bench_cases.rs` fails
    /// when a case's sizes change. Empty for ad-hoc cases.
    pub spec: String,
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
        Case { id: id.into(), work, about: about.into(), spec: String::new(), setup: Box::new(setup) }
    }

    /// This case with its pinned definition (see [`Case::spec`]).
    pub fn with_spec(mut self, spec: impl Into<String>) -> Case {
        self.spec = spec.into();
        self
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
    /// The case's pinned definition ([`Case::spec`]).
    pub spec: String,
    /// The timing of the best round (the round with the lowest median).
    pub timing: Timing,
    /// glassgrad's median of every round, in ms, in the order run.
    pub median_ms_rounds: Vec<f64>,
    /// The run's fp32 peak in GFLOP/s.
    pub peak_gflops: Option<f64>,
    /// The run's memory bandwidth in GB/s (the triad of [`super::bandwidth`], or given).
    pub bandwidth_gbps: Option<f64>,
    /// PyTorch's best median over the rounds for the same case id, in ms, when `--torch` ran it.
    pub torch_median_ms: Option<f64>,
    /// PyTorch's median of every round that timed this case, in ms.
    pub torch_median_ms_rounds: Vec<f64>,
}

impl CaseResult {
    /// A result of one round of `timing`, with no peak, bandwidth or torch time yet.
    pub fn new(id: impl Into<String>, threads: usize, work: Work, timing: Timing) -> CaseResult {
        CaseResult {
            id: id.into(),
            device: "cpu".into(),
            threads,
            work,
            spec: String::new(),
            median_ms_rounds: vec![timing.median_ms],
            timing,
            peak_gflops: None,
            bandwidth_gbps: None,
            torch_median_ms: None,
            torch_median_ms_rounds: Vec::new(),
        }
    }
    /// GFLOP/s at the median time (cases that count flops).
    pub fn gflops(&self) -> Option<f64> {
        Some(self.work.flops? / (self.timing.median_ms * 1e-3) / 1e9)
    }
    /// GB/s of compulsory traffic at the median time (cases that count bytes).
    pub fn gbps(&self) -> Option<f64> {
        Some(self.work.bytes? / (self.timing.median_ms * 1e-3) / 1e9)
    }
    /// Arithmetic intensity, flop/byte.
    pub fn intensity(&self) -> Option<f64> {
        self.work.intensity()
    }
    /// GFLOP/s over the run's peak (wherever flops are counted, whatever bounds the case).
    pub fn peak_fraction(&self) -> Option<f64> {
        Some(self.gflops()? / self.peak_gflops?)
    }
    /// Which roof bounds the case: with both counts, the lower of the peak and
    /// $I \times$ bandwidth; a case counting only flops is compute-bound, one counting only bytes
    /// memory-bound.
    pub fn bound(&self) -> Option<Bound> {
        match (self.intensity(), self.work.flops, self.work.bytes) {
            (Some(i), _, _) => Some(roof(i, self.peak_gflops?, self.bandwidth_gbps?).bound),
            (None, Some(_), None) => Some(Bound::Compute),
            (None, None, Some(_)) => Some(Bound::Memory),
            _ => None,
        }
    }
    /// The attainable GFLOP/s, $\min(P, I \cdot B)$ (the peak alone when no bytes are counted).
    pub fn roof_gflops(&self) -> Option<f64> {
        self.work.flops?;
        match self.intensity() {
            Some(i) => Some(roof(i, self.peak_gflops?, self.bandwidth_gbps?).gflops),
            None => self.peak_gflops,
        }
    }
    /// The share of the roof that bounds the case: GFLOP/s over the compute roof when
    /// compute-bound, GB/s over the bandwidth when memory-bound (which equals GFLOP/s over
    /// $I \cdot B$ when flops are counted too).
    pub fn roof_fraction(&self) -> Option<f64> {
        match self.bound()? {
            Bound::Compute => Some(self.gflops()? / self.peak_gflops?),
            Bound::Memory => Some(self.gbps()? / self.bandwidth_gbps?),
        }
    }
    /// glassgrad's median over torch's (below 1: glassgrad is faster).
    pub fn torch_ratio(&self) -> Option<f64> {
        Some(self.timing.median_ms / self.torch_median_ms?)
    }
    /// PyTorch's GFLOP/s for the same flop count at its median time.
    pub fn torch_gflops(&self) -> Option<f64> {
        Some(self.work.flops? / (self.torch_median_ms? * 1e-3) / 1e9)
    }
    /// The number of rounds glassgrad timed this case.
    pub fn rounds(&self) -> usize {
        self.median_ms_rounds.len()
    }
}
