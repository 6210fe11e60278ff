//! dropout (the op) and nn::Dropout: the scaled mask, its gradient, seeding, train/eval, errors.

use glassgrad::nn::{Dropout, Module};
use glassgrad::{DType, Generator, Tensor};

#[test]
fn kept_elements_are_scaled_and_the_rate_is_p() {
    let x = Tensor::ones(&[100, 100], DType::F64).unwrap();
    let y = x.dropout(0.3, true, &mut Generator::new(0)).unwrap().to_f64_vec();
    let scale = 1.0 / 0.7;
    assert!(y.iter().all(|&v| v == 0.0 || (v - scale).abs() < 1e-15));
    let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / 1e4;
    // Binomial(10⁴, 0.3): standard deviation 0.0046, so ±0.02 is over 4 of them.
    assert!((dropped - 0.3).abs() < 0.02, "{dropped}");
    let mean = y.iter().sum::<f64>() / 1e4;
    assert!((mean - 1.0).abs() < 0.05, "expectation kept: {mean}");
}

#[test]
fn the_gradient_is_the_mask() {
    let x = Tensor::from_vec((0..12).map(|v| v as f64 - 5.5).collect(), &[3, 4])
        .unwrap()
        .requires_grad_()
        .unwrap();
    let y = x.dropout(0.5, true, &mut Generator::new(7)).unwrap();
    y.sum().unwrap().backward().unwrap();
    let (xv, yv, g) = (x.to_f64_vec(), y.to_f64_vec(), x.grad().unwrap().to_f64_vec());
    for k in 0..12 {
        // y = m x / (1 − p) and dL/dx = m / (1 − p), with m ∈ {0, 1}.
        assert_eq!(yv[k], g[k] * xv[k]);
        assert!(g[k] == 0.0 || g[k] == 2.0);
    }
    assert!(g.contains(&0.0) && g.contains(&2.0));
}

#[test]
fn seeded_identity_out_of_training_and_edge_rates() {
    let x = Tensor::randn(&[5, 6], DType::F32, &mut Generator::new(1)).unwrap();
    let a = x.dropout(0.5, true, &mut Generator::new(9)).unwrap().to_f64_vec();
    let b = x.dropout(0.5, true, &mut Generator::new(9)).unwrap().to_f64_vec();
    assert_eq!(a, b, "same seed, same mask");
    assert_eq!(x.dropout(0.5, false, &mut Generator::new(9)).unwrap().to_f64_vec(), x.to_f64_vec());
    assert_eq!(x.dropout(0.0, true, &mut Generator::new(9)).unwrap().to_f64_vec(), x.to_f64_vec());
    assert!(x.dropout(1.0, true, &mut Generator::new(9)).unwrap().to_f64_vec().iter().all(|v| *v == 0.0));
    assert_eq!(x.dropout(0.5, true, &mut Generator::new(9)).unwrap().dtype(), DType::F32);
}

#[test]
fn module_is_off_in_eval() {
    let x = Tensor::ones(&[4, 8], DType::F32).unwrap();
    let mut d = Dropout::new(0.5, 3).unwrap();
    let a = d.forward(&x).unwrap().to_f64_vec();
    assert!(a.contains(&0.0) && a.contains(&2.0));
    assert_ne!(d.forward(&x).unwrap().to_f64_vec(), a, "a fresh mask each call");
    d.set_seed(3);
    assert_eq!(d.forward(&x).unwrap().to_f64_vec(), a, "reseeded: the first mask again");
    d.eval();
    assert_eq!(d.forward(&x).unwrap().to_f64_vec(), x.to_f64_vec());
    assert!(d.named_parameters().is_empty());
}

#[test]
fn errors() {
    let x = Tensor::ones(&[2, 3], DType::F32).unwrap();
    let err = x.dropout(1.5, true, &mut Generator::new(0)).unwrap_err().to_string();
    assert!(err.contains("dropout") && err.contains("[2, 3]"), "{err}");
    let i = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    assert!(i.dropout(0.5, true, &mut Generator::new(0)).unwrap_err().to_string().contains("dropout"));
    assert!(Dropout::new(-0.1, 0).is_err());
}
