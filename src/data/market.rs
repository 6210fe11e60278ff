//! The S&P 500 daily prices (`data/sp500_daily_1950_2018.csv.gz`) as a sequence task for
//! listing 1.4.2's RNN: daily log-returns, bucketed into deciles, are the tokens; the label is
//! whether the next day closes up.
//!
//! **Returns.** For trading days $d$ with adjusted closes $p_d$: $r_d = \ln(p_d / p_{d-1})$.
//!
//! **Tokens.** The 9 inner decile edges $e_1 < \dots < e_9$ are the $k/10$ quantiles of the
//! training period's returns only; a return's token is the number of edges below or at it,
//! $\text{tok}(r) = \#\{k : e_k \le r\} \in \{0, \dots, 9\}$ (vocabulary 10).
//!
//! **Samples.** A sample's label day is $d$: inputs are the tokens of $r_{d-W}, \dots, r_{d-1}$
//! ($W = 20$), label $y = \mathbf{1}_{r_d > 0}$ (1 = up).
//!
//! **Chronological split.** Each day belongs to a period by its year (train up to 2005, validate
//! 2006–2010, test 2011–2018). A sample belongs to the period holding its label day, and only
//! samples whose whole computation stays inside that period are made: every return it reads,
//! $r_{d-W}, \dots, r_d$, and every price those returns read, $p_{d-W-1}, \dots, p_d$. So no input
//! window reaches back across a cut, and nothing from a later period (not even the decile edges)
//! reaches an earlier one.

use std::path::Path;

use super::csv::{CsvOptions, read_csv};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// One trading day: its date (`YYYY-MM-DD`) and adjusted close.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub date: String,
    pub year: i32,
    pub adj_close: f64,
}

/// The periods of the chronological split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Train,
    Validate,
    Test,
}

/// The last year of the training and validation periods (the rest is test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitYears {
    pub train_last: i32,
    pub validate_last: i32,
}

impl Default for SplitYears {
    /// Train up to 2005, validate 2006–2010, test 2011 onward.
    fn default() -> Self {
        SplitYears { train_last: 2005, validate_last: 2010 }
    }
}

impl SplitYears {
    pub fn period(&self, year: i32) -> Period {
        if year <= self.train_last {
            Period::Train
        } else if year <= self.validate_last {
            Period::Validate
        } else {
            Period::Test
        }
    }
}

/// The samples of one period: `tokens` $(n, W)$ row-major, `labels` $(n)$, and for each sample
/// its label day and first price day (indices into the days), for checks.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub tokens: Vec<i64>,
    pub labels: Vec<i64>,
    pub label_day: Vec<usize>,
    pub first_day: Vec<usize>,
    pub window: usize,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// `(tokens (n, W) i64, labels (n) i64)` as tensors.
    pub fn tensors(&self) -> Result<(Tensor, Tensor)> {
        Ok((
            Tensor::from_vec(self.tokens.clone(), &[self.len(), self.window])?,
            Tensor::from_vec(self.labels.clone(), &[self.len()])?,
        ))
    }
    /// The share of samples labelled `class`.
    pub fn share(&self, class: i64) -> f64 {
        self.labels.iter().filter(|&&y| y == class).count() as f64 / self.len().max(1) as f64
    }
}

/// The market task: decile edges and the samples of each period.
#[derive(Debug, Clone)]
pub struct MarketData {
    pub edges: Vec<f64>,
    pub train: Samples,
    pub validate: Samples,
    pub test: Samples,
}

