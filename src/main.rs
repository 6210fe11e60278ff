//! The `glassgrad` command. Results go to stdout, progress to stderr; a command's last human line
//! states its headline figure as `<what>: <value>`.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
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

// `Train` carries every model's options; the enum is built once per process, so its size is moot.
#[allow(clippy::large_enum_variant)]
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
    /// CPU–CUDA agreement of every op with a CUDA kernel, forward and backward, f32 and f64: one
    /// line per check, then `N passed, M failed`. Exit 1 on a failure, 2 when the device is not usable.
    Selftest {
        /// The device to check against the CPU.
        #[arg(long, value_enum, default_value_t = DeviceArg::Cuda)]
        device: DeviceArg,
        /// Only checks whose name contains this.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Print what this build and machine offer: version, threads, CUDA driver, NVRTC and devices,
    /// and compile every CUDA kernel file with NVRTC (no GPU needed). Exits non-zero when a kernel
    /// does not compile, and with `--require-gpu` also when no GPU is usable.
    Doctor {
        /// Fail unless a CUDA device is usable.
        #[arg(long)]
        require_gpu: bool,
    },
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
    /// Train a model (`glassgrad train --help` lists the models and their defaults): a progress
    /// bar per epoch on stderr, DIR/metrics.csv, DIR/curves.png, DIR/model.safetensors; the last
    /// line is the headline figure.
    Train {
        /// The model to train.
        model: String,
        #[command(flatten)]
        args: glassgrad::jobs::TrainArgs,
    },
    /// Evaluate a saved model on a data file of its training data's layout; the last line says
    /// what was measured on which rows (`accuracy on FILE: …`; the file may hold training rows,
    /// so it is not called held out).
    Eval {
        /// The model the checkpoint belongs to.
        model: String,
        #[command(flatten)]
        args: glassgrad::jobs::EvalArgs,
    },
}

