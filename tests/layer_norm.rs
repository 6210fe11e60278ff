//! layer_norm (the fused op) and nn::LayerNorm: the reference transcription, hand values,
//! PyTorch's cases, gradcheck in f64, errors.

mod seq_support;

use glassgrad::nn::{LayerNorm, Module};
use glassgrad::{DType, Tensor, gradcheck, reference};
use ndarray::{Array1, Array2};
use seq_support::{assert_close, load_case, randn};

#[test]
fn hand_computed_row() {
    // x = (1, 2, 3, 4): μ = 2.5, σ² = 1.25, x̂ = (x − μ)/√(1.25 + ε).
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[1, 4]).unwrap();
    let y = x.layer_norm(&[4], None, None, 0.0).unwrap().to_f64_vec();
    let s = 1.25f64.sqrt();
    let want = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
    for (a, b) in y.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{a} {b}");
    }
}

#[test]
fn agrees_with_the_reference() {
    let x = randn(&[5, 7], 1);
    let g = randn(&[7], 2);
    let b = randn(&[7], 3);
    let y = x.layer_norm(&[7], Some(&g), Some(&b), 1e-5).unwrap();
    let xa = Array2::from_shape_vec((5, 7), x.to_f64_vec()).unwrap();
    let want = reference::layer_norm(&xa, &Array1::from(g.to_f64_vec()), &Array1::from(b.to_f64_vec()), 1e-5)
        .unwrap();
    for (a, w) in y.to_f64_vec().iter().zip(want.iter()) {
        assert!((a - w).abs() < 1e-12, "{a} {w}");
    }
    // Large inputs (wider than the parallel threshold) take the rayon path: same values per row.
    let big = randn(&[600, 40], 4).mul_scalar(100.0).unwrap();
    let y = big.layer_norm(&[40], None, None, 1e-5).unwrap();
    let row = big.narrow(0, 123, 1).unwrap().layer_norm(&[40], None, None, 1e-5).unwrap();
    assert_eq!(y.narrow(0, 123, 1).unwrap().to_f64_vec(), row.to_f64_vec());
}

#[test]
fn pytorch_cases() {
    // tests/cases/layer_norm, written by tests/cases/make_cases_seqnn.py:
    // y = F.layer_norm(x, normalized_shape, w, b, eps); y.backward(gy)
    let files = seq_support::case_files("layer_norm");
    assert_eq!(files.len(), 4);
    for path in files {
        let case = load_case(&path);
        let leaf = |k: &str| case.tensors.get(k).map(|t| t.detach().requires_grad_().unwrap());
        let (x, w, b) = (leaf("input.input").unwrap(), leaf("input.weight"), leaf("input.bias"));
        let shape: Vec<usize> = serde_json::from_str(&case.meta["normalized_shape"]).unwrap();
        let eps: f64 = case.meta["eps"].parse().unwrap();
        let y = x.layer_norm(&shape, w.as_ref(), b.as_ref(), eps).unwrap();
        assert_close("output", &y, &case.tensors["expected.output.0"]);
        y.mul(&case.tensors["grad_output.0"]).unwrap().sum().unwrap().backward().unwrap();
        assert_close("grad x", &x.grad().unwrap(), &case.tensors["expected.grad.input"]);
        if let (Some(w), Some(b)) = (w, b) {
            assert_close("grad weight", &w.grad().unwrap(), &case.tensors["expected.grad.weight"]);
            assert_close("grad bias", &b.grad().unwrap(), &case.tensors["expected.grad.bias"]);
        }
    }
}

#[test]
fn gradcheck_every_input() {
    let inputs =
        [randn(&[3, 2, 4], 1), randn(&[2, 4], 2), randn(&[2, 4], 3)].map(|t| t.requires_grad_().unwrap());
    let r =
        gradcheck(|x| x[0].layer_norm(&[2, 4], Some(&x[1]), Some(&x[2]), 1e-5)?.mul(&x[0]), &inputs).unwrap();
    assert!(r.passed, "{r:?}");
    let r = gradcheck(
        |x| x[0].layer_norm(&[5], None, None, 1e-3)?.pow(3.0),
        &[randn(&[4, 5], 5).requires_grad_().unwrap()],
    )
    .unwrap();
    assert!(r.passed, "{r:?}");
}

#[test]
fn module_parameters_and_errors() {
    let ln = LayerNorm::new(&[4], 1e-5, true, DType::F32).unwrap();
    let names: Vec<String> = ln.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias"]);
    assert_eq!(ln.weight.as_ref().unwrap().to_f64_vec(), [1.0; 4]);
    let x = Tensor::ones(&[2, 3], DType::F32).unwrap();
    let err = ln.forward(&x).unwrap_err().to_string();
    assert!(err.contains("layer_norm") && err.contains("[2, 3]") && err.contains("[4]"), "{err}");
    let x = randn(&[2, 4], 1);
    let err = x
        .layer_norm(&[4], Some(&Tensor::ones(&[4], DType::F32).unwrap()), None, 1e-5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("layer_norm"), "{err}");
    let err = x.layer_norm(&[4], Some(&randn(&[3], 1)), None, 1e-5).unwrap_err().to_string();
    assert!(err.contains("weight") && err.contains("[3]"), "{err}");
    assert!(Tensor::from_vec(vec![1i64, 2], &[2]).unwrap().layer_norm(&[2], None, None, 1e-5).is_err());
    // Constant rows are finite (σ² = 0, ε keeps r finite).
    let y = Tensor::ones(&[2, 4], DType::F32).unwrap().layer_norm(&[4], None, None, 1e-5).unwrap();
    assert!(y.to_f64_vec().iter().all(|v| *v == 0.0));
}
