//! Listing 1.4.1 of the document, the CNN, as a Rust twin, trained on the bundled MNIST sample.
//!
//! ```text
//! cargo run --release --example cnn -- [DATA] [--epochs 10] [--seed 0] [--threads 2]
//!     [--lr 0.002] [--lr-decay 0.8] [--batch-size 64]
//! ```
//! DATA defaults to `data/mnist_5k.csv.gz` (5,000 rows: 784 pixels 0–255, then the label). The
//! first 4,000 images of a seeded permutation train, the other 1,000 are held out; the grey plane is
//! repeated to three channels so the listing's `Conv2d(3, 32, ...)` runs unchanged. Each epoch prints
//! the training loss and accuracy, the held-out accuracy and its seconds; the last line is
//! `held-out accuracy: 0.xxxx`.
//!
//! The model, `SeedCnn`, reads line for line like the PyTorch class:
//!
//! | PyTorch | glassgrad (`src/models/cnn.rs`) |
//! |---|---|
//! | `self.conv1 = nn.Conv2d(3, 32, kernel_size=3, padding=1)` | `conv1: Conv2d::new(3, 32, [3, 3], [1, 1], true, dtype, rng)?` |
//! | `self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)` | `conv2: Conv2d::new(32, 64, [3, 3], [1, 1], true, dtype, rng)?` |
//! | `self.pool = nn.MaxPool2d(kernel_size=2, stride=2)` | `pool: MaxPool2d::new([2, 2], [2, 2])` |
//! | `self.fc1 = nn.Linear(64 * 7 * 7, 128)` | `fc1: Linear::new(64 * 7 * 7, 128, true, dtype, rng)?` |
//! | `self.fc2 = nn.Linear(128, 10)` | `fc2: Linear::new(128, 10, true, dtype, rng)?` |
//! | `x = self.pool(F.relu(self.conv1(x)))` | `let x = self.pool.forward(&self.conv1.forward(x)?.relu()?)?;` |
//! | `x = self.pool(F.relu(self.conv2(x)))` | `let x = self.pool.forward(&self.conv2.forward(&x)?.relu()?)?;` |
//! | `x = x.view(-1, 64 * 7 * 7)` | `let x = x.reshape(&[-1, 64 * 7 * 7])?;` |
//! | `x = F.relu(self.fc1(x))` | `let x = self.fc1.forward(&x)?.relu()?;` |
//! | `x = self.fc2(x)` | `let x = self.fc2.forward(&x)?;` |
//!
//! and the training loop below is the document's usual one: for each batch, `zero_grad`, forward,
//! `CrossEntropyLoss`, `backward`, `step`. The optimizer is Adam (lr 2e-3, decayed ×0.8 per epoch);
//! `CnnTrainConfig` says why.

use std::path::PathBuf;
use std::process::ExitCode;

use glassgrad::models::cnn::{CnnTrainConfig, EpochReport, train_mnist};

fn usage() -> &'static str {
    "usage: cnn [DATA] [--epochs N] [--seed N] [--threads N] [--lr X] [--lr-decay X] [--batch-size N]"
}

fn parse(args: &[String]) -> Result<(CnnTrainConfig, usize), String> {
    let mut config = CnnTrainConfig::default();
    let mut threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut text = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        let int = |name: &str, v: String| -> Result<usize, String> {
            v.parse().map_err(|_| format!("{name}: {v:?} is not a non-negative integer"))
        };
        let float = |name: &str, v: String| -> Result<f64, String> {
            v.parse().map_err(|_| format!("{name}: {v:?} is not a number"))
        };
        let mut value = |name: &str| -> Result<usize, String> { int(name, text(name)?) };
        match a.as_str() {
            "--lr" => config.lr = float("--lr", text("--lr")?)?,
            "--lr-decay" => config.lr_decay = float("--lr-decay", text("--lr-decay")?)?,
            "--batch-size" => config.batch_size = value("--batch-size")?,
            "--epochs" => config.epochs = value("--epochs")?,
            "--seed" => config.seed = value("--seed")? as u64,
            "--threads" => threads = value("--threads")?,
            "-h" | "--help" => return Err(usage().to_string()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{}", usage())),
            path => config.data_path = PathBuf::from(path),
        }
    }
    Ok((config, threads))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, threads) = match parse(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = glassgrad::device::cpu::set_num_threads(threads) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "CNN (listing 1.4.1) on {}: {} training / {} held-out images, {} epochs, batch {}, Adam lr {} ×{} per epoch, seed {}, {threads} threads",
        config.data_path.display(),
        config.n_train,
        config.n_test,
        config.epochs,
        config.batch_size,
        config.lr,
        config.lr_decay,
        config.seed
    );
    let print_epoch = |e: &EpochReport| {
        println!(
            "epoch {:>2}  train loss {:.4}  train accuracy {:.4}  held-out accuracy {:.4}  {:.1} s",
            e.epoch, e.train_loss, e.train_accuracy, e.test_accuracy, e.seconds
        );
    };
    match train_mnist(&config, print_epoch) {
        Ok(report) => {
            println!("total {:.1} s", report.seconds);
            println!("held-out accuracy: {:.4}", report.test_accuracy);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
