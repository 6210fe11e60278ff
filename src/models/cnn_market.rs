//! The document's CNN (listing 1.4.1, [`SeedCnn`], unchanged: exact $3 \times 28 \times 28$ input,
//! 10 outputs) on market data: S&P 500 price windows drawn as Gramian Angular Fields
//! ([`crate::data::gaf`]), the label the decile of the next week's return.
//!
//! ## Samples
//! Trading days $d = 0, 1, \dots$ carry close $c_d$, high $h_d$, low $l_d$ and volume $v_d$. The
//! sample ending on day $t$ has
//! - **input** days $t-27, \dots, t$ ($W = 28$), three channels, each the GASF image
//!   ([`crate::data::gaf::gasf`], min–max scaled within the window) of
//!   $(c_d)$, the range $(h_d - l_d)$ and $(v_d)$;
//! - **label window** days $t+1, \dots, t+5$ ($H = 5$) and return
//!   $R_t = \ln(c_{t+5} / c_t)$;
//! - **label** $y_t = \#\{k : e_k \le R_t\} \in \{0, \dots, 9\}$, its decile, where
//!   $e_1 < \dots < e_9$ are the $k/10$ quantiles of $R$ over the **training samples only**
//!   ([`quantile_edges`], [`bucket`]).
//!
//! ## Chronological split (no leakage)
//! Let $s$ be the first day on or after `start` (1962-01-02) and $\kappa$ the first day on or after
//! the cut (2010-01-04, the first trading day of 2010).
//! - **Training**: $t - 27 \ge s$ and $t + 5 < \kappa$: the whole label window ends before 2010.
//! - **Test**: $t - 27 \ge \kappa + 5$ and $t + 5$ inside the data: the test inputs start 5
//!   trading days after the cut. Days $\kappa, \dots, \kappa+4$ feed no sample at all — an
//!   embargo as long as the label horizon — and no window (input or label) straddles the cut.
//!
//! So every number a training feature, label or decile edge reads is a day before $\kappa$;
//! `tests/cnn_market.rs` perturbs every day from $\kappa$ on and checks that those stay
//! bit-identical.
//!
//! ## Why start in 1962
//! In this file every day from 1950-01-03 to 1961-12-29 (3,018 days) has
//! Open = High = Low = Close: the index was recorded once a day, so the high–low range is 0 and its
//! GASF channel would be the constant $-1$ image for twelve years. From 1962-01-02 on, high and
//! low are real intraday figures (only 37 later days, e.g. 9–31 Dec 1971, repeat the close; a
//! window holding one just sees a range of 0 on that day). Volume is positive on every day of the
//! file, so it needs no care (its level grows 1,000-fold over the years, which the per-window
//! scaling removes). Starting in 1962 keeps all three channels informative; it leaves 1962–2009
//! (≈ 12,000 training samples) and 2010–2018 (≈ 2,200 test samples).
//!
//! ## What the images can and cannot say
//! Each channel is scaled within its own window, so the images show *shapes* (where in the window
//! the highs, the wide days and the busy days fall), never levels: a calm window and a violent one
//! with the same shape give the same image. The volatility regime, which drives how wide next
//! week's return is and so which deciles it falls in, is therefore invisible to the network. A
//! near-baseline result is the expected, honest outcome.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::cnn::{EpochReport, SeedCnn};
use crate::autograd::no_grad;
use crate::data::DataLoader;
use crate::data::csv::{CsvOptions, read_csv};
use crate::data::gaf::gasf;
use crate::data::market::{bucket, quantile_edges};
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::ops::loss::Reduction;
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};
use crate::train::{ClassifierData, Defaults, FinalMetrics, Hyper, Reporter, TrainJob, fit_classifier};

/// Days per input window (the image side).
pub const WINDOW: usize = 28;
/// Trading days from the last input day to the day whose close the label return reads.
pub const HORIZON: usize = 5;
/// Deciles.
pub const CLASSES: usize = 10;
/// Close, high–low range, volume.
pub const CHANNELS: usize = 3;

