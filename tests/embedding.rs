//! `Tensor::embedding` (dense gradient) and `Tensor::embedding_sparse_grad` (row-sparse gradient):
//! hand-computed values, repeated ids, padding_idx, PyTorch's `F.embedding` (case files from
//! `tests/cases/make_cases_seq.py`), finite differences, and bad input.

mod seq_support;

use glassgrad::{DType, Error, Tensor, gradcheck};
use seq_support::{assert_close, case_files, load_case, randn};

/// The table W (4, 2) with W[v] = (10v, 10v + 1).
fn table() -> Tensor {
    Tensor::from_vec(vec![0.0f64, 1.0, 10.0, 11.0, 20.0, 21.0, 30.0, 31.0], &[4, 2]).unwrap()
}

fn ids(v: Vec<i64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap()
}

#[test]
fn gathers_rows_for_any_index_shape() {
    let y = Tensor::embedding(&ids(vec![1, 3, 1, 0], &[2, 2]), &table(), None).unwrap();
    assert_eq!(y.shape(), vec![2, 2, 2]);
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![10.0, 11.0, 30.0, 31.0, 10.0, 11.0, 0.0, 1.0]);
    let y = Tensor::embedding(&Tensor::scalar(2i64), &table(), None).unwrap();
    assert_eq!((y.shape(), y.to_vec::<f64>().unwrap()), (vec![2], vec![20.0, 21.0]));
    let w32 = table().to_dtype(DType::F32).unwrap();
    let y = Tensor::embedding(&ids(vec![3], &[1]), &w32, None).unwrap();
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![30.0, 31.0]);
}

#[test]
fn repeated_ids_accumulate_and_padding_gets_no_gradient() {
    let w = table().requires_grad_().unwrap();
    // ids (2, 3) = [[1, 2, 1], [0, 1, 2]], upstream gradient g[p] = (p, 100p) for position p.
    let g: Vec<f64> = (0..6).flat_map(|p| [p as f64, 100.0 * p as f64]).collect();
    let g = Tensor::from_vec(g, &[2, 3, 2]).unwrap();
    let y = Tensor::embedding(&ids(vec![1, 2, 1, 0, 1, 2], &[2, 3]), &w, Some(2)).unwrap();
    // The padding row is still read.
    assert_eq!(&y.to_vec::<f64>().unwrap()[2..4], &[20.0, 21.0]);
    y.backward_with(&g).unwrap();
    // Row 0: position 3. Row 1: positions 0, 2, 4. Row 2: padding. Row 3: never read.
    assert_eq!(w.grad().unwrap().to_vec::<f64>().unwrap(), vec![3.0, 300.0, 6.0, 600.0, 0.0, 0.0, 0.0, 0.0]);
    // Negative padding_idx counts from the end (−2 is row 2 of 4).
    let w2 = table().requires_grad_().unwrap();
    Tensor::embedding(&ids(vec![1, 2, 1, 0, 1, 2], &[2, 3]), &w2, Some(-2))
        .unwrap()
        .backward_with(&g)
        .unwrap();
    assert_eq!(w2.grad().unwrap().to_vec::<f64>().unwrap(), w.grad().unwrap().to_vec::<f64>().unwrap());
}

#[test]
fn sparse_gradient_equals_the_dense_one_and_accumulates() {
    let idx = ids(vec![3, 1, 3, 3, 0, 1], &[3, 2]);
    let g = randn(&[3, 2, 2], 5);
    let dense_w = table().requires_grad_().unwrap();
    Tensor::embedding(&idx, &dense_w, Some(0)).unwrap().backward_with(&g).unwrap();
    let dense = dense_w.grad().unwrap();

    let w = table().requires_grad_().unwrap();
    Tensor::embedding_sparse_grad(&idx, &w, Some(0)).unwrap().backward_with(&g).unwrap();
    assert!(w.grad().is_none(), "the dense gradient stays untouched");
    let sg = w.sparse_grad().unwrap();
    assert_eq!(sg.rows, vec![1, 3]); // sorted, unique, no padding row
    assert_eq!(sg.values.shape(), vec![2, 2]);
    assert_eq!(sg.to_dense(4).unwrap().to_vec::<f64>().unwrap(), dense.to_vec::<f64>().unwrap());
    // Row 3 = g[0] + g[2] + g[3], added in position order.
    let gv = g.to_vec::<f64>().unwrap();
    let row3 = sg.values.to_vec::<f64>().unwrap()[2..4].to_vec();
    assert_eq!(row3, vec![gv[0] + gv[4] + gv[6], gv[1] + gv[5] + gv[7]]);

    // A second pass over other ids: the union of rows, values added.
    Tensor::embedding_sparse_grad(&ids(vec![2, 3], &[2]), &w, Some(0))
        .unwrap()
        .backward_with(&Tensor::ones(&[2, 2], DType::F64).unwrap())
        .unwrap();
    let sg2 = w.sparse_grad().unwrap();
    assert_eq!(sg2.rows, vec![1, 2, 3]);
    let v2 = sg2.values.to_vec::<f64>().unwrap();
    assert_eq!(&v2[2..4], &[1.0, 1.0]);
    assert_eq!(&v2[4..6], &[row3[0] + 1.0, row3[1] + 1.0]);
    // An optimizer takes it (and so clears it).
    assert_eq!(w.take_sparse_grad().unwrap().rows, vec![1, 2, 3]);
    assert!(w.sparse_grad().is_none());
    // Another table's sparse gradient is its own.
    let other = table().requires_grad_().unwrap();
    assert!(other.sparse_grad().is_none());
}

