//! The case list and `glassgrad bench` itself: select, time, compare with PyTorch, report.

use std::path::{Path, PathBuf};

use super::bandwidth::Bandwidth;
use super::case::{Case, CaseResult, SEED};
use super::gpu::cuda_cases;
use super::kernels::{sgemm, softmax};
use super::peak::Peak;
use super::recommender::mf_train_step;
use super::roof::Machine;
use super::rounds::{Plan, run_rounds};
use super::sequence::sequence_cases;
use super::timing::{Options, time_run};
use super::{cnn, plot, report};
use crate::error::{Error, Result};
use crate::rng::Generator;

/// Every registered case, in report order (the first is the headline).
pub fn cases() -> Vec<Case> {
    let mut v = vec![sgemm(1024), sgemm(256), softmax(4096, 1000)];
    v.extend(cnn::cases());
    v.extend(sequence_cases());
    v.push(mf_train_step());
    v
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

/// Sets up and times one case.
pub fn run_case(case: &Case, opts: &Options, threads: usize, peak: Option<&Peak>) -> Result<CaseResult> {
    let mut rng = Generator::new(SEED);
    let mut run = (case.setup)(&mut rng)?;
    let timing = time_run(&mut run, opts)?;
    let mut r = CaseResult::new(case.id.clone(), threads, case.work, timing);
    r.spec = case.spec.clone();
    r.peak_gflops = peak.map(|p| p.gflops);
    Ok(r)
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
    /// Threads for rayon's pool, which the GEMM uses too (default: all logical CPUs; at most 4 × them).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The machine's fp32 peak in GFLOP/s for all threads (default: measured by an FMA loop).
    #[arg(long, allow_negative_numbers = true)]
    pub peak_gflops: Option<f64>,
    /// Minimum number of timed samples per case.
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    /// Sampling time per case in ms, beyond which no sample past the minimum is taken.
    #[arg(long, default_value_t = 1000)]
    pub budget_ms: u64,
    /// Device to run on: `cpu`, or `cuda` (crate feature `cuda`; the GPU cases, each run
    /// synchronised: own SGEMM beside cuBLAS, softmax, an MLP step, the CNN and sequence cases;
    /// give `--peak-gflops` for the peak column).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The machine's memory bandwidth in GB/s (default: measured by a STREAM-like triad on the
    /// CPU; with `--device cuda`, no memory roof unless given).
    #[arg(long, allow_negative_numbers = true)]
    pub bandwidth_gbps: Option<f64>,
    /// A Python with PyTorch: time the same cases with torch and add a comparison column.
    #[arg(long, value_name = "PYTHON")]
    pub torch: Option<PathBuf>,
    /// Rounds: time glassgrad's cases, then (with `--torch`) PyTorch's, N times alternately, and
    /// report each side's best median.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub rounds: usize,
    /// Draw a roofline plot (PNG): intensity against GFLOP/s, the two roofs, one point per case.
    #[arg(long, value_name = "FILE.png")]
    pub roofline: Option<PathBuf>,
    /// Replace the `--roofline` file if it exists (by default an existing file is an error).
    #[arg(long)]
    pub overwrite: bool,
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
    for (flag, value) in [("--peak-gflops", args.peak_gflops), ("--bandwidth-gbps", args.bandwidth_gbps)] {
        if let Some(p) = value
            && !(p.is_finite() && p > 0.0)
        {
            return Err(Error::invalid("bench", format!("{flag} must be positive, got {p}")));
        }
    }
    if args.rounds == 0 {
        return Err(Error::invalid("bench", "--rounds must be at least 1"));
    }
    if let Some(path) = &args.roofline {
        check_output(path, args.overwrite)?;
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
            eprintln!("measuring the fp32 peak of every instruction set (FMA loop, one thread)...");
            Peak::measure(threads)
        }
    };
    let bandwidth = match (args.bandwidth_gbps, on_cuda) {
        (Some(b), _) => Some(Bandwidth::given(b, threads)),
        (None, true) => {
            eprintln!("note: no memory roof on cuda (the triad measures the host; pass --bandwidth-gbps)");
            None
        }
        (None, false) => {
            eprintln!("measuring the memory bandwidth (triad, {threads} threads)...");
            Some(Bandwidth::measure(threads))
        }
    };
    let machine = Machine { peak, bandwidth };
    let opts = Options {
        samples: args.samples.max(1),
        case_budget: std::time::Duration::from_millis(args.budget_ms),
        ..Options::default()
    };
    if args.torch.is_none() {
        eprintln!("note: no PyTorch column (pass --torch PYTHON, a Python with torch, to add one)");
    }
    let plan = Plan {
        rounds: args.rounds,
        threads,
        device: if on_cuda { "cuda:0" } else { "cpu" },
        torch: args.torch.as_deref(),
        torch_device: if on_cuda { "cuda" } else { "cpu" },
    };
    let results = run_rounds(&selected, &opts, &machine, &plan)?;
    if args.json {
        for r in &results {
            println!("{}", report::json_line(r, &machine));
        }
    } else {
        print!("{}", report::table(&results, &machine));
    }
    if let Some(path) = &args.roofline {
        plot::draw_roofline(path, &results, &machine)?;
        eprintln!("roofline plot: {}", path.display());
    }
    Ok(())
}

/// Errors unless `path` may be written: its folder exists, it ends in `.png`, and it does not exist
/// yet or `overwrite` is set (a previous run's results are never replaced unasked).
pub fn check_output(path: &Path, overwrite: bool) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()).is_none_or(|e| !e.eq_ignore_ascii_case("png")) {
        return Err(Error::file(path, "the roofline plot is a PNG: give a FILE.png"));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::file(path, format!("the folder {} does not exist", dir.display())));
    }
    if path.exists() && !overwrite {
        return Err(Error::file(
            path,
            "exists already (a previous run's plot?); pass --overwrite to replace it",
        ));
    }
    Ok(())
}
