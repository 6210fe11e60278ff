//! `glassgrad bench`: time the engine's kernels, report GFLOP/s (or GB/s) and the share of the
//! machine's fp32 peak, side by side with PyTorch where it is installed.
//!
//! # How a figure is computed
//! - **Time**: each case is warmed up, then timed over repeated samples with enough iterations per
//!   sample to last a few ms ([`timing`]); the report gives the median time of one iteration and its
//!   spread (min, max, interquartile range).
//! - **Rate**: a compute-bound case declares its flop count ([`Work::Flops`]; a square `n×n` matmul
//!   does $2n^3$: $n^2$ outputs, each $n$ multiplies and $n$ adds), and its rate is
//!   $\text{flops} / t_{\text{median}}$ in GFLOP/s. A memory-bound case declares the bytes it must
//!   move ([`Work::Bytes`]; e.g. one read of the input and one write of the output) and its rate is in
//!   GB/s ($10^9$ bytes per second).
//! - **Share of peak**: GFLOP/s divided by the run's fp32 peak, measured once per run by an FMA loop
//!   ([`peak`]: the single-thread peak times the thread count) or given by `--peak-gflops`.
//!   Memory-bound cases have no share of the compute peak.
//! - **PyTorch**: with `--torch PYTHON`, an embedded script ([`torch`]) times the same case ids with
//!   the same thread count, and the report adds torch's median and the ratio
//!   `glassgrad median / torch median` (below 1: glassgrad is faster).
//!
//! # Adding a case
//! A [`Case`] is an id, the work one iteration does, and a setup closure that builds the inputs from
//! a seeded [`Generator`] and returns the closure to time. Add it to [`cases`]:
//!
//! ```ignore
//! Case::new("relu_1m", Work::Bytes(2.0 * 4.0 * 1e6), "relu over 10⁶ f32", |rng| {
//!     let x = Tensor::randn(&[1_000_000], DType::F32, rng)?;
//!     Ok(Box::new(move || keep(x.relu()?)))
//! }),
//! ```
//!
//! The run closure is `FnMut`, so it may own state across iterations: a training-step case builds a
//! model and an optimizer in its setup and runs forward, backward and the update in its run closure.
//! Add the same id to `torch_twin.py` to get the PyTorch column.

pub mod cnn;
mod gpu;
pub mod peak;
pub mod report;
pub mod timing;
pub mod torch;

use std::hint::black_box;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

pub use gpu::cuda_cases;
pub use peak::Peak;
pub use timing::{Options, Timing, time_run};

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

/// A square `n×n · n×n` f32 matmul: $2n^3$ flops.
pub fn sgemm(n: usize) -> Case {
    let flops = 2.0 * (n as f64).powi(3);
    Case::new(
        format!("sgemm_{n}"),
        Work::Flops(flops),
        format!("f32 matmul {n}×{n} · {n}×{n}"),
        move |rng| {
            let a = Tensor::randn(&[n, n], DType::F32, rng)?;
            let b = Tensor::randn(&[n, n], DType::F32, rng)?;
            Ok(Box::new(move || keep(a.matmul(&b)?)))
        },
    )
}

/// Every registered case, in report order (the first is the headline).
pub fn cases() -> Vec<Case> {
    let mut v = vec![sgemm(1024), sgemm(256), softmax(4096, 1000)];
    v.extend(cnn::cases());
    v.extend(sequence_cases());
    v.push(mf_train_step());
    v
}

/// The sequence-model cases (f32, batch 64, 50 steps): `rnn_fwd`, `rnnlm_fwd`,
/// `rnnlm_train_step`, `lstm_fwd`, `lstm_train_step`. A recurrent layer from $I$ to $H$ with $G$
/// gate blocks does $2 N T \, G H (I + H)$ flops forward (the two GEMMs of every step); a
/// training step counts three times the forward (forward, and the two GEMMs of each backward).
pub fn sequence_cases() -> Vec<Case> {
    sequence_cases_on(&crate::device::Device::Cpu)
}

