//! `binary_cross_entropy_with_logits` (`ops/bce.rs`) and the loss modules (`nn::loss`): PyTorch's
//! values, the recorded cases, gradchecks of input and target, stability, errors.

use std::path::Path;

use glassgrad::autograd::gradcheck;
use glassgrad::cases::{find_cases, run_case};
use glassgrad::device::Device;
use glassgrad::nn::{BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss, NLLLoss};
use glassgrad::ops::loss::Reduction;
use glassgrad::{DType, Tensor};

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}[{i}]: got {g}, want {w}");
    }
}

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

// x = torch.tensor([[-2.0, 0.5], [3.0, -0.1]], dtype=torch.float64, requires_grad=True)
// y = torch.tensor([[0.0, 1.0], [1.0, 0.3]], dtype=torch.float64, requires_grad=True)
// pw = torch.tensor([2.0, 0.5], dtype=torch.float64); w = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
// l = F.binary_cross_entropy_with_logits(x, y); torch.autograd.grad(l, [x, y])
// l = F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction="none")
// torch.autograd.grad(l.sum(), [x, y])
#[test]
fn matches_torch_by_hand() {
    let x = t(&[-2.0, 0.5, 3.0, -0.1], &[2, 2]).requires_grad_().unwrap();
    let y = t(&[0.0, 1.0, 1.0, 0.3], &[2, 2]).requires_grad_().unwrap();
    let l = x.binary_cross_entropy_with_logits(&y, None, None, Reduction::Mean).unwrap();
    close(&[l.item().unwrap()], &[0.3309972517175981], 1e-14, "mean");
    // The first element by hand: (1 − 0)(−2) + ln(1 + e^2) = 0.12692801104297...
    l.backward().unwrap();
    close(
        &x.grad().unwrap().to_f64_vec(),
        &[0.029800730505529387, -0.09438516719953635, -0.011856468294391659, 0.043755203130265],
        1e-14,
        "dx",
    );
    close(&y.grad().unwrap().to_f64_vec(), &[0.5, -0.125, -0.75, 0.025], 1e-14, "dy");

    x.zero_grad();
    y.zero_grad();
    let (pw, w) = (t(&[2.0, 0.5], &[2]), t(&[1.0, 2.0], &[2, 1]));
    let l = x.binary_cross_entropy_with_logits(&y, Some(&w), Some(&pw), Reduction::None).unwrap();
    assert_eq!(l.shape(), vec![2, 2]);
    close(
        &l.to_f64_vec(),
        &[0.1269280110429727, 0.23703849209005334, 0.19434940629496825, 1.1254743221250705],
        1e-14,
        "none",
    );
    let loss = BCEWithLogitsLoss::new().reduction(Reduction::Sum).weight(w).pos_weight(pw);
    let l = loss.forward(&x, &y).unwrap();
    close(&[l.item().unwrap()], &[1.6837902315530648], 1e-14, "sum");
    l.backward().unwrap();
    close(
        &x.grad().unwrap().to_f64_vec(),
        &[0.11920292202211755, -0.1887703343990727, -0.18970349271026654, 0.5075353812858019],
        1e-14,
        "weighted dx",
    );
    close(
        &y.grad().unwrap().to_f64_vec(),
        &[4.126928011042973, -0.7370384920900533, -5.902825296852516, -0.5443966600735709],
        1e-14,
        "weighted dy",
    );
}

#[test]
fn pytorch_cases_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/binary_cross_entropy_with_logits");
    let files = find_cases(&[dir]).unwrap();
    assert!(files.len() >= 16, "found {} cases", files.len());
    for f in files {
        let o = run_case(&f, Device::Cpu);
        assert!(o.passed(), "{}", o.line());
    }
}

#[test]
fn gradcheck_input_and_target() {
    let x = Tensor::randn(&[3, 4], DType::F64, &mut glassgrad::Generator::new(3)).unwrap();
    let x = x.mul_scalar(2.0).unwrap().requires_grad_().unwrap();
    let y = Tensor::rand(&[3, 4], DType::F64, &mut glassgrad::Generator::new(4))
        .unwrap()
        .requires_grad_()
        .unwrap();
    let pw = t(&[0.5, 1.0, 2.0, 4.0], &[4]);
    let w = t(&[1.0, 0.5, 2.0], &[3, 1]);
    for red in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let r = gradcheck(
            |xs: &[Tensor]| xs[0].binary_cross_entropy_with_logits(&xs[1], Some(&w), Some(&pw), red),
            &[x.clone(), y.clone()],
        )
        .unwrap();
        assert!(r.passed, "{red}: {r:?}");
    }
}

