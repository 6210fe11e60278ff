//! The `glassgrad` command. Results go to stdout, progress to stderr; a command's last human line
//! states its headline figure as `<what>: <value>`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

use glassgrad::Device;

#[derive(Parser)]
#[command(
    name = "glassgrad",
    version,
    about = "A deep-learning engine whose every kernel is a formula you can read, verify, step through and time."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print a short tour of what glassgrad can do.
    Tour,
    /// Check every op's gradient against central differences in f64 and print a table.
    Gradcheck {
        /// Only ops whose name contains this.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Print what this build and machine offer: version, threads, devices.
    Doctor,
    /// Write one output element of an op as its formula with the real numbers in it, then the
    /// engine's value beside the literal f64 reference.
    Trace {
        /// The op: matmul, linear, softmax, cross_entropy, conv2d, max_pool2d, rnn.
        op: String,
        /// Seed of the (small, rounded) random inputs.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run PyTorch conformance cases (files, or folders searched for *.safetensors): one PASS or
    /// FAIL line per case, then `N passed, M failed`. Exit status 0 all pass, 1 a failure,
    /// 2 a path that does not exist or holds no case.
    Check {
        /// Case files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Where to run the cases. Without the `cuda` feature, `cuda` fails every case.
        #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
        device: DeviceArg,
    },
    /// Time the kernels: median ms, GFLOP/s (or GB/s), share of the fp32 peak, PyTorch side by side.
    Bench(glassgrad::bench::BenchArgs),
    /// Train a model (digits; cnn, rnn, ... as they land): a progress bar per epoch on stderr,
    /// DIR/metrics.csv, DIR/curves.png, DIR/model.safetensors; the last line is the held-out figure.
    Train {
        /// The model to train.
        model: String,
        #[command(flatten)]
        args: glassgrad::train::TrainArgs,
    },
    /// Evaluate a saved model on a data file of its training data's layout.
    Eval {
        /// The model the checkpoint belongs to.
        model: String,
        #[command(flatten)]
        args: glassgrad::train::EvalArgs,
    },
    /// Train and compare recommenders (RMSE, MAE, precision/recall/NDCG@k, times). TEMPORARY
    /// name: to move under `train recommender`.
    Recommender(glassgrad::recsys::cli::RecommenderArgs),
}

fn gradcheck_table(filter: Option<&str>) -> ExitCode {
    let suite = glassgrad::autograd::suite::suite();
    println!("{:<20} {:>12} {:>12} {:>9}  pass", "op", "max_abs_err", "max_rel_err", "elements");
    let (mut passed, mut failed) = (0, 0);
    for case in suite.iter().filter(|c| filter.is_none_or(|f| c.op.contains(f))) {
        match (case.run)() {
            Ok(r) => {
                println!(
                    "{:<20} {:>12.3e} {:>12.3e} {:>9}  {}",
                    case.op,
                    r.max_abs_err,
                    r.max_rel_err,
                    r.checked,
                    if r.passed { "yes" } else { "NO" }
                );
                if r.passed { passed += 1 } else { failed += 1 }
            }
            Err(e) => {
                println!("{:<20} error: {e}", case.op);
                failed += 1;
            }
        }
    }
    println!("ops passing gradcheck: {passed}/{}", passed + failed);
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn doctor() -> ExitCode {
    println!("glassgrad {}", env!("CARGO_PKG_VERSION"));
    println!("cpu threads (rayon): {}", glassgrad::device::cpu::num_threads());
    println!("GEMM threads: rayon's (matrixmultiply without its own threads; MATMUL_NUM_THREADS is ignored)");
    println!("cuda: not compiled in (build with --features cuda once the CUDA backend lands)");
    println!("devices: cpu");
    ExitCode::SUCCESS
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

fn check(paths: &[PathBuf], device: DeviceArg) -> ExitCode {
    let device = match device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => Device::Cuda(0),
    };
    // Said once here; each case also FAILs with the same error.
    if let Err(e) = glassgrad::Tensor::scalar(0.0f32).to(&device) {
        eprintln!("glassgrad check: {device} is not usable, every case will fail: {e}");
    }
    let mut stdout = std::io::stdout().lock();
    match glassgrad::cases::check(paths, device, &mut stdout) {
        Ok(summary) => ExitCode::from(summary.exit_code()),
        Err(e) => {
            eprintln!("glassgrad check: {e}");
            ExitCode::from(2)
        }
    }
}

fn tour() {
    println!(
        "glassgrad {} — every kernel a formula you can read, verify, step through and time.\n",
        env!("CARGO_PKG_VERSION")
    );
    println!("Commands:");
    println!("  glassgrad tour              this text");
    println!("  glassgrad gradcheck         every op's gradient against finite differences (f64)");
    println!("  glassgrad doctor            what this build and machine offer");
    println!(
        "  glassgrad trace conv2d      a formula with the real numbers in it (matmul, softmax, rnn, ...)"
    );
    println!("  glassgrad check PATH...     run PyTorch conformance cases (tests/cases)");
    println!("  glassgrad bench             time the kernels (GFLOP/s, share of peak, --torch PYTHON)");
    println!("  glassgrad train cnn         train the document's CNN on the bundled MNIST (also: digits)");
    println!("  glassgrad eval cnn          evaluate a checkpoint on a data file (--checkpoint, --data)");
    println!("  glassgrad recommender       compare the recommenders (--algo all) on synthetic ratings");
    println!("\nStart with `glassgrad train cnn`; `glassgrad --help` lists every command and its options.");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    glassgrad::device::cpu::retain_freed_memory();
    match cli.command {
        None | Some(Command::Tour) => {
            tour();
            ExitCode::SUCCESS
        }
        Some(Command::Gradcheck { filter }) => gradcheck_table(filter.as_deref()),
        Some(Command::Doctor) => doctor(),
        Some(Command::Trace { op, seed }) => match glassgrad::trace::trace(&op, seed) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("glassgrad trace: {e}");
                ExitCode::from(2)
            }
        },
        Some(Command::Check { paths, device }) => check(&paths, device),
        Some(Command::Train { model, args }) => match glassgrad::train::train(&model, &args) {
            Ok(m) => {
                m.print(args.json);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("glassgrad train: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Eval { model, args }) => match glassgrad::train::eval(&model, &args) {
            Ok(m) => {
                m.print(args.json);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("glassgrad eval: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Recommender(args)) => match glassgrad::recsys::cli::run_cli(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Bench(args)) => match glassgrad::bench::run_cli(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
