//! The document's CNN (listing 1.4.1): structure and names, MNIST loading, and a short training run
//! on a small slice of the bundled data (the full run is `cargo run --release --example cnn`).

use glassgrad::models::cnn::{CnnOptimizer, CnnTrainConfig, SeedCnn, load_mnist, train_mnist};
use glassgrad::nn::Module;
use glassgrad::{DType, Generator, Tensor};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist_5k.csv.gz");

#[test]
fn seed_cnn_has_the_listings_names_shapes_and_output() {
    let mut rng = Generator::new(0);
    let model = SeedCnn::new(DType::F32, &mut rng).unwrap();
    let sd: Vec<(String, Vec<usize>)> = model.state_dict().into_iter().map(|(n, t)| (n, t.shape())).collect();
    let want: Vec<(String, Vec<usize>)> = [
        ("conv1.weight", vec![32, 3, 3, 3]),
        ("conv1.bias", vec![32]),
        ("conv2.weight", vec![64, 32, 3, 3]),
        ("conv2.bias", vec![64]),
        ("fc1.weight", vec![128, 3136]),
        ("fc1.bias", vec![128]),
        ("fc2.weight", vec![10, 128]),
        ("fc2.bias", vec![10]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(sd, want);
    assert_eq!(SeedCnn::PARAM_NAMES.to_vec(), want.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>());
    // 896 + 18,496 + 401,536 + 1,290 parameters, as torch's sum(p.numel()) for the listing.
    assert_eq!(model.num_parameters(), 422_218);
    let x = Tensor::randn(&[2, 3, 28, 28], DType::F32, &mut rng).unwrap();
    assert_eq!(model.forward(&x).unwrap().shape(), vec![2, 10]);
    // A wrong image size is an error (64·7·7 needs 28×28 inputs).
    assert!(model.forward(&Tensor::zeros(&[1, 3, 32, 32], DType::F32).unwrap()).is_err());
}

#[test]
fn from_state_rebuilds_the_same_function() {
    let mut rng = Generator::new(1);
    let model = SeedCnn::new(DType::F64, &mut rng).unwrap();
    let sd = model.state_dict();
    let copy =
        SeedCnn::from_state(|name| Ok(sd.iter().find(|(n, _)| n == name).map(|(_, t)| t.detach()).unwrap()))
            .unwrap();
    let x = Tensor::randn(&[3, 3, 28, 28], DType::F64, &mut rng).unwrap();
    assert_eq!(model.forward(&x).unwrap().to_f64_vec(), copy.forward(&x).unwrap().to_f64_vec());
    // A tensor of the wrong shape is refused, naming it.
    let e = SeedCnn::from_state(|name| {
        if name == "fc1.weight" {
            Tensor::zeros(&[128, 100], DType::F64)
        } else {
            Ok(sd.iter().find(|(n, _)| n == name).unwrap().1.clone())
        }
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("fc1.weight"), "{e}");
}

#[test]
fn load_mnist_repeats_the_grey_plane_and_standardises() {
    let m = load_mnist(DATA, 3).unwrap();
    assert_eq!(m.images.shape(), vec![5000, 3, 28, 28]);
    assert_eq!(m.labels.shape(), vec![5000]);
    let labels = m.labels.to_vec::<i64>().unwrap();
    assert!(labels.iter().all(|&l| (0..10).contains(&l)));
    let first = m.images.narrow(0, 0, 1).unwrap().to_f64_vec();
    assert_eq!(first[..784], first[784..1568]);
    assert_eq!(first[..784], first[1568..]);
    // Pixel 0 (a background pixel) maps to (0 − 0.1307)/0.3081; the brightest to (1 − 0.1307)/0.3081.
    let (lo, hi) = first.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!((lo - (-0.1307 / 0.3081)).abs() < 1e-6, "{lo}");
    assert!(hi <= (1.0 - 0.1307) / 0.3081 + 1e-6 && hi > 1.0, "{hi}");
    assert!(load_mnist("no/such/file.csv", 3).is_err());
}

#[test]
fn training_briefly_lowers_the_loss_and_beats_chance() {
    glassgrad::device::cpu::set_num_threads(2).ok();
    let config = CnnTrainConfig {
        data_path: DATA.into(),
        n_train: 512,
        n_test: 200,
        epochs: 2,
        ..CnnTrainConfig::default()
    };
    let mut seen = Vec::new();
    let report = train_mnist(&config, |e| seen.push(e.epoch)).unwrap();
    assert_eq!(seen, [1, 2]);
    let (e1, e2) = (&report.epochs[0], &report.epochs[1]);
    assert!(e1.train_loss.is_finite() && e2.train_loss < e1.train_loss, "{e1:?} {e2:?}");
    assert!(e1.train_loss < 2.5);
    // Ten classes: chance is 0.1. Two short epochs of 8 batches already reach well past it.
    assert!(report.test_accuracy > 0.5, "held-out accuracy {}", report.test_accuracy);
    assert_eq!(report.test_accuracy, e2.test_accuracy);
    assert!(!report.model.is_training());
}

#[test]
fn training_config_errors() {
    let too_many = CnnTrainConfig { data_path: DATA.into(), n_train: 5000, n_test: 1, ..Default::default() };
    assert!(train_mnist(&too_many, |_| {}).is_err());
    let sgd = CnnTrainConfig {
        data_path: DATA.into(),
        batch_size: 0,
        optimizer: CnnOptimizer::Sgd { momentum: 0.9 },
        ..Default::default()
    };
    assert!(train_mnist(&sgd, |_| {}).is_err());
}
