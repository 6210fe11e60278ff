//! The tape: accumulation, no_grad, detach, freed graphs, multi-use of a tensor, deep graphs.

use glassgrad::{DType, Tensor, gradcheck, no_grad};

fn t64(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap().requires_grad_().unwrap()
}

#[test]
fn chain_rule_through_shared_input() {
    // y = x*x + x  =>  dy/dx = 2x + 1
    let x = t64(&[1.0, -2.0, 3.0], &[3]);
    let y = x.mul(&x).unwrap().add(&x).unwrap().sum().unwrap();
    y.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![3.0, -3.0, 7.0]);
}

#[test]
fn gradients_accumulate_and_zero() {
    let x = t64(&[2.0], &[1]);
    for _ in 0..3 {
        x.mul_scalar(5.0).unwrap().sum().unwrap().backward().unwrap();
    }
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![15.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
}

#[test]
fn no_grad_and_detach_record_nothing() {
    let x = t64(&[1.0, 2.0], &[2]);
    let y = no_grad(|| x.exp().unwrap());
    assert!(!y.requires_grad());
    let z = x.exp().unwrap().detach();
    assert!(z.is_leaf() && !z.requires_grad());
    assert!(z.backward().is_err());
}

#[test]
fn second_backward_through_freed_graph_is_an_error() {
    let x = t64(&[1.0, 2.0], &[2]);
    let y = x.tanh().unwrap().sum().unwrap();
    y.backward().unwrap();
    let err = y.backward().unwrap_err().to_string();
    assert!(err.contains("freed"), "{err}");
}

#[test]
fn backward_of_non_scalar_needs_grad_output() {
    let x = t64(&[1.0, 2.0], &[2]);
    let y = x.mul_scalar(3.0).unwrap();
    assert!(y.backward().is_err());
    y.backward_with(&Tensor::from_vec(vec![1.0, 10.0], &[2]).unwrap()).unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![3.0, 30.0]);
}

#[test]
fn deep_graph_neither_overflows_backward_nor_drop() {
    // 20,000 chained ops, run on a thread with a small (256 KiB) stack.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let x = t64(&[0.5], &[1]);
            let mut y = x.clone();
            for _ in 0..20_000 {
                y = y.mul_scalar(1.0).unwrap();
            }
            y.sum().unwrap().backward().unwrap();
            assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![1.0]);
            drop(y);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn broadcasting_gradients_sum_back() {
    let a = Tensor::from_vec((0..6).map(|v| v as f64).collect(), &[2, 3]).unwrap().requires_grad_().unwrap();
    let b = t64(&[1.0, 2.0, 3.0], &[3]);
    let r = gradcheck(|x| x[0].mul(&x[1])?.div(&x[1].add_scalar(5.0)?)?.sub(&x[1]), &[a, b]).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn matmul_gradcheck_batched_broadcast_and_vectors() {
    let mut g = glassgrad::Generator::new(3);
    let a = Tensor::randn(&[2, 1, 3, 4], DType::F64, &mut g).unwrap().requires_grad_().unwrap();
    let b = Tensor::randn(&[3, 4, 2], DType::F64, &mut g).unwrap().requires_grad_().unwrap();
    let r = gradcheck(|x| x[0].matmul(&x[1]), &[a.clone(), b]).unwrap();
    assert!(r.passed, "{r}");
    let v = Tensor::randn(&[4], DType::F64, &mut g).unwrap().requires_grad_().unwrap();
    let m = Tensor::randn(&[3, 4], DType::F64, &mut g).unwrap().requires_grad_().unwrap();
    assert_eq!(m.matmul(&v).unwrap().shape(), vec![3]);
    assert_eq!(v.matmul(&v).unwrap().shape(), Vec::<usize>::new());
    let r = gradcheck(|x| x[0].matmul(&x[1].t()?)?.matmul(&x[1]), &[v, m]).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn unary_gradchecks() {
    let mut g = glassgrad::Generator::new(1);
    let x = Tensor::uniform(&[3, 4], 0.2, 2.0, DType::F64, &mut g).unwrap().requires_grad_().unwrap();
    type F = fn(&Tensor) -> glassgrad::Result<Tensor>;
    let fs: Vec<(&str, F)> = vec![
        ("neg", |t| t.neg()),
        ("abs", |t| t.sub_scalar(1.0)?.abs()),
        ("exp", |t| t.exp()),
        ("log", |t| t.log()),
        ("tanh", |t| t.tanh()),
        ("sigmoid", |t| t.sigmoid()),
        ("relu", |t| t.sub_scalar(1.0)?.relu()),
        ("sqrt", |t| t.sqrt()),
        ("pow", |t| t.pow(2.5)),
        ("clamp", |t| t.clamp(Some(0.5), Some(1.5))),
        ("sum", |t| t.sum_dims(Some(&[0]), true)),
        ("mean", |t| t.mean_dim(-1, false)),
        ("reshape", |t| t.reshape(&[-1, 6])?.exp()),
        ("permute", |t| t.permute(&[1, 0])?.mul_scalar(2.0)),
        ("narrow", |t| t.narrow(1, 1, 2)?.exp()),
        ("broadcast_to", |t| t.unsqueeze(0)?.broadcast_to(&[2, 3, 4])?.square()),
    ];
    for (name, f) in fs {
        let r = gradcheck(|x| f(&x[0]), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed, "{name}: {r}");
    }
}

trait Square {
    fn square(&self) -> glassgrad::Result<Tensor>;
}
impl Square for Tensor {
    fn square(&self) -> glassgrad::Result<Tensor> {
        self.mul(self)
    }
}

#[test]
fn backward_uses_the_values_of_the_forward_pass_even_after_an_in_place_update() {
    // y = w * w at w = 3; an optimizer-style write sets w = 2 before backward. The gradient is the
    // one at the forward pass, 2 * 3 = 6 (the tape holds copy-on-write snapshots, not handles).
    let w = t64(&[3.0], &[1]);
    let y = w.mul(&w).unwrap().sum().unwrap();
    w.update_data("test", |a| a.fill(2.0), |a| a.fill(2.0)).unwrap();
    y.backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec::<f64>().unwrap(), vec![6.0]);
    // The same through matmul, linear, tanh and log.
    let m = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let v = t64(&[0.5, -0.5], &[2]);
    let z = m.matmul(&v).unwrap().tanh().unwrap().add_scalar(2.0).unwrap().log().unwrap();
    let z = z.sum().unwrap().add(&m.linear(&m, None).unwrap().sum().unwrap()).unwrap();
    let before: Vec<f64> = {
        let m2 = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let v2 = t64(&[0.5, -0.5], &[2]);
        let z2 = m2.matmul(&v2).unwrap().tanh().unwrap().add_scalar(2.0).unwrap().log().unwrap();
        let z2 = z2.sum().unwrap().add(&m2.linear(&m2, None).unwrap().sum().unwrap()).unwrap();
        z2.backward().unwrap();
        m2.grad().unwrap().to_vec().unwrap()
    };
    m.update_data("test", |a| a.fill(0.0), |a| a.fill(0.0)).unwrap();
    v.update_data("test", |a| a.fill(0.0), |a| a.fill(0.0)).unwrap();
    z.backward().unwrap();
    assert_eq!(m.grad().unwrap().to_vec::<f64>().unwrap(), before);
}
