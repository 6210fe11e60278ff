//! Bad input returns an error whose message names the op and the shapes; nothing panics.

use glassgrad::{DType, Tensor};

fn t(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, DType::F32).unwrap()
}

fn msg(r: glassgrad::Result<Tensor>) -> String {
    match r {
        Ok(t) => panic!("expected an error, got a tensor of shape {:?}", t.shape()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn mismatched_matmul_names_op_and_shapes() {
    let m = msg(t(&[2, 3]).matmul(&t(&[4, 5])));
    assert!(m.contains("matmul") && m.contains("[2, 3]") && m.contains("[4, 5]"), "{m}");
    let m = msg(t(&[2, 2, 3]).matmul(&t(&[3, 3, 4])));
    assert!(m.contains("matmul") && m.contains("batch"), "{m}");
}

#[test]
fn impossible_broadcast_names_op_and_shapes() {
    let m = msg(t(&[2, 3]).add(&t(&[4])));
    assert!(m.contains("add") && m.contains("[2, 3]") && m.contains("[4]"), "{m}");
    let m = msg(t(&[3]).broadcast_to(&[2, 4]));
    assert!(m.contains("broadcast_to") && m.contains("[3]"), "{m}");
}

#[test]
fn reshape_to_wrong_size_names_op_and_shapes() {
    let m = msg(t(&[2, 3]).reshape(&[4, 2]));
    assert!(m.contains("reshape") && m.contains("[2, 3]") && m.contains("[4, 2]"), "{m}");
    let m = msg(t(&[2, 3]).reshape(&[-1, 4]));
    assert!(m.contains("reshape") && m.contains("[2, 3]"), "{m}");
}

#[test]
fn mixing_f32_and_f64_is_an_error() {
    let a = t(&[2]);
    let b = Tensor::zeros(&[2], DType::F64).unwrap();
    let m = msg(a.mul(&b));
    assert!(m.contains("mul") && m.contains("float32") && m.contains("float64"), "{m}");
    let m = msg(a.matmul(&b));
    assert!(m.contains("matmul"), "{m}");
}

#[test]
fn float_ops_reject_integer_tensors() {
    let i = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let m = msg(i.exp());
    assert!(m.contains("exp") && m.contains("int64"), "{m}");
    assert!(i.set_requires_grad(true).is_err());
}

#[test]
fn dims_out_of_range() {
    let m = msg(t(&[2, 3]).sum_dim(2, false));
    assert!(m.contains("sum") && m.contains("[2, 3]"), "{m}");
    let m = msg(t(&[2, 3]).narrow(1, 2, 2));
    assert!(m.contains("narrow"), "{m}");
    let m = msg(t(&[2, 3]).permute(&[0, 0]));
    assert!(m.contains("permute"), "{m}");
}

#[test]
fn creation_checks_sizes() {
    let e = Tensor::from_vec(vec![1.0f32; 5], &[2, 3]).unwrap_err().to_string();
    assert!(e.contains("from_vec") && e.contains("[2, 3]"), "{e}");
    assert!(Tensor::arange(0.0, 1.0, 0.0, DType::F32).is_err());
}

#[test]
fn out_of_range_index_names_op_value_and_shape() {
    let x = t(&[4, 3]);
    let idx = Tensor::from_vec(vec![1i64, 4], &[2]).unwrap();
    let m = msg(x.index_select(0, &idx));
    assert!(m.contains("index_select") && m.contains('4') && m.contains("[4, 3]"), "{m}");
    let w = t(&[10, 8]);
    let tokens = Tensor::from_vec(vec![3i64, 10], &[1, 2]).unwrap();
    let m = msg(Tensor::embedding(&tokens, &w, None));
    assert!(m.contains("embedding") && m.contains("10"), "{m}");
}

#[test]
fn class_index_at_or_above_c_in_cross_entropy() {
    use glassgrad::ops::loss::Reduction;
    let logits = t(&[2, 3]);
    let target = Tensor::from_vec(vec![0i64, 3], &[2]).unwrap();
    let m = msg(logits.cross_entropy(&target, Reduction::Mean));
    assert!(
        m.contains("cross_entropy") && m.contains('3') && m.contains("[2, 3]") && m.contains("[2]"),
        "{m}"
    );
    let float_target = t(&[2]);
    assert!(logits.cross_entropy(&float_target, Reduction::Mean).is_err());
}