#[test]
fn matches_pytorch_cases() {
    let files = case_files("embedding");
    assert!(files.len() >= 4);
    for path in &files {
        let case = load_case(path);
        let what = |s: &str| format!("{}: {s}", path.display());
        let pad = case.meta.get("padding_idx").map(|p| p.parse::<i64>().unwrap());
        let w = case.tensors["input.weight"].detach().requires_grad_().unwrap();
        let y = Tensor::embedding(&case.tensors["input.indices"], &w, pad).unwrap();
        assert_close(&what("output"), &y, &case.tensors["expected.output.0"]);
        y.backward_with(&case.tensors["grad_output.0"]).unwrap();
        assert_close(&what("grad weight"), &w.grad().unwrap(), &case.tensors["expected.grad.weight"]);
    }
}

#[test]
fn gradcheck_weight_with_repeats() {
    let w = randn(&[5, 3], 1).requires_grad_().unwrap();
    let idx = ids(vec![4, 1, 4, 0, 2, 4, 1, 0], &[2, 4]);
    let r =
        gradcheck(|xs: &[Tensor]| Tensor::embedding(&idx, &xs[0], None)?.tanh(), std::slice::from_ref(&w))
            .unwrap();
    assert!(r.passed, "{r}");
    assert_eq!(r.checked, 15);
    // With padding_idx the padding row is still read but gets no gradient (PyTorch's rule), so
    // finite differences disagree exactly there: row 1, elements 3..6 of the flat table.
    let r = gradcheck(|xs: &[Tensor]| Tensor::embedding(&idx, &xs[0], Some(1))?.tanh(), &[w]).unwrap();
    assert!(!r.passed && (3..6).contains(&r.worst.1) && r.analytical == 0.0, "{r}");
}

#[test]
fn bad_input_names_the_op_and_the_sizes() {
    let msg = |r: glassgrad::Result<Tensor>| r.expect_err("expected an error");
    let e = msg(Tensor::embedding(&ids(vec![0, 4, 1], &[3]), &table(), None));
    assert!(matches!(e, Error::Index { op: "embedding", index: 4, size: 4, .. }), "{e}");
    let m = e.to_string();
    assert!(m.contains("embedding") && m.contains('4') && m.contains("[4, 2]"), "{m}");
    let e = msg(Tensor::embedding(&ids(vec![-1], &[1]), &table(), None));
    assert!(matches!(e, Error::Index { op: "embedding", index: -1, .. }), "{e}");
    let m = msg(Tensor::embedding(&table(), &table(), None)).to_string();
    assert!(m.contains("embedding") && m.contains("float64") && m.contains("int64"), "{m}");
    let m = msg(Tensor::embedding(&ids(vec![0], &[1]), &randn(&[4], 1), None)).to_string();
    assert!(m.contains("embedding") && m.contains("[4]"), "{m}");
    let e = msg(Tensor::embedding(&ids(vec![0], &[1]), &table(), Some(4)));
    assert!(matches!(e, Error::Index { op: "embedding", index: 4, size: 4, .. }), "{e}");
    let nonleaf = table().requires_grad_().unwrap().mul_scalar(2.0).unwrap();
    let m = msg(Tensor::embedding_sparse_grad(&ids(vec![0], &[1]), &nonleaf, None)).to_string();
    assert!(m.contains("embedding") && m.contains("leaf"), "{m}");
}
