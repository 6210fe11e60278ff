//! The case list and `glassgrad bench` itself: select, time, compare with PyTorch, report.

use std::path::PathBuf;

use super::case::{Case, CaseResult, SEED};
use super::gpu::cuda_cases;
use super::kernels::{sgemm, softmax};
use super::peak::Peak;
use super::recommender::mf_train_step;
use super::sequence::sequence_cases;
use super::timing::{Options, time_run};
use super::{cnn, report, torch};
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
    /// Threads for rayon's pool, which the GEMM uses too (default: all logical CPUs).
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