#[test]
fn large_logits_are_stable() {
    // F.binary_cross_entropy_with_logits(torch.tensor([-1000., 1000.]), torch.tensor([1., 0.]),
    //   reduction="none") = [1000., 1000.]; gradient [-1, 1]
    let x = Tensor::from_vec(vec![-1000.0f32, 1000.0, 1000.0], &[3]).unwrap().requires_grad_().unwrap();
    let y = Tensor::from_vec(vec![1.0f32, 0.0, 1.0], &[3]).unwrap();
    let l = x.binary_cross_entropy_with_logits(&y, None, None, Reduction::None).unwrap();
    close(&l.to_f64_vec(), &[1000.0, 1000.0, 0.0], 1e-6, "loss");
    l.sum().unwrap().backward().unwrap();
    close(&x.grad().unwrap().to_f64_vec(), &[-1.0, 1.0, 0.0], 1e-6, "grad");
}

#[test]
fn loss_modules_call_the_ops() {
    let logits = t(&[1.0, -0.5, 0.2, 0.3, 2.0, -1.0], &[2, 3]);
    let target = Tensor::from_vec(vec![2i64, 0], &[2]).unwrap();
    let ce = CrossEntropyLoss::new().forward(&logits, &target).unwrap();
    assert_eq!(ce.item().unwrap(), logits.cross_entropy(&target, Reduction::Mean).unwrap().item().unwrap());
    let w = t(&[1.0, 2.0, 3.0], &[3]);
    let wce = CrossEntropyLoss::new()
        .weight(w.clone())
        .reduction(Reduction::Sum)
        .forward(&logits, &target)
        .unwrap();
    let ls = logits.log_softmax(1).unwrap().to_f64_vec();
    // sum_n w[t_n] * (−log p_{n,t_n}) = 3·(−ls[2]) + 1·(−ls[3])
    close(&[wce.item().unwrap()], &[-3.0 * ls[2] - ls[3]], 1e-12, "weighted ce");
    let nll = NLLLoss::new().weight(w).forward(&logits.log_softmax(1).unwrap(), &target).unwrap();
    close(&[nll.item().unwrap()], &[(-3.0 * ls[2] - ls[3]) / 4.0], 1e-12, "weighted nll mean");
    let ignored = CrossEntropyLoss::new().ignore_index(Some(0)).forward(&logits, &target).unwrap();
    close(&[ignored.item().unwrap()], &[-ls[2]], 1e-12, "ignore_index");
    let mse = MSELoss::new().reduction(Reduction::Sum).forward(&t(&[1.0, 2.0], &[2]), &t(&[0.0, 4.0], &[2]));
    assert_eq!(mse.unwrap().item().unwrap(), 5.0);
}

#[test]
fn errors() {
    let x = t(&[0.0, 1.0], &[2]);
    let e = x.binary_cross_entropy_with_logits(&t(&[0.0], &[1]), None, None, Reduction::Mean).unwrap_err();
    assert!(e.to_string().contains("binary_cross_entropy_with_logits"), "{e}");
    let y32 = Tensor::from_vec(vec![0.0f32, 1.0], &[2]).unwrap();
    assert!(x.binary_cross_entropy_with_logits(&y32, None, None, Reduction::Mean).is_err());
    let bad_w = t(&[1.0, 2.0, 3.0], &[3]);
    let e = x.binary_cross_entropy_with_logits(&x, Some(&bad_w), None, Reduction::Mean).unwrap_err();
    assert!(e.to_string().contains("weight"), "{e}");
    let w_grad = t(&[1.0, 2.0], &[2]).requires_grad_().unwrap();
    assert!(x.binary_cross_entropy_with_logits(&x, None, Some(&w_grad), Reduction::Mean).is_err());
    let ints = Tensor::from_vec(vec![0i64, 1], &[2]).unwrap();
    assert!(ints.binary_cross_entropy_with_logits(&ints, None, None, Reduction::Mean).is_err());
    // The mean of no elements is NaN, as in PyTorch.
    let empty = Tensor::zeros(&[0], DType::F64).unwrap();
    let l = empty.binary_cross_entropy_with_logits(&empty, None, None, Reduction::Mean).unwrap();
    assert!(l.item().unwrap().is_nan());
}
