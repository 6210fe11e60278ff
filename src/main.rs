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
    println!("  glassgrad check PATH...     run PyTorch conformance cases (tests/cases)");
    println!("\nRun `glassgrad --help` for every command and its options.");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Tour) => {
            tour();
            ExitCode::SUCCESS
        }
        Some(Command::Check { paths, device }) => check(&paths, device),
    }
}
