//! Credit scoring (`models::credit`), fast: 2 folds, few epochs. The AUC must be well above
//! chance, the preprocessing must come from the training fold alone, and the cost threshold must
//! be the cost minimiser.

use glassgrad::models::credit::{CreditConfig, cost_threshold, cross_validate, load};

fn path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/german_credit.csv.gz").to_string()
}

#[test]
fn data_has_the_documented_columns() {
    let d = load(path()).unwrap();
    assert_eq!(d.bad.len(), 1000);
    assert_eq!(d.bad.iter().filter(|&&b| b).count(), 300);
    assert_eq!(d.numeric.len(), 7);
    assert_eq!(d.categorical.len(), 13);
    assert!(d.numeric.contains(&"credit_amount".to_string()));
}

#[test]
fn preprocessing_uses_the_training_fold_only() {
    let d = load(path()).unwrap();
    let train: Vec<usize> = (0..500).collect();
    let enc = d.encoder(&train).unwrap();
    let col = d.numeric.iter().position(|n| n == "credit_amount").unwrap();
    let c = enc.numeric[col].0;
    let mean_of = |rows: &[usize]| {
        rows.iter().map(|&r| d.table.rows[r][c].parse::<f64>().unwrap()).sum::<f64>() / rows.len() as f64
    };
    let all: Vec<usize> = (0..1000).collect();
    assert!((enc.numeric[col].2.mean - mean_of(&train)).abs() < 1e-9);
    assert!((enc.numeric[col].2.mean - mean_of(&all)).abs() > 1.0, "the full-data mean differs");
    // Refitting on other rows changes nothing about an encoder already fitted.
    let enc2 = d.encoder(&all[500..]).unwrap();
    assert_ne!(enc.numeric[col].2, enc2.numeric[col].2);
}

#[test]
fn two_fold_auc_well_above_chance() {
    let mut cfg = CreditConfig::new(path());
    cfg.folds = 2;
    cfg.mlp_epochs = 5;
    cfg.logreg_steps = 150;
    let mut calls = 0;
    let r = cross_validate(&cfg, |_, _, _| calls += 1).unwrap();
    assert_eq!(calls, 2);
    assert_eq!(r.mlp.fold_aucs.len(), 2);
    assert!(r.mlp.auc_mean > 0.7, "mlp {}", r.mlp.auc_mean);
    assert!(r.logreg.auc_mean > 0.7, "logreg {}", r.logreg.auc_mean);
    assert!(r.mlp.oof_prob.iter().all(|p| (0.0..=1.0).contains(p)));
    let total: usize = r.confusion.iter().flatten().sum();
    assert_eq!(total, 1000);
    // The cost at the reported threshold, recomputed.
    let cost: f64 = r
        .mlp
        .oof_prob
        .iter()
        .zip(&r.bad)
        .map(|(&p, &b)| match (p >= r.threshold, b) {
            (false, true) => 5.0,
            (true, false) => 1.0,
            _ => 0.0,
        })
        .sum();
    assert_eq!(cost, r.cost);
    assert_eq!(r.cost, 5.0 * r.confusion[1][0] as f64 + r.confusion[0][1] as f64);
}

#[test]
fn cost_threshold_by_hand() {
    // p: 0.1 0.2 0.3 0.4 0.9, bad: F T F F T. Cost of deciding "bad" when p >= τ:
    // τ = 0.9: the bad at 0.2 accepted → 5; τ = 0.4: 5 + 1 = 6; τ = 0.3: 5 + 2 = 7;
    // τ = 0.2: goods at 0.3, 0.4 refused → 2; τ = 0.1: three goods refused → 3; τ above all: 10.
    let (t, c) = cost_threshold(&[0.1, 0.2, 0.3, 0.4, 0.9], &[false, true, false, false, true]);
    assert_eq!((t, c), (0.2, 2.0));
}
