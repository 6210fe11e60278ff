//! Listing 1.4.2, the RNN classifier (vocabulary 10, hidden 8, 2 classes), on the S&P 500:
//! will tomorrow close up, given the last 20 daily returns?
//!
//! The PyTorch listing and its bug:
//!
//! ```text
//! class RNN(nn.Module):
//!     def __init__(self, input_size, hidden_size, output_size):
//!         super(RNN, self).__init__()
//!         self.hidden_size = hidden_size
//!         self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
//!         self.fc = nn.Linear(hidden_size, output_size)
//!     def forward(self, x):
//!         h0 = torch.zeros(1, x.size(0), self.hidden_size)
//!         c0 = torch.zeros(1, x.size(0), self.hidden_size)   # bug: a plain RNN has no cell state
//!         out, _ = self.rnn(x, (h0, c0))
//!         out = self.fc(out[:, -1, :])
//!         return out
//! ```
//!
//! The twin is [`glassgrad::models::SeedRnn`] (embedding 10 → 8, `Rnn(8, 8)`, `Linear(8, 2)`):
//! its forward passes `h0` alone. Data ([`glassgrad::data::market`]): daily log-returns bucketed
//! into deciles (edges from the training period only) are the tokens, 20-day windows, label
//! next-day up or down; train up to 2005, validate 2006–2010, test 2011–2018, no window crossing a
//! cut. The epoch with the best validation accuracy is the one tested.
//!
//! Run: `cargo run --release --example rnn [-- path/to/sp500.csv.gz]`. `glassgrad train rnn` runs
//! the same protocol and settings through the train framework (checkpoints, curves, `--resume`).

use std::time::Instant;

use glassgrad::data::DataLoader;
use glassgrad::models::SeedRnn;
use glassgrad::models::rnn::market_tensors;
use glassgrad::nn::Module;
use glassgrad::ops::loss::Reduction;
use glassgrad::optim::{Adam, AdamConfig, Optimizer};
use glassgrad::{DType, Generator, Result, Tensor, no_grad};

fn accuracy(model: &SeedRnn, x: &Tensor, y: &Tensor) -> Result<f64> {
    let pred = no_grad(|| model.forward(x))?.argmax(Some(1), false)?;
    let (p, t) = (pred.to_vec::<i64>()?, y.to_vec::<i64>()?);
    Ok(p.iter().zip(&t).filter(|(a, b)| a == b).count() as f64 / t.len().max(1) as f64)
}

fn main() -> Result<()> {
    let start = Instant::now();
    let path = std::env::args().nth(1).unwrap_or_else(|| "data/sp500_daily_1950_2018.csv.gz".into());
    // The same data as `glassgrad train rnn` (which runs this protocol through the train framework).
    let m = market_tensors(&path)?;
    let data = &m.data;
    println!(
        "S&P 500; samples train {} / validate {} / test {}; decile edges of daily log-returns (train): {:?}",
        data.train.len(),
        data.validate.len(),
        data.test.len(),
        data.edges.iter().map(|e| format!("{e:+.4}")).collect::<Vec<_>>()
    );
    let (x_train, y_train) = m.train.clone();
    let (x_val, y_val) = m.validate.clone();
    let (x_test, y_test) = m.test.clone();

    let mut rng = Generator::new(0);
    let mut model = SeedRnn::listing(DType::F32, &mut rng)?;
    let mut opt = Adam::new(model.parameters(), AdamConfig::new(3e-3))?;
    let mut loader = DataLoader::new(vec![x_train.clone(), y_train.clone()], 64)?.shuffle(1);
    let (mut best_val, mut best_test, mut best_epoch) = (0.0, 0.0, 0);
    for epoch in 1..=15 {
        model.train();
        let (mut total, mut batches) = (0.0, 0);
        for batch in loader.iter() {
            let batch = batch?;
            let loss = model.forward(&batch[0])?.cross_entropy(&batch[1], Reduction::Mean)?;
            opt.zero_grad();
            loss.backward()?;
            opt.step()?;
            total += loss.item()?;
            batches += 1;
        }
        model.eval();
        let (val, test) = (accuracy(&model, &x_val, &y_val)?, accuracy(&model, &x_test, &y_test)?);
        if val > best_val {
            (best_val, best_test, best_epoch) = (val, test, epoch);
        }
        println!(
            "epoch {epoch:2}: train loss {:.4}, train acc {:.4}, validation acc {val:.4}",
            total / batches as f64,
            accuracy(&model, &x_train, &y_train)?
        );
    }
    // The majority class of the training period, predicted for every test day.
    let up_share = data.train.share(1);
    let majority = if up_share >= 0.5 { 1 } else { 0 };
    println!(
        "majority class of training (\"{}\", {:.1}% of train days): test accuracy {:.4}",
        if majority == 1 { "up" } else { "down" },
        100.0 * up_share.max(1.0 - up_share),
        data.test.share(majority)
    );
    println!("best validation accuracy {best_val:.4} at epoch {best_epoch}");
    println!("wall time: {:.1} s", start.elapsed().as_secs_f64());
    println!("test accuracy: {best_test:.4}");
    Ok(())
}
