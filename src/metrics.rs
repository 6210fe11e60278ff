//! Evaluation metrics on plain slices (predictions and targets, as `f64` scores or class indices).
//!
//! Binary metrics take the positive class as `true` / `1`. With the confusion counts
//! $TP, FP, TN, FN$:
//!
//! | metric | formula |
//! |---|---|
//! | [`accuracy`] | $\frac1n \sum_i [\hat y_i = y_i]$ |
//! | [`confusion_matrix`] | $C_{jk} = \#\{i : y_i = j, \hat y_i = k\}$ (rows true, columns predicted) |
//! | [`precision`] | $TP / (TP + FP)$ (0 when nothing is predicted positive, as scikit-learn's default) |
//! | [`recall`] | $TP / (TP + FN)$ (0 when there are no positives) |
//! | [`f1`] | $2PR/(P + R)$ (0 when $P + R = 0$) |
//! | [`roc_auc`] | $\frac{1}{n_+ n_-}\sum_{i:y_i=1}\sum_{j:y_j=0}\big(\mathbf{1}_{s_i > s_j} + \tfrac12 \mathbf{1}_{s_i = s_j}\big)$, by ranks in $O(n\log n)$ |
//! | [`log_loss`] | $-\frac1n\sum_i \big[y_i \ln p_i + (1 - y_i)\ln(1 - p_i)\big]$, $p$ clipped to $[\epsilon, 1 - \epsilon]$, $\epsilon = 10^{-15}$ |
//! | [`rmse`] | $\sqrt{\frac1n \sum_i (\hat y_i - y_i)^2}$ |
//! | [`mae`] | $\frac1n \sum_i \lvert\hat y_i - y_i\rvert$ |
//!
//! ROC AUC is computed as the Mann–Whitney statistic: with $r_i$ the rank of $s_i$ among all
//! scores (ties get the average rank), $\text{AUC} = \big(\sum_{i:y_i=1} r_i - n_+(n_+ + 1)/2\big)/(n_+ n_-)$.

use crate::error::{Error, Result};

fn same_len(op: &'static str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::mismatch(op, &[a], &[b], "predictions and targets must have the same length"));
    }
    if a == 0 {
        return Err(Error::invalid(op, "needs at least one sample"));
    }
    Ok(())
}

/// The fraction of predictions equal to the target.
pub fn accuracy<T: PartialEq>(pred: &[T], target: &[T]) -> Result<f64> {
    same_len("accuracy", pred.len(), target.len())?;
    let hits = pred.iter().zip(target).filter(|(p, t)| p == t).count();
    Ok(hits as f64 / pred.len() as f64)
}

/// The `n_classes × n_classes` confusion matrix, `m[true][predicted]`.
pub fn confusion_matrix(pred: &[usize], target: &[usize], n_classes: usize) -> Result<Vec<Vec<usize>>> {
    same_len("confusion_matrix", pred.len(), target.len())?;
    let mut m = vec![vec![0; n_classes]; n_classes];
    for (&p, &t) in pred.iter().zip(target) {
        if p >= n_classes || t >= n_classes {
            return Err(Error::invalid(
                "confusion_matrix",
                format!("class {} is not in 0..{n_classes}", p.max(t)),
            ));
        }
        m[t][p] += 1;
    }
    Ok(m)
}

/// Binary confusion counts `(tp, fp, tn, fn)`.
pub fn binary_counts(pred: &[bool], target: &[bool]) -> Result<(usize, usize, usize, usize)> {
    same_len("binary_counts", pred.len(), target.len())?;
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (&p, &t) in pred.iter().zip(target) {
        match (p, t) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    Ok((tp, fp, tn, fn_))
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// $TP/(TP + FP)$ of the positive class.
pub fn precision(pred: &[bool], target: &[bool]) -> Result<f64> {
    let (tp, fp, _, _) = binary_counts(pred, target)?;
    Ok(ratio(tp, tp + fp))
}

/// $TP/(TP + FN)$ of the positive class.
pub fn recall(pred: &[bool], target: &[bool]) -> Result<f64> {
    let (tp, _, _, fn_) = binary_counts(pred, target)?;
    Ok(ratio(tp, tp + fn_))
}

/// The harmonic mean of precision and recall.
pub fn f1(pred: &[bool], target: &[bool]) -> Result<f64> {
    let (p, r) = (precision(pred, target)?, recall(pred, target)?);
    Ok(if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) })
}

/// The area under the ROC curve of `scores` (higher = more likely positive) for `target`.
/// Needs both classes; NaN scores are an error.
pub fn roc_auc(scores: &[f64], target: &[bool]) -> Result<f64> {
    same_len("roc_auc", scores.len(), target.len())?;
    if scores.iter().any(|s| s.is_nan()) {
        return Err(Error::invalid("roc_auc", "a score is NaN"));
    }
    let n_pos = target.iter().filter(|&&t| t).count();
    let n_neg = target.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(Error::invalid("roc_auc", "needs both positive and negative samples"));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks (1-based) over runs of equal scores.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if target[k] {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Ok((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// Mean binary cross-entropy of probabilities `prob` for `target` (clipped to $[10^{-15}, 1 - 10^{-15}]$).
pub fn log_loss(prob: &[f64], target: &[bool]) -> Result<f64> {
    same_len("log_loss", prob.len(), target.len())?;
    const EPS: f64 = 1e-15;
    let mut total = 0.0;
    for (&p, &t) in prob.iter().zip(target) {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid("log_loss", format!("probability {p} is not in [0, 1]")));
        }
        let p = p.clamp(EPS, 1.0 - EPS);
        total -= if t { p.ln() } else { (1.0 - p).ln() };
    }
    Ok(total / prob.len() as f64)
}

/// Root mean squared error.
pub fn rmse(pred: &[f64], target: &[f64]) -> Result<f64> {
    same_len("rmse", pred.len(), target.len())?;
    let s: f64 = pred.iter().zip(target).map(|(p, t)| (p - t) * (p - t)).sum();
    Ok((s / pred.len() as f64).sqrt())
}

/// Mean absolute error.
pub fn mae(pred: &[f64], target: &[f64]) -> Result<f64> {
    same_len("mae", pred.len(), target.len())?;
    let s: f64 = pred.iter().zip(target).map(|(p, t)| (p - t).abs()).sum();
    Ok(s / pred.len() as f64)
}

/// Mean and population standard deviation ($\sqrt{\frac1n\sum (x - \bar x)^2}$, NumPy's
/// `np.std`) of a list of scores (fold results).
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}
