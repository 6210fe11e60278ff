//! Tabular preprocessing (fitted on training rows only), the Dataset trait, and splits.

use glassgrad::data::csv::CsvTable;
use glassgrad::data::split::{stratified_k_fold, stratified_train_val_test_split, train_val_test_split};
use glassgrad::data::tabular::{CategoryIndex, Standardizer, TabularEncoder, numeric_columns};
use glassgrad::data::{Dataset, TensorDataset};
use glassgrad::{DType, Tensor};

fn table() -> CsvTable {
    let rows = [["1", "a", "x"], ["3", "b", "y"], ["5", "a", "x"], ["100", "c", "y"]];
    CsvTable {
        headers: Some(vec!["age".into(), "colour".into(), "label".into()]),
        rows: rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        lines: vec![2, 3, 4, 5],
    }
}

#[test]
fn fitted_on_training_rows_only() {
    let t = table();
    assert_eq!(numeric_columns(&t), vec![0]);
    let enc = TabularEncoder::fit(&t, &["age"], &["colour"], &[0, 1, 2]).unwrap();
    // μ = 3, σ = sqrt(((1-3)² + 0 + (5-3)²)/3) = sqrt(8/3): row 3 (age 100) is not in it.
    let s = &enc.numeric[0].2;
    assert_eq!(s.mean, 3.0);
    assert!((s.std - (8.0f64 / 3.0).sqrt()).abs() < 1e-15);
    assert_eq!(enc.categorical[0].2.categories, vec!["a", "b"]); // "c" only in the held-out row
    let x = enc.one_hot_matrix(&t, &[0, 3], DType::F64).unwrap();
    assert_eq!(x.shape(), vec![2, 3]);
    let v = x.to_f64_vec();
    assert!((v[0] + 2.0 / (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
    assert_eq!(&v[1..3], &[1.0, 0.0]);
    assert!((v[3] - 97.0 / (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
    assert_eq!(&v[4..6], &[0.0, 0.0]); // unseen "c": all zeros
    let idx = enc.category_indices(&t, &[0, 1, 3]).unwrap();
    assert_eq!(idx.to_vec::<i64>().unwrap(), vec![0, 1, 2]); // unseen → K = 2
    assert_eq!(enc.cardinalities(), vec![2]);
    assert_eq!(enc.feature_names(), vec!["age", "colour=a", "colour=b"]);
    let num = enc.numeric_matrix(&t, &[1], DType::F32).unwrap();
    assert_eq!(num.dtype(), DType::F32);
    assert_eq!(num.to_f64_vec(), vec![0.0]);
}

#[test]
fn encoder_pieces_and_errors() {
    assert_eq!(Standardizer::fit(&[2.0, 2.0]).unwrap(), Standardizer { mean: 2.0, std: 1.0 });
    assert!(Standardizer::fit(&[]).is_err());
    let c = CategoryIndex::fit(["b", "a", "b"]);
    assert_eq!((c.index("a"), c.index("b"), c.index("z"), c.len()), (Some(0), Some(1), None, 2));
    let t = table();
    assert!(TabularEncoder::fit(&t, &["nope"], &[], &[0]).is_err());
    assert!(TabularEncoder::fit(&t, &["colour"], &[], &[0]).unwrap_err().to_string().contains("line 2"));
    assert!(TabularEncoder::fit(&t, &["age"], &[], &[9]).is_err());
    assert!(TabularEncoder::fit(&t, &["age"], &[], &[]).is_err());
}

#[test]
fn dataset_subset_and_loader() {
    let x = Tensor::from_vec((0..10).map(|v| v as f64).collect(), &[5, 2]).unwrap();
    let y = Tensor::from_vec(vec![0i64, 1, 0, 1, 1], &[5]).unwrap();
    let ds = TensorDataset::new(vec![x, y]).unwrap();
    assert_eq!(ds.len(), 5);
    let sub = ds.subset(&[4, 1]).unwrap();
    assert_eq!(sub.tensors()[0].to_f64_vec(), vec![8.0, 9.0, 2.0, 3.0]);
    assert_eq!(sub.tensors()[1].to_vec::<i64>().unwrap(), vec![1, 1]);
    let mut loader = ds.loader(2).unwrap();
    assert_eq!(loader.iter().count(), 3);
    let short = Tensor::zeros(&[4], DType::F64).unwrap();
    assert!(TensorDataset::new(vec![ds.tensors()[0].clone(), short]).is_err());
    assert!(TensorDataset::new(vec![]).is_err());
}

#[test]
fn splits_partition_and_stratify() {
    let s = train_val_test_split(100, 0.2, 0.1, 7).unwrap();
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (70, 20, 10));
    let mut all: Vec<usize> = s.train.iter().chain(&s.val).chain(&s.test).copied().collect();
    all.sort();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    assert_eq!(s, train_val_test_split(100, 0.2, 0.1, 7).unwrap());
    assert_ne!(s, train_val_test_split(100, 0.2, 0.1, 8).unwrap());
    assert!(train_val_test_split(10, 0.6, 0.5, 0).is_err());

    // 70 of class 0, 30 of class 1.
    let labels: Vec<usize> = (0..100).map(|i| (i % 10 < 3) as usize).collect();
    let s = stratified_train_val_test_split(&labels, 0.2, 0.1, 1).unwrap();
    let ones = |rows: &[usize]| rows.iter().filter(|&&r| labels[r] == 1).count();
    assert_eq!((ones(&s.train), ones(&s.val), ones(&s.test)), (21, 6, 3));

    let folds = stratified_k_fold(&labels, 5, 3).unwrap();
    assert_eq!(folds.len(), 5);
    let mut seen = vec![0; 100];
    for (train, test) in &folds {
        assert_eq!(test.len(), 20);
        assert_eq!(ones(test), 6);
        assert_eq!(train.len() + test.len(), 100);
        assert!(test.iter().all(|r| !train.contains(r)));
        for &r in test {
            seen[r] += 1;
        }
    }
    assert!(seen.iter().all(|&c| c == 1), "every row is tested exactly once");
    assert!(stratified_k_fold(&labels, 1, 0).is_err());
    assert!(stratified_k_fold(&[0, 1], 3, 0).is_err());
}