/// Reads the S&P 500 CSV (`Date,Open,High,Low,Close,Adj.Close,Volume`, plain or `.gz`), in date
/// order; an unreadable date or price is an error naming the file and line.
pub fn load_sp500(path: impl AsRef<Path>) -> Result<Vec<Day>> {
    let path = path.as_ref();
    let table = read_csv(path, CsvOptions::default())?;
    let headers = table.headers.clone().unwrap_or_default();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::file(path, format!("no column {name:?} in the header {headers:?}")))
    };
    let (c_date, c_close) = (col("Date")?, col("Adj.Close")?);
    let mut days = Vec::with_capacity(table.rows.len());
    for (r, (row, line)) in table.rows.iter().zip(&table.lines).enumerate() {
        let bad = |what: &str| Error::file(path, format!("line {line}: {what}"));
        let date = row.get(c_date).ok_or_else(|| bad("missing date"))?.clone();
        let year: i32 = date.get(..4).and_then(|y| y.parse().ok()).ok_or_else(|| bad("bad date"))?;
        let adj_close = table.number(path, r, c_close)?;
        if adj_close <= 0.0 {
            return Err(Error::file(
                path,
                format!("{}: {adj_close} is not a positive price", table.place(r, c_close)),
            ));
        }
        if days.last().is_some_and(|d: &Day| d.date >= date) {
            return Err(bad("dates must increase"));
        }
        days.push(Day { date, year, adj_close });
    }
    Ok(days)
}

/// $r_d = \ln(p_d / p_{d-1})$ for $d = 1, \dots, n-1$ (index $d - 1$ of the result).
pub fn log_returns(prices: &[f64]) -> Vec<f64> {
    prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

/// The $k/q$ quantiles, $k = 1, \dots, q-1$, of `values` (linear interpolation between order
/// statistics, as `numpy.quantile`'s default).
pub fn quantile_edges(values: &[f64], q: usize) -> Result<Vec<f64>> {
    if values.is_empty() || q < 2 {
        return Err(Error::invalid(
            "quantile_edges",
            format!("needs values ({}) and q ≥ 2 ({q})", values.len()),
        ));
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Ok((1..q)
        .map(|k| {
            let pos = (n - 1) as f64 * k as f64 / q as f64;
            let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
            let hi = (lo + 1).min(n - 1);
            v[lo] + frac * (v[hi] - v[lo])
        })
        .collect())
}

/// $\text{tok}(r) = \#\{k : e_k \le r\}$.
pub fn bucket(r: f64, edges: &[f64]) -> i64 {
    edges.partition_point(|&e| e <= r) as i64
}

/// Builds the market task from `days` with windows of `window` returns (see the module docs).
pub fn market_dataset(days: &[Day], window: usize, split: SplitYears) -> Result<MarketData> {
    if window == 0 || days.len() < window + 2 {
        return Err(Error::invalid(
            "market_dataset",
            format!("{} days cannot make windows of {window}", days.len()),
        ));
    }
    let period: Vec<Period> = days.iter().map(|d| split.period(d.year)).collect();
    let prices: Vec<f64> = days.iter().map(|d| d.adj_close).collect();
    // r[d] for day d ≥ 1 (r[0] unused); a return is "inside" when both its prices share a period.
    let mut r = vec![0.0];
    r.extend(log_returns(&prices));
    let inside = |d: usize| d >= 1 && period[d] == period[d - 1];
    let train_returns: Vec<f64> =
        (1..days.len()).filter(|&d| inside(d) && period[d] == Period::Train).map(|d| r[d]).collect();
    let edges = quantile_edges(&train_returns, 10)?;
    let mut out = [Samples::default(), Samples::default(), Samples::default()];
    for s in out.iter_mut() {
        s.window = window;
    }
    for d in (window + 1)..days.len() {
        // Prices p_{d-W-1} .. p_d must all lie in the label day's period.
        let first = d - window - 1;
        if period[first] != period[d] {
            continue;
        }
        let s = &mut out[match period[d] {
            Period::Train => 0,
            Period::Validate => 1,
            Period::Test => 2,
        }];
        s.tokens.extend((d - window..d).map(|k| bucket(r[k], &edges)));
        s.labels.push(i64::from(r[d] > 0.0));
        s.label_day.push(d);
        s.first_day.push(first);
    }
    let [train, validate, test] = out;
    Ok(MarketData { edges, train, validate, test })
}
