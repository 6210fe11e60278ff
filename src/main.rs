//! The `glassgrad` command. Results go to stdout, progress to stderr; a command's last human line
//! states its headline figure as `<what>: <value>`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Time the kernels: median ms, GFLOP/s (or GB/s), share of the fp32 peak, PyTorch side by side.
    Bench(glassgrad::bench::BenchArgs),
}

fn tour() {
    println!(
        "glassgrad {} — every kernel a formula you can read, verify, step through and time.\n",
        env!("CARGO_PKG_VERSION")
    );
    println!("Commands:");
    println!("  glassgrad tour              this text");
    println!("  glassgrad bench             time the kernels (GFLOP/s, share of peak, --torch PYTHON)");
    println!("\nRun `glassgrad --help` for every command and its options.");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Tour) => {
            tour();
            ExitCode::SUCCESS
        }
        Some(Command::Bench(args)) => match glassgrad::bench::run_cli(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
