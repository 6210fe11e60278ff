//! DataLoader: batch shapes and contents, coverage of every row once per epoch, determinism of
//! the shuffled order, drop_last, errors.

use glassgrad::data::DataLoader;
use glassgrad::{DType, Tensor};

/// x row i = [i, 100 + i] (f32), y row i = i (i64): every batch tells which rows it holds.
fn dataset(n: usize) -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..n).flat_map(|i| [i as f32, 100.0 + i as f32]).collect();
    let y: Vec<i64> = (0..n as i64).collect();
    (Tensor::from_vec(x, &[n, 2]).unwrap(), Tensor::from_vec(y, &[n]).unwrap())
}

fn epoch_rows(loader: &mut DataLoader) -> Vec<Vec<i64>> {
    loader
        .iter()
        .map(|b| {
            let b = b.unwrap();
            let (x, y) = (b[0].to_vec::<f32>().unwrap(), b[1].to_vec::<i64>().unwrap());
            // x and y stay paired row by row
            for (r, &yi) in y.iter().enumerate() {
                assert_eq!(x[2 * r], yi as f32);
                assert_eq!(x[2 * r + 1], 100.0 + yi as f32);
            }
            y
        })
        .collect()
}

#[test]
fn sequential_batches_in_order_with_short_last_batch() {
    let (x, y) = dataset(10);
    let mut loader = DataLoader::new(vec![x, y], 4).unwrap();
    assert_eq!(loader.len(), 3);
    assert_eq!(loader.num_samples(), 10);
    let rows = epoch_rows(&mut loader);
    assert_eq!(rows, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
    let shapes: Vec<Vec<usize>> = loader.iter().map(|b| b.unwrap()[0].shape()).collect();
    assert_eq!(shapes, [vec![4, 2], vec![4, 2], vec![2, 2]]);
    assert_eq!(loader.iter().len(), 3); // ExactSizeIterator
}

#[test]
fn drop_last() {
    let (x, y) = dataset(10);
    let mut loader = DataLoader::new(vec![x, y], 4).unwrap().drop_last(true).shuffle(3);
    assert_eq!(loader.len(), 2);
    let rows = epoch_rows(&mut loader);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|b| b.len() == 4));
    let (x, y) = dataset(3);
    let loader = DataLoader::new(vec![x, y], 4).unwrap().drop_last(true);
    assert!(loader.is_empty());
}

#[test]
fn shuffled_epochs_cover_every_row_once_and_differ() {
    let (x, y) = dataset(50);
    let mut loader = DataLoader::new(vec![x, y], 8).unwrap().shuffle(11);
    let mut orders = Vec::new();
    for epoch in 0..4 {
        assert_eq!(loader.epoch(), epoch);
        let rows: Vec<i64> = epoch_rows(&mut loader).concat();
        let mut sorted = rows.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<i64>>());
        assert_ne!(rows, sorted, "epoch {epoch} is not shuffled");
        orders.push(rows);
    }
    assert!(orders.windows(2).all(|w| w[0] != w[1]), "each epoch a new permutation");
}

#[test]
fn same_seed_same_order_and_resume() {
    let (x, y) = dataset(30);
    let mut a = DataLoader::new(vec![x.clone(), y.clone()], 7).unwrap().shuffle(5);
    let mut b = DataLoader::new(vec![x.clone(), y.clone()], 7).unwrap().shuffle(5);
    let (a0, a1) = (epoch_rows(&mut a), epoch_rows(&mut a));
    assert_eq!(a0, epoch_rows(&mut b));
    assert_eq!(a1, epoch_rows(&mut b));
    let mut other = DataLoader::new(vec![x.clone(), y.clone()], 7).unwrap().shuffle(6);
    assert_ne!(a0, epoch_rows(&mut other));
    // resuming at epoch 1 replays epoch 1
    let mut resumed = DataLoader::new(vec![x, y], 7).unwrap().shuffle(5);
    resumed.set_epoch(1);
    assert_eq!(epoch_rows(&mut resumed), a1);
    assert_eq!(resumed.order(0).len(), 30);
}

#[test]
fn batches_are_leaves_without_gradient_and_keep_trailing_dims() {
    let x = Tensor::randn(&[6, 2, 3], DType::F64, &mut glassgrad::Generator::new(0))
        .unwrap()
        .requires_grad_()
        .unwrap();
    let mut loader = DataLoader::new(vec![x.clone()], 4).unwrap().shuffle(1);
    let order = loader.order(0);
    let first = loader.iter().next().unwrap().unwrap().remove(0);
    assert_eq!(first.shape(), [4, 2, 3]);
    assert!(!first.requires_grad() && first.is_leaf());
    let all = x.to_vec::<f64>().unwrap();
    let want: Vec<f64> = order[..4].iter().flat_map(|&i| all[i * 6..(i + 1) * 6].to_vec()).collect();
    assert_eq!(first.to_vec::<f64>().unwrap(), want);
    // for loop over &mut loader
    let mut n = 0;
    for batch in &mut loader {
        n += batch.unwrap()[0].shape()[0];
    }
    assert_eq!(n, 6);
}

#[test]
fn errors() {
    let (x, y) = dataset(10);
    assert!(DataLoader::new(vec![x.clone(), y.clone()], 0).is_err());
    assert!(DataLoader::new(vec![], 2).is_err());
    let (x5, _) = dataset(5);
    let err = DataLoader::new(vec![x.clone(), x5], 2).unwrap_err().to_string();
    assert!(err.contains("DataLoader") && err.contains("[10, 2]") && err.contains("[5, 2]"), "{err}");
    assert!(DataLoader::new(vec![Tensor::scalar(1.0f32)], 2).is_err());
}
