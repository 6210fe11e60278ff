//! Metrics against hand counts and NumPy (the snippet above each value).

use glassgrad::metrics::*;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "got {a}, want {b}");
}

#[test]
fn classification_counts() {
    let pred = [0, 1, 2, 2, 1, 0];
    let target = [0, 2, 2, 2, 1, 1];
    close(accuracy(&pred, &target).unwrap(), 4.0 / 6.0);
    let m = confusion_matrix(&pred, &target, 3).unwrap();
    assert_eq!(m, vec![vec![1, 0, 0], vec![1, 1, 0], vec![0, 1, 2]]);
    //        pred: T  T  F  F  T  F   target: T  F  T  F  T  T  → tp 2, fp 1, tn 1, fn 2
    let p = [true, true, false, false, true, false];
    let t = [true, false, true, false, true, true];
    assert_eq!(binary_counts(&p, &t).unwrap(), (2, 1, 1, 2));
    close(precision(&p, &t).unwrap(), 2.0 / 3.0);
    close(recall(&p, &t).unwrap(), 0.5);
    close(f1(&p, &t).unwrap(), 2.0 * (2.0 / 3.0) * 0.5 / (2.0 / 3.0 + 0.5));
    // Nothing predicted positive: precision 0, as scikit-learn's zero_division default.
    close(precision(&[false, false], &[true, false]).unwrap(), 0.0);
    close(f1(&[false, false], &[true, false]).unwrap(), 0.0);
}

#[test]
fn roc_auc_with_ties() {
    // s = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4]); y = np.array([0, 0, 1, 1, 1, 1, 0, 0])
    // np.mean([(p > n) + 0.5 * (p == n) for p in s[y == 1] for n in s[y == 0]])  # 0.8125
    let s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4];
    let y = [false, false, true, true, true, true, false, false];
    close(roc_auc(&s, &y).unwrap(), 0.8125);
    // Perfect, reversed and constant scores.
    close(roc_auc(&[0.1, 0.2, 0.9], &[false, false, true]).unwrap(), 1.0);
    close(roc_auc(&[0.9, 0.2, 0.1], &[false, false, true]).unwrap(), 0.0);
    close(roc_auc(&[0.5, 0.5, 0.5], &[false, true, true]).unwrap(), 0.5);
}

#[test]
fn losses_and_regression() {
    // p = np.array([0.1, 0.9, 0.6, 0.3]); t = np.array([0, 1, 1, 0])
    // -np.mean(t*np.log(p)+(1-t)*np.log(1-p))  # 0.2695553997550939
    close(log_loss(&[0.1, 0.9, 0.6, 0.3], &[false, true, true, false]).unwrap(), 0.2695553997550939);
    // Clipped, not infinite.
    assert!(log_loss(&[0.0], &[true]).unwrap().is_finite());
    // a = [1, 2, 3, 4.5]; b = [1.5, 2, 2, 3]: rmse 0.9354143466934853, mae 0.75
    let (a, b) = ([1.0, 2.0, 3.0, 4.5], [1.5, 2.0, 2.0, 3.0]);
    close(rmse(&a, &b).unwrap(), 0.9354143466934853);
    close(mae(&a, &b).unwrap(), 0.75);
    // np.std([0.7, 0.8, 0.75]) = 0.04082482904638634
    let (m, s) = mean_std(&[0.7, 0.8, 0.75]);
    close(m, 0.75);
    close(s, 0.04082482904638634);
}

#[test]
fn errors() {
    assert!(accuracy(&[1, 2], &[1]).is_err());
    assert!(accuracy::<usize>(&[], &[]).is_err());
    assert!(confusion_matrix(&[3], &[0], 3).is_err());
    assert!(roc_auc(&[0.1, 0.2], &[true, true]).is_err());
    assert!(roc_auc(&[f64::NAN, 0.2], &[true, false]).is_err());
    assert!(log_loss(&[1.5], &[true]).is_err());
    assert!(rmse(&[1.0], &[1.0, 2.0]).unwrap_err().to_string().contains("rmse"));
}