/// [`sequence_cases`] on `dev` (models moved with `Module::to_device`, inputs drawn on the CPU
/// then moved, each iteration ending with [`finish`]).
pub fn sequence_cases_on(dev: &crate::device::Device) -> Vec<Case> {
    use crate::nn::{Embedding, Linear, Module, RecurrentConfig, Rnn};
    use crate::ops::loss::Reduction;
    use crate::optim::{Optimizer, Sgd, SgdConfig};
    let (n, t) = (64usize, 50usize);
    let rec = |g: usize, i: usize, h: usize| 2.0 * (n * t * g * h * (i + h)) as f64;
    let rnnlm_flops = rec(1, 128, 128) + 2.0 * (n * t * 128 * 1000) as f64;
    let lstm_flops = rec(4, 64, 128) + rec(4, 128, 128) + 2.0 * (n * 128 * 10) as f64;
    // Embedding(1000, 128) → tanh RNN 128 → Linear(128, 1000) over every token.
    struct RnnLm {
        emb: Embedding,
        rnn: Rnn,
        fc: Linear,
    }
    impl RnnLm {
        fn new(rng: &mut Generator) -> Result<RnnLm> {
            Ok(RnnLm {
                emb: Embedding::new(1000, 128, None, DType::F32, rng)?,
                rnn: Rnn::new(128, 128, RecurrentConfig::new(), rng)?,
                fc: Linear::new(128, 1000, true, DType::F32, rng)?,
            })
        }
        fn loss(&self, tokens: &Tensor, target: &Tensor) -> Result<Tensor> {
            let h = self.rnn.forward(&self.emb.forward(tokens)?)?;
            let logits = self.fc.forward(&h)?.reshape(&[-1, 1000])?;
            logits.cross_entropy(target, Reduction::Mean)
        }
        fn params(&self) -> Vec<Tensor> {
            [self.emb.parameters(), self.rnn.parameters(), self.fc.parameters()].concat()
        }
        fn to_device(&self, dev: &crate::device::Device) -> Result<()> {
            self.emb.to_device(dev)?;
            self.rnn.to_device(dev)?;
            self.fc.to_device(dev)
        }
    }
    let tokens = move |rng: &mut Generator, dev: &crate::device::Device| -> Result<(Tensor, Tensor)> {
        Ok((
            Tensor::randint(&[n, t], 0, 1000, rng)?.to(dev)?,
            Tensor::randint(&[n * t], 0, 1000, rng)?.to(dev)?,
        ))
    };
    let d = *dev;
    vec![
        Case::new(
            "rnn_fwd",
            Work::Flops(rec(1, 128, 128)),
            format!("f32 tanh RNN 128→128 over ({n}, {t}, 128), forward"),
            move |rng| {
                let rnn = Rnn::new(128, 128, RecurrentConfig::new(), rng)?;
                rnn.to_device(&d)?;
                let x = Tensor::randn(&[n, t, 128], DType::F32, rng)?.to(&d)?;
                Ok(Box::new(move || {
                    keep(crate::autograd::no_grad(|| rnn.forward(&x))?)?;
                    finish(&d)
                }))
            },
        ),
        Case::new(
            "rnnlm_fwd",
            Work::Flops(rnnlm_flops),
            format!(
                "f32 Embedding(1000,128) → RNN 128 → Linear(128,1000) + cross-entropy over ({n}, {t}) tokens, forward"
            ),
            move |rng| {
                let m = RnnLm::new(rng)?;
                m.to_device(&d)?;
                let (x, y) = tokens(rng, &d)?;
                Ok(Box::new(move || {
                    keep(crate::autograd::no_grad(|| m.loss(&x, &y))?)?;
                    finish(&d)
                }))
            },
        ),
        Case::new(
            "rnnlm_train_step",
            Work::Flops(3.0 * rnnlm_flops),
            format!("f32 RNN language model over ({n}, {t}) tokens: forward, backward, SGD step"),
            move |rng| {
                let m = RnnLm::new(rng)?;
                m.to_device(&d)?;
                let (x, y) = tokens(rng, &d)?;
                let mut opt = Sgd::new(m.params(), SgdConfig::new(0.01))?;
                Ok(Box::new(move || {
                    let loss = m.loss(&x, &y)?;
                    opt.zero_grad();
                    loss.backward()?;
                    opt.step()?;
                    finish(&d)
                }))
            },
        ),
        Case::new(
            "lstm_fwd",
            Work::Flops(lstm_flops),
            format!(
                "f32 LSTM 64→128, 2 layers, over ({n}, {t}, 64) + Linear(128, 10) on the last step, forward"
            ),
            move |rng| {
                let m = Lstm2::new(rng)?;
                m.to_device(&d)?;
                let x = Tensor::randn(&[n, t, 64], DType::F32, rng)?.to(&d)?;
                Ok(Box::new(move || {
                    keep(crate::autograd::no_grad(|| m.logits(&x))?)?;
                    finish(&d)
                }))
            },
        ),
        Case::new(
            "lstm_train_step",
            Work::Flops(3.0 * lstm_flops),
            format!(
                "f32 LSTM 64→128 ×2 over ({n}, {t}, 64), cross-entropy on the last step: forward, backward, SGD step"
            ),
            move |rng| {
                let m = Lstm2::new(rng)?;
                m.to_device(&d)?;
                let x = Tensor::randn(&[n, t, 64], DType::F32, rng)?.to(&d)?;
                let y = Tensor::randint(&[n], 0, 10, rng)?.to(&d)?;
                let mut opt = Sgd::new(m.params(), SgdConfig::new(0.01))?;
                Ok(Box::new(move || {
                    let loss = m.logits(&x)?.cross_entropy(&y, Reduction::Mean)?;
                    opt.zero_grad();
                    loss.backward()?;
                    opt.step()?;
                    finish(&d)
                }))
            },
        ),
    ]
}

