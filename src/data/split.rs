//! Splitting rows into train / validation / test sets, and stratified k-fold cross-validation.
//! Seeded: the same seed gives the same split on any machine.
//!
//! - [`train_val_test_split`]: a random permutation $\pi$ of $0..N$; the first $N - n_v - n_t$
//!   rows train, the next $n_v = \lfloor N f_v \rceil$ validate, the last $n_t = \lfloor N f_t \rceil$ test.
//! - [`stratified_train_val_test_split`]: the same within each class, so every part keeps the
//!   class proportions (up to rounding).
//! - [`stratified_k_fold`]: each class's rows, shuffled, are dealt round-robin into $k$ folds
//!   (continuing across classes), so fold sizes differ by at most one and each fold holds
//!   $\approx 1/k$ of every class; fold $j$ is the test set of split $j$, the other folds train.
//!
//! Every index list is sorted ascending.

use crate::error::{Error, Result};
use crate::rng::Generator;

/// The fewest rows a training run accepts on either side of a split: below it a held-out figure
/// (accuracy 1.0000 on one image) measures nothing, and a fold's AUC is undefined or noise.
pub const MIN_SPLIT_ROWS: usize = 10;

/// Checks that every side of a split (`(name, rows)`, e.g. `("training", 4)`, `("test", 1)`) of
/// `what` has at least [`MIN_SPLIT_ROWS`] rows. `smallest_fraction`, when the split is by
/// fraction, is the smallest side's share: the error then also says how many rows in all would
/// be enough, $\lceil 10 / f \rceil$.
pub fn check_split_sides(what: &str, sides: &[(&str, usize)], smallest_fraction: Option<f64>) -> Result<()> {
    let total: usize = sides.iter().map(|s| s.1).sum();
    if let Some((side, n)) = sides.iter().find(|s| s.1 < MIN_SPLIT_ROWS) {
        let mut msg = format!(
            "{what}: the split leaves {n} {side} rows of {total} in all; each side needs at least {MIN_SPLIT_ROWS}"
        );
        if let Some(f) = smallest_fraction.filter(|f| *f > 0.0) {
            let needed = (MIN_SPLIT_ROWS as f64 / f).ceil() as usize;
            msg.push_str(&format!(" (at this split, at least {needed} rows in all)"));
        }
        return Err(Error::invalid("split", msg));
    }
    Ok(())
}

/// Row indices of one split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

fn check_fractions(op: &'static str, val: f64, test: f64) -> Result<()> {
    if !(val >= 0.0 && test >= 0.0 && val + test < 1.0) {
        return Err(Error::invalid(
            op,
            format!("fractions val {val} and test {test} must be >= 0 with a sum < 1"),
        ));
    }
    Ok(())
}

fn cut(mut rows: Vec<usize>, val: f64, test: f64, out: &mut Split) {
    let n = rows.len();
    let n_test = (n as f64 * test).round() as usize;
    let n_val = ((n as f64 * val).round() as usize).min(n - n_test);
    let test_rows = rows.split_off(n - n_test);
    let val_rows = rows.split_off(n - n_test - n_val);
    out.train.extend(rows);
    out.val.extend(val_rows);
    out.test.extend(test_rows);
}

fn sorted(mut s: Split) -> Split {
    s.train.sort_unstable();
    s.val.sort_unstable();
    s.test.sort_unstable();
    s
}

/// A seeded random split of `n` rows with fractions `val` and `test` (the rest trains).
pub fn train_val_test_split(n: usize, val: f64, test: f64, seed: u64) -> Result<Split> {
    check_fractions("train_val_test_split", val, test)?;
    let mut out = Split { train: vec![], val: vec![], test: vec![] };
    cut(Generator::new(seed).permutation(n), val, test, &mut out);
    Ok(sorted(out))
}

/// The rows of each class in `labels` (classes `0..=max`), each list in ascending order.
fn by_class(labels: &[usize]) -> Vec<Vec<usize>> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut classes = vec![Vec::new(); k];
    for (i, &c) in labels.iter().enumerate() {
        classes[c].push(i);
    }
    classes
}

/// A split that keeps the class proportions of `labels` in every part.
pub fn stratified_train_val_test_split(labels: &[usize], val: f64, test: f64, seed: u64) -> Result<Split> {
    check_fractions("stratified_train_val_test_split", val, test)?;
    let mut rng = Generator::new(seed);
    let mut out = Split { train: vec![], val: vec![], test: vec![] };
    for mut rows in by_class(labels) {
        rng.shuffle(&mut rows);
        cut(rows, val, test, &mut out);
    }
    Ok(sorted(out))
}

/// `k` (train, test) splits with the class proportions of `labels` kept in every fold.
pub fn stratified_k_fold(labels: &[usize], k: usize, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > labels.len() {
        return Err(Error::invalid(
            "stratified_k_fold",
            format!("k = {k} folds needs 2 <= k <= the number of rows ({})", labels.len()),
        ));
    }
    let mut rng = Generator::new(seed);
    let mut fold_of = vec![0; labels.len()];
    let mut next = 0;
    for mut rows in by_class(labels) {
        rng.shuffle(&mut rows);
        for r in rows {
            fold_of[r] = next % k;
            next += 1;
        }
    }
    Ok((0..k)
        .map(|j| {
            let (test, train): (Vec<usize>, Vec<usize>) = (0..labels.len()).partition(|&i| fold_of[i] == j);
            (train, test)
        })
        .collect())
}