/// One trading day of the S&P 500 file.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub close: f64,
    pub high: f64,
    pub low: f64,
    pub volume: f64,
}

/// Reads `Date, High, Low, Adj.Close, Volume` from the S&P 500 CSV (plain or `.gz`), in date order.
/// (`Adj.Close` equals `Close` on every row of the bundled file.) A missing column, an unreadable
/// or non-positive close, high < low, a negative volume or a non-increasing date is an error naming
/// the file and line.
pub fn load_bars(path: impl AsRef<Path>) -> Result<Vec<Bar>> {
    let path = path.as_ref();
    let table = read_csv(path, CsvOptions::default())?;
    let headers = table.headers.clone().unwrap_or_default();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::file(path, format!("no column {name:?} in the header {headers:?}")))
    };
    let cols = [col("Date")?, col("Adj.Close")?, col("High")?, col("Low")?, col("Volume")?];
    let mut bars: Vec<Bar> = Vec::with_capacity(table.rows.len());
    for (r, (row, line)) in table.rows.iter().zip(&table.lines).enumerate() {
        let bad = |what: &str| Error::file(path, format!("line {line}: {what}"));
        let num = |c: usize| table.number(path, r, c);
        let date = row.get(cols[0]).ok_or_else(|| bad("missing date"))?.clone();
        let bar = Bar {
            close: num(cols[1])?,
            high: num(cols[2])?,
            low: num(cols[3])?,
            volume: num(cols[4])?,
            date,
        };
        if bar.close <= 0.0 || bar.high < bar.low || bar.volume < 0.0 {
            return Err(bad("needs close > 0, high ≥ low and volume ≥ 0"));
        }
        if bars.last().is_some_and(|b| b.date >= bar.date) {
            return Err(bad("dates must increase"));
        }
        bars.push(bar);
    }
    Ok(bars)
}

/// Where the data set starts and is cut (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct MarketGafConfig {
    /// First day an input window may read (`YYYY-MM-DD`; default 1962-01-01, see the module docs).
    pub start: String,
    /// Training label windows end before this date; test inputs start [`HORIZON`] trading days
    /// after the first day on or after it (default 2010-01-01).
    pub cut: String,
    /// Keep every `train_stride`-th training sample (by end day, from the first); 1 keeps all.
    /// Neighbouring windows share 27 of 28 days, so a stride of 2 costs little information and
    /// halves the epoch time. The decile edges always use every training sample.
    pub train_stride: usize,
}

impl Default for MarketGafConfig {
    fn default() -> Self {
        MarketGafConfig { start: "1962-01-01".into(), cut: "2010-01-01".into(), train_stride: 1 }
    }
}

/// The samples of one side of the split.
#[derive(Debug, Clone, Default)]
pub struct GafSamples {
    /// $(n, 3, 28, 28)$ row-major f32: the GASF images of close, range and volume.
    pub x: Vec<f32>,
    /// $(n)$ deciles 0–9.
    pub y: Vec<i64>,
    /// $R_t$ of each sample.
    pub returns: Vec<f64>,
    /// $t$, the last input day of each sample (an index into the bars).
    pub end_day: Vec<usize>,
}

impl GafSamples {
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// `(x (n, 3, 28, 28) f32, y (n) i64)`.
    pub fn tensors(&self) -> Result<(Tensor, Tensor)> {
        Ok((
            Tensor::from_vec(self.x.clone(), &[self.len(), CHANNELS, WINDOW, WINDOW])?,
            Tensor::from_vec(self.y.clone(), &[self.len()])?,
        ))
    }
    /// The number of samples in each class.
    pub fn counts(&self) -> [usize; CLASSES] {
        let mut c = [0; CLASSES];
        for &y in &self.y {
            c[y as usize] += 1;
        }
        c
    }
    /// The share of samples labelled `class`.
    pub fn share(&self, class: usize) -> f64 {
        self.counts().get(class).copied().unwrap_or(0) as f64 / self.len().max(1) as f64
    }
}