/// LSTM 64→128 with 2 layers and `Linear(128, 10)` on the last step (the bench's LSTM model).
struct Lstm2 {
    rnn: crate::nn::Lstm,
    fc: crate::nn::Linear,
}

impl Lstm2 {
    fn new(rng: &mut Generator) -> Result<Lstm2> {
        use crate::nn::{Linear, Lstm, RecurrentConfig};
        Ok(Lstm2 {
            rnn: Lstm::new(64, 128, RecurrentConfig::new().num_layers(2), rng)?,
            fc: Linear::new(128, 10, true, DType::F32, rng)?,
        })
    }
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        use crate::nn::Module;
        self.fc.forward(&crate::models::rnn::last_step(&self.rnn.forward(x)?)?)
    }
    fn params(&self) -> Vec<Tensor> {
        use crate::nn::Module;
        [self.rnn.parameters(), self.fc.parameters()].concat()
    }
    fn to_device(&self, dev: &crate::device::Device) -> Result<()> {
        use crate::nn::Module;
        self.rnn.to_device(dev)?;
        self.fc.to_device(dev)
    }
}

/// One training step of a dot-product recommender: two `Embedding(1000, 50)` tables, the dot
/// product of the looked-up rows (the fused [`Tensor::mf_predict`] with zero biases), MSE
/// against ratings, backward, Adam (lr 0.001) over both tables; batch 4096. Counted work: the
/// forward dot products $2NK$ and their backward $4NK$ (the Adam update and the scatter are
/// memory traffic on top).
pub fn mf_train_step() -> Case {
    let (n, v, k) = (4096usize, 1000usize, 50usize);
    Case::new(
        "mf_train_step",
        Work::Flops(6.0 * (n * k) as f64),
        format!("dot-product recommender step: 2×Embedding({v}, {k}), MSE, Adam, batch {n}"),
        move |rng| {
            use crate::optim::{Adam, AdamConfig, Optimizer};
            let p = Tensor::randn(&[v, k], DType::F32, rng)?.requires_grad_()?;
            let q = Tensor::randn(&[v, k], DType::F32, rng)?.requires_grad_()?;
            let (bu, bi) = (Tensor::zeros(&[v], DType::F32)?, Tensor::zeros(&[v], DType::F32)?);
            let mu = Tensor::scalar(0.0f32);
            let u = Tensor::randint(&[n], 0, v as i64, rng)?;
            let i = Tensor::randint(&[n], 0, v as i64, rng)?;
            let r = Tensor::uniform(&[n], 1.0, 5.0, DType::F32, rng)?;
            let mut opt = Adam::new(vec![p.clone(), q.clone()], AdamConfig::new(1e-3))?;
            Ok(Box::new(move || {
                opt.zero_grad();
                let loss = Tensor::mf_predict(&u, &i, &p, &q, &bu, &bi, &mu)?
                    .mse_loss(&r, crate::ops::loss::Reduction::Mean)?;
                loss.backward()?;
                opt.step()?;
                keep(loss)
            }))
        },
    )
}