fn gradcheck_table(filter: Option<&str>) -> ExitCode {
    let suite = glassgrad::selftest::suite::suite();
    let selected: Vec<_> = suite.iter().filter(|c| filter.is_none_or(|f| c.op.contains(f))).collect();
    if selected.is_empty() {
        let ops: Vec<&str> = suite.iter().map(|c| c.op).collect();
        eprintln!(
            "error: gradcheck: no op matches --filter {:?}; ops: {}",
            filter.unwrap_or(""),
            ops.join(", ")
        );
        return ExitCode::from(2);
    }
    println!("{:<20} {:>12} {:>12} {:>9}  pass", "op", "max_abs_err", "max_rel_err", "elements");
    let (mut passed, mut failed) = (0, 0);
    for case in selected {
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

fn doctor(require_gpu: bool) -> ExitCode {
    println!("glassgrad {}", env!("CARGO_PKG_VERSION"));
    println!("cpu threads (rayon): {}", glassgrad::device::cpu::num_threads());
    let isa = glassgrad::device::cpu::gemm::Isa::chosen();
    let c = glassgrad::device::cpu::gemm::Caches::detect();
    println!(
        "cpu GEMM: packed, {} micro-kernels (GLASSGRAD_CPU_GEMM={}), on rayon's threads; caches L1d {} KiB, L2 {} KiB, L3 {} KiB",
        isa.name(),
        std::env::var("GLASSGRAD_CPU_GEMM").unwrap_or_else(|_| "auto (unset)".into()),
        c.l1 >> 10,
        c.l2 >> 10,
        c.l3 >> 10
    );
    let r = glassgrad::cuda::probe::report();
    let ver = |v: Option<(i32, i32)>| v.map(|(a, b)| format!(" {a}.{b}")).unwrap_or_default();
    println!("cuda feature: {}", if r.compiled { "compiled in" } else { "not compiled in" });
    if r.compiled {
        println!(
            "nvrtc: {}",
            if r.nvrtc { format!("found{}", ver(r.nvrtc_version)) } else { "not found".into() }
        );
        println!(
            "driver: {}",
            if r.driver { format!("found, CUDA{}", ver(r.driver_version)) } else { "not found".into() }
        );
        println!(
            "cublas: {} (GEMM comparison path; GLASSGRAD_GEMM={})",
            if glassgrad::cuda::probe::cublas_present() { "found" } else { "not found" },
            std::env::var("GLASSGRAD_GEMM").unwrap_or_else(|_| "own (unset)".into())
        );
        let inc = glassgrad::cuda::check_kernels_include_paths();
        println!("NVRTC_INCLUDE_PATH: {}", if inc.is_empty() { "unset".to_string() } else { inc.join(":") });
    }
    for (ordinal, name, (major, minor), mem) in &r.devices {
        println!(
            "device cuda:{ordinal}: {name}, compute capability {major}.{minor}, {:.1} GiB",
            *mem as f64 / (1u64 << 30) as f64
        );
    }
    for note in &r.notes {
        println!("note: {note}");
    }
    let mut failed = 0;
    match glassgrad::cuda::check_kernels("compute_90") {
        Ok(checks) => {
            for c in &checks {
                match &c.result {
                    Ok((names, ms)) => {
                        println!("kernel {}.cu: ok, {} kernels, {ms:.0} ms", c.stem, names.len())
                    }
                    Err(log) => {
                        failed += 1;
                        println!("kernel {}.cu: FAILED\n{log}", c.stem);
                    }
                }
            }
            println!("kernels: {} of {} files compile for compute_90", checks.len() - failed, checks.len());
        }
        Err(why) => {
            println!("kernels: {} files, not compiled here ({why})", glassgrad::cuda::sources::FILES.len())
        }
    }
    let devices: Vec<String> =
        std::iter::once("cpu".to_string()).chain(r.devices.iter().map(|d| format!("cuda:{}", d.0))).collect();
    println!("devices: {}", devices.join(", "));
    if failed > 0 {
        eprintln!("glassgrad doctor: {failed} kernel file(s) do not compile");
        return ExitCode::FAILURE;
    }
    if require_gpu && r.devices.is_empty() {
        eprintln!("glassgrad doctor: --require-gpu given but no CUDA device is usable");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

fn selftest(device: DeviceArg, filter: Option<&str>) -> ExitCode {
    let device = match device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => {
            if let Some(why) = glassgrad::selftest::skip_reason() {
                eprintln!("glassgrad selftest: cuda is not usable here: {why}");
                return ExitCode::from(2);
            }
            Device::Cuda(0)
        }
    };
    let outcomes = glassgrad::selftest::run(&device, filter);
    if outcomes.is_empty() {
        eprintln!("error: selftest: no check matches --filter {:?}", filter.unwrap_or(""));
        return ExitCode::from(2);
    }
    let mut failed = 0;
    for o in &outcomes {
        let verdict = if o.passed() { "PASS" } else { "FAIL" };
        failed += usize::from(!o.passed());
        match &o.error {
            None => println!("{verdict} {:<40} max rel diff {:.2e} (tol {:.0e})", o.name, o.max_err, o.tol),
            Some(e) => println!("{verdict} {:<40} {e}", o.name),
        }
    }
    println!("{} passed, {failed} failed ({device} against cpu)", outcomes.len() - failed);
    if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
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
            eprintln!("{}", error_line("check", &e));
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
    let others: Vec<&str> =
        glassgrad::jobs::model_names().into_iter().filter(|m| *m != "cnn" && *m != "recommender").collect();
    println!(
        "  glassgrad train cnn         train the document's CNN on the bundled MNIST (also: {})",
        others.join(", ")
    );
    println!("  glassgrad eval cnn          evaluate a checkpoint on a data file (--checkpoint, --data)");
    println!("  glassgrad train recommender compare the recommenders (--algo all) on synthetic ratings");
    println!(
        "\nStart with `glassgrad train cnn`; `glassgrad --help` lists the commands, `glassgrad COMMAND --help`\n\
         its options (`glassgrad train --help`: every model and its defaults)."
    );
}

/// The line printed for a command's error: `glassgrad <command>: <error>`, without repeating the
/// command when the error already starts with it (`train: invalid argument: …` gives
/// `glassgrad train: invalid argument: …`, not `glassgrad train: train: …`).
fn error_line(command: &str, e: &dyn std::fmt::Display) -> String {
    let e = e.to_string();
    match e.strip_prefix(command) {
        Some(rest) if rest.starts_with(':') || rest.starts_with(' ') => format!("glassgrad {command}{rest}"),
        _ => format!("glassgrad {command}: {e}"),
    }
}

/// The command line, with `train --help` generated from the model registry.
fn parse() -> Cli {
    let cmd = Cli::command().mut_subcommand("train", glassgrad::jobs::train_command);
    Cli::from_arg_matches(&cmd.get_matches()).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse();
    glassgrad::device::cpu::retain_freed_memory();
    match cli.command {
        None | Some(Command::Tour) => {
            tour();
            ExitCode::SUCCESS
        }
        Some(Command::Gradcheck { filter }) => gradcheck_table(filter.as_deref()),
        Some(Command::Doctor { require_gpu }) => doctor(require_gpu),
        Some(Command::Trace { op, seed }) => match glassgrad::trace::trace(&op, seed) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}", error_line("trace", &e));
                ExitCode::from(2)
            }
        },
        Some(Command::Check { paths, device }) => check(&paths, device),
        Some(Command::Selftest { device, filter }) => selftest(device, filter.as_deref()),
        Some(Command::Train { model, args }) => match glassgrad::jobs::train_all(&model, &args) {
            Ok(results) => {
                glassgrad::train::print_all(&results, args.json);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}", error_line("train", &e));
                ExitCode::FAILURE
            }
        },
        Some(Command::Eval { model, args }) => match glassgrad::jobs::eval(&model, &args) {
            Ok(m) => {
                m.print(args.json);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}", error_line("eval", &e));
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

#[cfg(test)]
mod tests {
    use super::error_line;

    #[test]
    fn error_lines_name_the_command_once() {
        assert_eq!(
            error_line("train", &"train: invalid argument: x"),
            "glassgrad train: invalid argument: x"
        );
        assert_eq!(error_line("train", &"train --resume: bad"), "glassgrad train --resume: bad");
        assert_eq!(error_line("eval", &"eval credit: not available"), "glassgrad eval credit: not available");
        assert_eq!(error_line("train", &"data/x.csv: line 3"), "glassgrad train: data/x.csv: line 3");
        assert_eq!(error_line("train", &"trainer: x"), "glassgrad train: trainer: x");
    }
}