/// The built data set.
#[derive(Debug, Clone)]
pub struct MarketGaf {
    /// $e_1, \dots, e_9$, from the training samples' returns.
    pub edges: Vec<f64>,
    pub train: GafSamples,
    pub test: GafSamples,
    /// $s$ and $\kappa$ (module docs), indices into the bars.
    pub start_day: usize,
    pub cut_day: usize,
}

/// The three GASF channels of the window ending on day `t` (`t + 1 >= WINDOW`), as
/// $3 \cdot 28 \cdot 28$ f32 values.
pub fn encode_window(bars: &[Bar], t: usize) -> Result<Vec<f32>> {
    if t >= bars.len() || t + 1 < WINDOW {
        return Err(Error::invalid(
            "encode_window",
            format!("day {t} cannot end a {WINDOW}-day window in {} days", bars.len()),
        ));
    }
    let days = &bars[t + 1 - WINDOW..=t];
    let series: [Vec<f64>; CHANNELS] = [
        days.iter().map(|b| b.close).collect(),
        days.iter().map(|b| b.high - b.low).collect(),
        days.iter().map(|b| b.volume).collect(),
    ];
    let mut out = Vec::with_capacity(CHANNELS * WINDOW * WINDOW);
    for s in &series {
        out.extend(gasf(s)?.into_iter().map(|g| g as f32));
    }
    Ok(out)
}

/// Builds the samples, labels and split of the module docs from `bars` (date order).
pub fn build_market_gaf(bars: &[Bar], config: &MarketGafConfig) -> Result<MarketGaf> {
    let op = "build_market_gaf";
    let first_on_or_after = |date: &str| bars.partition_point(|b| b.date.as_str() < date);
    let (start_day, cut_day) = (first_on_or_after(&config.start), first_on_or_after(&config.cut));
    if config.train_stride == 0 {
        return Err(Error::invalid(op, "train_stride must be at least 1"));
    }
    // Training: t - 27 >= s and t + H < κ.
    let train_t: Vec<usize> = (start_day + WINDOW - 1..cut_day.saturating_sub(HORIZON)).collect();
    // Test: t - 27 >= κ + H and t + H <= n - 1.
    let test_t: Vec<usize> = (cut_day + HORIZON + WINDOW - 1..bars.len().saturating_sub(HORIZON)).collect();
    if train_t.is_empty() || test_t.is_empty() {
        return Err(Error::invalid(
            op,
            format!(
                "{} days from {} with the cut at {}: no training or no test samples",
                bars.len(),
                config.start,
                config.cut
            ),
        ));
    }
    let ret = |t: usize| (bars[t + HORIZON].close / bars[t].close).ln();
    let train_returns: Vec<f64> = train_t.iter().map(|&t| ret(t)).collect();
    let edges = quantile_edges(&train_returns, CLASSES)?;
    let make = |ts: &[usize]| -> Result<GafSamples> {
        let mut s = GafSamples::default();
        for &t in ts {
            s.x.extend(encode_window(bars, t)?);
            let r = ret(t);
            s.y.push(bucket(r, &edges));
            s.returns.push(r);
            s.end_day.push(t);
        }
        Ok(s)
    };
    let kept: Vec<usize> = train_t.iter().copied().step_by(config.train_stride).collect();
    Ok(MarketGaf { train: make(&kept)?, test: make(&test_t)?, edges, start_day, cut_day })
}

/// Settings of [`train_cnn_market`].
///
/// Defaults (fixed before the first run, not tuned on the test period): Adam at $10^{-3}$ decayed
/// ×0.8 per epoch, batches of 64, 6 epochs on every training sample — about 1 minute on 2 cores.
/// The network fits noise after two or three epochs: the training accuracy climbs (0.26 after 6)
/// while the test accuracy stays near the constant predictors'.
#[derive(Debug, Clone)]
pub struct CnnMarketConfig {
    /// The S&P 500 CSV (default `data/sp500_daily_1950_2018.csv.gz`).
    pub data_path: PathBuf,
    pub dataset: MarketGafConfig,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// The learning rate is multiplied by this after every epoch.
    pub lr_decay: f64,
    /// Seeds the initialisation and the shuffling.
    pub seed: u64,
}