/// Softmax over the rows of a `rows×cols` f32 matrix: memory-bound, one read and one write of every
/// element, $2 \cdot 4 \cdot \text{rows} \cdot \text{cols}$ bytes.
pub fn softmax(rows: usize, cols: usize) -> Case {
    let bytes = 2.0 * 4.0 * (rows * cols) as f64;
    Case::new(
        format!("softmax_{rows}x{cols}"),
        Work::Bytes(bytes),
        format!("f32 softmax over rows of {cols}, {rows} rows"),
        move |rng| {
            let x = Tensor::randn(&[rows, cols], DType::F32, rng)?;
            Ok(Box::new(move || keep(x.softmax(-1)?)))
        },
    )
}

/// The cases whose id contains one of the comma-separated substrings of `filter` (all when `None`).
pub fn select(cases: Vec<Case>, filter: Option<&str>) -> Vec<Case> {
    match filter {
        None => cases,
        Some(f) => {
            let parts: Vec<&str> = f.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
            cases.into_iter().filter(|c| parts.is_empty() || parts.iter().any(|p| c.id.contains(p))).collect()
        }
    }
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
    /// The headline figure of this case: `sgemm_1024: 85.2 GFLOP/s`.
    pub fn headline(&self) -> String {
        format!("{}: {}", self.id, report::rate(self))
    }
}

/// Sets up and times one case.
pub fn run_case(case: &Case, opts: &Options, threads: usize, peak: Option<&Peak>) -> Result<CaseResult> {
    let mut rng = Generator::new(SEED);
    let mut run = (case.setup)(&mut rng)?;
    let timing = time_run(&mut run, opts)?;
    Ok(CaseResult {
        id: case.id.clone(),
        device: "cpu".into(),
        threads,
        work: case.work,
        timing,
        peak_gflops: peak.map(|p| p.gflops),
        torch_median_ms: None,
    })
}

/// Arguments of `glassgrad bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Print one JSON object per case (JSON Lines) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Run only the cases whose id contains this text (several: comma-separated).
    #[arg(long)]
    pub filter: Option<String>,
    /// Threads for rayon and matrixmultiply (default: all logical CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The machine's fp32 peak in GFLOP/s for all threads (default: measured by an FMA loop).
    #[arg(long)]
    pub peak_gflops: Option<f64>,
    /// Minimum number of timed samples per case.
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    /// Sampling time per case in ms, beyond which no sample past the minimum is taken.
    #[arg(long, default_value_t = 1000)]
    pub budget_ms: u64,
    /// Device to run on: `cpu`, or `cuda` (crate feature `cuda`; the GPU cases of [`cuda_cases`],
    /// each run synchronised; give `--peak-gflops` for the peak column).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// A Python with PyTorch: time the same cases with torch and add a comparison column.
    #[arg(long, value_name = "PYTHON")]
    pub torch: Option<PathBuf>,
    /// List the cases and exit.
    #[arg(long)]
    pub list: bool,
}

