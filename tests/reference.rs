//! The engine agrees with the literal f64 transcriptions in `glassgrad::reference` on random
//! inputs, to about 1e-12: forward values and the gradients that have a reference.

use glassgrad::ops::loss::Reduction;
use glassgrad::{DType, Generator, Tensor, reference};
use ndarray::{Array1, Array2};

const TOL: f64 = 1e-12;

fn close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= TOL * (1.0 + w.abs()), "{what}: element {i}: engine {g}, reference {w}");
    }
}

/// A random (rows × cols) f64 tensor with entries of size `scale`, and the same values as an Array2.
fn random(rows: usize, cols: usize, scale: f64, rng: &mut Generator) -> (Tensor, Array2<f64>) {
    let t = Tensor::randn(&[rows, cols], DType::F64, rng).unwrap().mul_scalar(scale).unwrap();
    let a = Array2::from_shape_vec((rows, cols), t.to_f64_vec()).unwrap();
    (t, a)
}

fn flat(a: &Array2<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

#[test]
fn matmul_agrees() {
    let mut rng = Generator::new(1);
    for (m, k, n) in [(1, 1, 1), (3, 5, 2), (17, 9, 13), (40, 33, 27)] {
        let (a, ar) = random(m, k, 1.0, &mut rng);
        let (b, br) = random(k, n, 1.0, &mut rng);
        close(&a.matmul(&b).unwrap().to_f64_vec(), &flat(&reference::matmul(&ar, &br).unwrap()), "matmul");
    }
}

#[test]
fn softmax_family_agrees() {
    let mut rng = Generator::new(2);
    for (rows, cols, scale) in [(1, 1, 1.0), (4, 7, 1.0), (9, 30, 10.0), (5, 8, 300.0)] {
        let (x, xr) = random(rows, cols, scale, &mut rng);
        close(&x.softmax(1).unwrap().to_f64_vec(), &flat(&reference::softmax(&xr)), "softmax");
        close(&x.log_softmax(-1).unwrap().to_f64_vec(), &flat(&reference::log_softmax(&xr)), "log_softmax");
        let lse = reference::logsumexp(&xr);
        close(&x.logsumexp(1, false).unwrap().to_f64_vec(), lse.as_slice().unwrap(), "logsumexp");

        // The softmax backward kernel agrees with the literal vector–Jacobian product.
        let (g, gr) = random(rows, cols, 1.0, &mut rng);
        let x = x.requires_grad_().unwrap();
        x.softmax(1).unwrap().backward_with(&g).unwrap();
        let want = reference::softmax_backward(&reference::softmax(&xr), &gr).unwrap();
        close(&x.grad().unwrap().to_f64_vec(), &flat(&want), "softmax backward");
    }
}

#[test]
fn cross_entropy_agrees() {
    let mut rng = Generator::new(3);
    for (n, c) in [(1, 2), (6, 5), (32, 10)] {
        let (x, xr) = random(n, c, 3.0, &mut rng);
        let t = Tensor::randint(&[n], 0, c as i64, &mut rng).unwrap();
        let tv = t.to_vec::<i64>().unwrap();
        let x = x.requires_grad_().unwrap();
        let l = x.cross_entropy(&t, Reduction::Mean).unwrap();
        close(&[l.item().unwrap()], &[reference::cross_entropy(&xr, &tv).unwrap()], "cross_entropy");
        l.backward().unwrap();
        let want = reference::cross_entropy_backward(&xr, &tv).unwrap();
        close(&x.grad().unwrap().to_f64_vec(), &flat(&want), "cross_entropy backward");
    }
}

#[test]
fn linear_and_mse_agree() {
    let mut rng = Generator::new(4);
    for (rows, inp, out) in [(1, 1, 1), (7, 5, 3), (20, 16, 12)] {
        let (x, xr) = random(rows, inp, 1.0, &mut rng);
        let (w, wr) = random(out, inp, 1.0, &mut rng);
        let (b, _) = random(1, out, 1.0, &mut rng);
        let b = b.reshape_usize(&[out]).unwrap();
        let br = Array1::from_vec(b.to_f64_vec());
        let got = x.linear(&w, Some(&b)).unwrap().to_f64_vec();
        close(&got, &flat(&reference::linear(&xr, &wr, Some(&br)).unwrap()), "linear");
        let got = x.linear(&w, None).unwrap().to_f64_vec();
        close(&got, &flat(&reference::linear(&xr, &wr, None).unwrap()), "linear without bias");

        let (y, _) = random(rows, inp, 1.0, &mut rng);
        let got = x.mse_loss(&y, Reduction::Mean).unwrap().item().unwrap();
        close(&[got], &[reference::mse_loss(&x.to_f64_vec(), &y.to_f64_vec()).unwrap()], "mse_loss");
    }
}

#[test]
fn reference_rejects_bad_shapes() {
    let a = Array2::<f64>::zeros((2, 3));
    assert!(reference::matmul(&a, &a).is_err());
    assert!(reference::linear(&a, &Array2::zeros((4, 2)), None).is_err());
    assert!(reference::linear(&a, &Array2::zeros((4, 3)), Some(&Array1::zeros(3))).is_err());
    assert!(reference::cross_entropy(&a, &[0]).is_err());
    assert!(reference::cross_entropy(&a, &[0, 3]).is_err());
    assert!(reference::mse_loss(&[1.0], &[1.0, 2.0]).is_err());
}