impl Default for CnnMarketConfig {
    fn default() -> Self {
        CnnMarketConfig {
            data_path: PathBuf::from("data/sp500_daily_1950_2018.csv.gz"),
            dataset: MarketGafConfig::default(),
            epochs: 6,
            batch_size: 64,
            lr: 1e-3,
            lr_decay: 0.8,
            seed: 0,
        }
    }
}

/// The class every constant predictor would pick from the training labels: the most frequent
/// (the lowest such class on a tie).
pub fn majority_class(s: &GafSamples) -> usize {
    let c = s.counts();
    (0..CLASSES).fold(0, |best, k| if c[k] > c[best] { k } else { best })
}

/// The outcome of [`train_cnn_market`].
pub struct CnnMarketReport {
    pub epochs: Vec<EpochReport>,
    /// Test accuracy after the last epoch (no epoch is chosen by its test figure).
    pub test_accuracy: f64,
    /// The training majority class and its accuracy on the test samples.
    pub majority_class: usize,
    pub majority_accuracy: f64,
    /// The best any constant prediction could do on the test samples, chosen with hindsight
    /// (the largest test class share): not a fair baseline, an upper bound for constants.
    pub best_constant_accuracy: f64,
    /// The share of each class among the test labels and among the final model's predictions.
    pub test_shares: [f64; CLASSES],
    pub predicted_shares: [f64; CLASSES],
    pub n_train: usize,
    pub n_test: usize,
    pub seconds: f64,
}