/// Runs `glassgrad bench`: results on stdout, progress and notes on stderr.
pub fn run_cli(args: &BenchArgs) -> Result<()> {
    let on_cuda = match args.device.as_str() {
        "cpu" => false,
        "cuda" | "cuda:0" => true,
        other => return Err(Error::invalid("bench", format!("unknown device `{other}` (cpu or cuda)"))),
    };
    if on_cuda {
        if let Some(why) = crate::device::cuda::probe::skip_reason() {
            return Err(Error::Device { op: "bench", msg: format!("cuda is not usable here: {why}") });
        }
        if args.peak_gflops.is_none() {
            return Err(Error::invalid(
                "bench",
                "--device cuda needs --peak-gflops (the GPU's fp32 peak; the FMA probe measures the CPU)",
            ));
        }
    }
    let all = || if on_cuda { cuda_cases() } else { cases() };
    if args.list {
        for c in all() {
            println!("{:<24} {}", c.id, c.about);
        }
        return Ok(());
    }
    if let Some(p) = args.peak_gflops
        && !(p.is_finite() && p > 0.0)
    {
        return Err(Error::invalid("bench", format!("--peak-gflops must be positive, got {p}")));
    }
    // Threads first: rayon's global pool (which the GEMMs use too) is built once.
    let threads = match args.threads {
        Some(n) => n,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    crate::device::cpu::set_num_threads(threads)?;

    let selected = select(all(), args.filter.as_deref());
    if selected.is_empty() {
        let ids: Vec<String> = all().into_iter().map(|c| c.id).collect();
        return Err(Error::invalid(
            "bench",
            format!(
                "no case matches --filter {:?}; cases: {}",
                args.filter.as_deref().unwrap_or(""),
                ids.join(", ")
            ),
        ));
    }
    let peak = match args.peak_gflops {
        Some(p) => Peak::given(p, threads),
        None => {
            eprintln!("measuring the fp32 peak (FMA loop, one thread)...");
            Peak::measure(threads)
        }
    };
    let opts = Options {
        samples: args.samples.max(1),
        case_budget: std::time::Duration::from_millis(args.budget_ms),
        ..Options::default()
    };
    let mut results = Vec::with_capacity(selected.len());
    for (i, case) in selected.iter().enumerate() {
        eprintln!("[{}/{}] {} ({})", i + 1, selected.len(), case.id, case.about);
        let mut r = run_case(case, &opts, threads, Some(&peak))?;
        if on_cuda {
            r.device = "cuda:0".into();
        }
        results.push(r);
    }
    if let Some(python) = &args.torch {
        let ids: Vec<String> = results.iter().map(|r| r.id.clone()).collect();
        eprintln!("timing the same cases with PyTorch ({})...", python.display());
        match torch::torch_medians_on(python, &ids, threads, &opts, if on_cuda { "cuda" } else { "cpu" }) {
            Ok(t) => {
                for r in &mut results {
                    r.torch_median_ms = t.medians.get(&r.id).copied();
                    if r.torch_median_ms.is_none() {
                        eprintln!("note: the PyTorch twin has no case `{}`", r.id);
                    }
                }
                eprintln!("PyTorch {} (torch.set_num_threads({threads}))", t.version);
            }
            Err(e) => eprintln!("note: no PyTorch column: {e}"),
        }
    } else {
        eprintln!("note: no PyTorch column (pass --torch PYTHON, a Python with torch, to add one)");
    }
    if args.json {
        for r in &results {
            println!("{}", report::json_line(r, &peak));
        }
    } else {
        print!("{}", report::table(&results, &peak));
    }
    Ok(())
}
