//! Creation, views sharing storage, Display, dtype conversion, seeded randomness.

use glassgrad::{DType, Generator, Tensor};

#[test]
fn creation_and_accessors() {
    let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    assert_eq!(t.shape(), vec![2, 3]);
    assert_eq!(t.dims(), 2);
    assert_eq!(t.numel(), 6);
    assert_eq!(t.dtype(), DType::F32);
    assert_eq!(t.size(-1).unwrap(), 3);
    assert_eq!(Tensor::scalar(2.5f64).item().unwrap(), 2.5);
    assert!(t.item().is_err());
    assert_eq!(Tensor::arange(0.0, 5.0, 2.0, DType::I64).unwrap().to_vec::<i64>().unwrap(), vec![0, 2, 4]);
    assert_eq!(Tensor::eye(2, DType::F64).unwrap().to_vec::<f64>().unwrap(), vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(Tensor::full(&[2], 7.0, DType::F32).unwrap().to_vec::<f32>().unwrap(), vec![7.0, 7.0]);
    assert!(t.to_vec::<f64>().is_err(), "to_vec checks the dtype");
}

#[test]
fn clones_and_views_share_storage() {
    let t = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[3, 4]).unwrap();
    let c = t.clone();
    assert!(c.same(&t));
    let tr = t.transpose(0, 1).unwrap();
    assert!(tr.shares_storage(&t) && !tr.is_contiguous());
    assert_eq!(tr.shape(), vec![4, 3]);
    assert_eq!(tr.to_vec::<f32>().unwrap()[..3], [0.0, 4.0, 8.0]);
    let r = t.reshape(&[2, 6]).unwrap();
    assert!(r.shares_storage(&t));
    let n = t.narrow(1, 1, 2).unwrap();
    assert!(n.shares_storage(&t));
    assert_eq!(n.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 5.0, 6.0, 9.0, 10.0]);
    // An optimizer-style in-place write does not change views taken before it (copy-on-write).
    t.update_data("test", |a| a.fill(0.0), |a| a.fill(0.0)).unwrap();
    assert_eq!(t.to_vec::<f32>().unwrap(), vec![0.0; 12]);
    assert_eq!(n.to_vec::<f32>().unwrap()[0], 1.0);
}

#[test]
fn display_reads_like_pytorch() {
    let t = Tensor::from_vec(vec![1.0f32, -2.5, 3.25, 4.0], &[2, 2]).unwrap();
    assert_eq!(format!("{t}"), "tensor([[ 1.0000, -2.5000],\n        [ 3.2500,  4.0000]])");
    let i = Tensor::from_vec(vec![3i64, 1], &[2]).unwrap();
    assert_eq!(format!("{i}"), "tensor([3, 1], dtype=int64)");
    let x = Tensor::from_vec(vec![1.0f64], &[1]).unwrap().requires_grad_().unwrap();
    assert_eq!(format!("{x}"), "tensor([1.0000], dtype=float64, requires_grad=true)");
    let y = x.exp().unwrap();
    assert!(format!("{y}").ends_with("grad_fn=<exp>)"));
    let big = Tensor::zeros(&[2000], DType::F32).unwrap();
    assert!(format!("{big}").contains("..."));
}

#[test]
fn dtype_conversion_is_differentiable_between_floats() {
    let x = Tensor::from_vec(vec![1.5f64, -2.7], &[2]).unwrap().requires_grad_().unwrap();
    let y = x.to_dtype(DType::F32).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    y.mul_scalar(3.0).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![3.0, 3.0]);
    assert_eq!(x.to_dtype(DType::I64).unwrap().to_vec::<i64>().unwrap(), vec![1, -2]);
}

#[test]
fn seeded_randomness_is_reproducible() {
    let a = Tensor::randn(&[100], DType::F32, &mut Generator::new(7)).unwrap();
    let b = Tensor::randn(&[100], DType::F32, &mut Generator::new(7)).unwrap();
    let c = Tensor::randn(&[100], DType::F32, &mut Generator::new(8)).unwrap();
    assert_eq!(a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    assert_ne!(a.to_vec::<f32>().unwrap(), c.to_vec::<f32>().unwrap());
    let v = Tensor::randn(&[20000], DType::F64, &mut Generator::new(1)).unwrap().to_f64_vec();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "mean {mean} var {var}");
    let u = Tensor::uniform(&[1000], -2.0, 3.0, DType::F32, &mut Generator::new(1)).unwrap().to_f64_vec();
    assert!(u.iter().all(|&x| (-2.0..3.0).contains(&x)));
    let r = Tensor::randint(&[1000], 3, 6, &mut Generator::new(1)).unwrap().to_vec::<i64>().unwrap();
    assert!(r.iter().all(|&x| (3..6).contains(&x)) && r.contains(&3) && r.contains(&5));
}

#[test]
fn i64_to_float_rounds_once() {
    // 2^60 + 2^36 + 1 lies just above the midpoint of two f32 neighbours (2^60 and 2^60 + 2^37):
    // rounded once it goes up; through f64 (which drops the +1) it would tie and go down to 2^60.
    let v = (1i64 << 60) + (1i64 << 36) + 1;
    let t = glassgrad::Tensor::from_vec(vec![v, -v, 7, i64::MAX], &[4]).unwrap();
    let f = t.to_dtype(glassgrad::DType::F32).unwrap().to_f64_vec();
    assert_eq!(f[0], ((1i64 << 60) + (1i64 << 37)) as f64);
    assert_eq!(f[1], -f[0]);
    assert_eq!(f[2], 7.0);
    assert_eq!(f[3], 2f64.powi(63));
    let d = t.to_dtype(glassgrad::DType::F64).unwrap().to_f64_vec();
    assert_eq!(d[2], 7.0);
    let b = t.to_dtype(glassgrad::DType::Bool).unwrap().to_f64_vec();
    assert_eq!(b, vec![1.0, 1.0, 1.0, 1.0]);
}