/// The arg-max predictions of `model` (eval mode, no tape) for `x`, 500 rows at a time.
pub fn predict(model: &dyn Module, x: &Tensor) -> Result<Vec<i64>> {
    let n = x.shape()[0];
    let mut out = Vec::with_capacity(n);
    no_grad(|| -> Result<()> {
        for start in (0..n).step_by(500) {
            let logits = model.forward(&x.narrow(0, start, 500.min(n - start))?)?;
            out.extend(logits.argmax(Some(1), false)?.to_vec::<i64>()?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Trains [`SeedCnn`] on the GAF data set (module docs), calling `on_epoch` after each epoch.
/// Set the thread count before calling.
pub fn train_cnn_market(
    config: &CnnMarketConfig,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<CnnMarketReport> {
    let started = Instant::now();
    if config.batch_size == 0 {
        return Err(Error::invalid("train_cnn_market", "batch_size must be at least 1"));
    }
    let data = build_market_gaf(&load_bars(&config.data_path)?, &config.dataset)?;
    let (x_train, y_train) = data.train.tensors()?;
    let (x_test, _) = data.test.tensors()?;
    let mut rng = Generator::new(config.seed);
    let mut model = SeedCnn::new(DType::F32, &mut rng)?;
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::new(config.lr))?;
    let mut loader = DataLoader::new(vec![x_train, y_train], config.batch_size)?.shuffle(config.seed);
    let accuracy = |pred: &[i64], y: &[i64]| {
        pred.iter().zip(y).filter(|(p, y)| p == y).count() as f64 / y.len().max(1) as f64
    };
    let mut epochs = Vec::with_capacity(config.epochs);
    let mut pred = Vec::new();
    for epoch in 1..=config.epochs {
        let t0 = Instant::now();
        model.train();
        let (mut loss_sum, mut hits, mut seen) = (0.0, 0usize, 0usize);
        for batch in loader.iter() {
            let batch = batch?;
            let (x, y) = (&batch[0], &batch[1]);
            optimizer.zero_grad();
            let logits = model.forward(x)?;
            let loss = logits.cross_entropy(y, Reduction::Mean)?;
            loss.backward()?;
            optimizer.step()?;
            let n = y.shape()[0];
            loss_sum += loss.item()? * n as f64;
            let p = logits.argmax(Some(1), false)?.to_vec::<i64>()?;
            hits += p.iter().zip(y.to_vec::<i64>()?).filter(|(a, b)| **a == *b).count();
            seen += n;
        }
        model.eval();
        pred = predict(&model, &x_test)?;
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: hits as f64 / seen.max(1) as f64,
            test_accuracy: accuracy(&pred, &data.test.y),
            seconds: t0.elapsed().as_secs_f64(),
        };
        on_epoch(&report);
        optimizer.set_lr(optimizer.lr() * config.lr_decay);
        epochs.push(report);
    }
    if pred.is_empty() {
        model.eval();
        pred = predict(&model, &x_test)?;
    }
    let majority = majority_class(&data.train);
    let n_test = data.test.len();
    let mut test_shares = [0.0; CLASSES];
    let mut predicted_shares = [0.0; CLASSES];
    for k in 0..CLASSES {
        test_shares[k] = data.test.share(k);
        predicted_shares[k] = pred.iter().filter(|&&p| p == k as i64).count() as f64 / n_test.max(1) as f64;
    }
    Ok(CnnMarketReport {
        test_accuracy: accuracy(&pred, &data.test.y),
        majority_class: majority,
        majority_accuracy: data.test.share(majority),
        best_constant_accuracy: test_shares.iter().copied().fold(0.0, f64::max),
        test_shares,
        predicted_shares,
        n_train: data.train.len(),
        n_test,
        epochs,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The `cnn-market` entry of `glassgrad train` / `glassgrad eval`: [`SeedCnn`] on GAF images of the
/// bundled S&P 500 file, trained on 1962–2009, tested on 2010–2018 (module docs). Its figures add
/// `majority_baseline` (the training majority class's test accuracy) to the classifier's.
pub struct CnnMarketJob;

impl TrainJob for CnnMarketJob {
    fn name(&self) -> &'static str {
        "cnn-market"
    }
    fn about(&self) -> &'static str {
        "the document's CNN on S&P 500 windows as Gramian Angular Fields, next-week return decile (train ≤2009, test 2010-18)"
    }
    fn defaults(&self) -> Defaults {
        Defaults {
            epochs: 6,
            batch_size: 64,
            lr: 1e-3,
            lr_decay: 0.8,
            data: "data/sp500_daily_1950_2018.csv.gz",
        }
    }
    fn train(&self, hp: &Hyper, resume: Option<&Path>, rep: &mut Reporter) -> Result<FinalMetrics> {
        let data = build_market_gaf(&load_bars(&hp.data)?, &MarketGafConfig::default())?;
        crate::data::split::check_split_sides(
            &format!("{} (split by dates)", hp.data.display()),
            &[("training", data.train.len()), ("test", data.test.len())],
            None,
        )?;
        let (train_x, train_y) = data.train.tensors()?;
        let (test_x, test_y) = data.test.tensors()?;
        let split = ClassifierData { train_x, train_y, test_x, test_y };
        let mut model = SeedCnn::new(DType::F32, &mut Generator::new(hp.seed))?;
        let mut opt = Adam::new(model.parameters(), AdamConfig::new(hp.lr))?;
        let mut m = fit_classifier(self.name(), &mut model, &mut opt, &split, hp, resume, rep)?;
        m.values.push(("majority_baseline".into(), data.test.share(majority_class(&data.train)).into()));
        Ok(m)
    }
    fn eval(&self, checkpoint: &Path, data: &Path) -> Result<FinalMetrics> {
        // The test samples of `data` (the same cut as training).
        let d = build_market_gaf(&load_bars(data)?, &MarketGafConfig::default())?;
        let (x, y) = d.test.tensors()?;
        let mut model = SeedCnn::new(DType::F32, &mut Generator::new(0))?;
        let on = format!("the test windows (2010 on) of {}", data.display());
        crate::train::eval_classifier(self.name(), &mut model, checkpoint, &x, &y, &on)
    }
}
