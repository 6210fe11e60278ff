//! max_pool2d, avg_pool2d, adaptive_avg_pool2d_1x1: the document's pooling formula, PyTorch's
//! numbers, gradchecks, errors, and the PyTorch case files under tests/cases/.

use glassgrad::ops::pool2d::Pool2dParams;
use glassgrad::reference::conv as reference;
use glassgrad::{DType, Generator, Tensor, gradcheck};
use ndarray::Array4;

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed)).unwrap()
}

fn leaf(shape: &[usize], seed: u64) -> Tensor {
    rand(shape, seed).requires_grad_().unwrap()
}

fn array4(t: &Tensor) -> Array4<f64> {
    let sh = t.shape();
    Array4::from_shape_vec((sh[0], sh[1], sh[2], sh[3]), t.to_f64_vec()).unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "element {i}: got {g}, want {w}");
    }
}

fn pp(k: [usize; 2], s: [usize; 2], p: [usize; 2]) -> Pool2dParams {
    Pool2dParams::new(k).with_stride(s).with_padding(p)
}

// ------------------------------------------------------------------ (c) the document's formula

#[test]
fn max_pool_equals_the_documents_formula() {
    let x = rand(&[2, 3, 9, 8], 1);
    for (k, s, p) in [
        ([2, 2], [2, 2], [0, 0]),
        ([3, 3], [2, 2], [0, 0]),
        ([3, 3], [2, 2], [1, 1]),
        ([2, 3], [1, 2], [1, 1]),
        ([3, 2], [3, 1], [1, 0]),
    ] {
        let y = x.max_pool2d(&pp(k, s, p)).unwrap();
        let r = reference::max_pool(&array4(&x), k, s, p);
        assert_eq!(y.shape(), r.shape().to_vec(), "{k:?} {s:?} {p:?}");
        // A max picks one of the values: exact equality.
        assert_eq!(y.to_f64_vec(), r.iter().copied().collect::<Vec<_>>(), "{k:?} {s:?} {p:?}");
    }
}

#[test]
fn max_pool_hand_computed() {
    // 2×2 windows, stride 2 (the document's CNN): the max of each block.
    let x = Tensor::from_vec(
        vec![1.0f32, 2., 5., 0., 3., 4., -1., 6., 0., 0., 2., 2., -3., 7., 2., 1.],
        &[1, 1, 4, 4],
    )
    .unwrap();
    let y = x.max_pool2d(&Pool2dParams::new([2, 2])).unwrap();
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![4.0, 6.0, 7.0, 2.0]);
}

// ------------------------------------------------------------------ PyTorch's numbers

#[test]
fn overlapping_max_pool_accumulates_like_pytorch() {
    // xp = torch.tensor([[1., 5., 2., 0., 3.],[4., 5., 1., 7., 2.],[0., 2., 9., 1., 1.],
    //                    [3., 8., 2., 6., 4.],[1., 0., 4., 2., 5.]]).reshape(1,1,5,5).double().requires_grad_()
    // p = F.max_pool2d(xp, 3, 2)            # [9, 9, 9, 9]: every window holds the centre
    // p.backward(torch.tensor([1., 10., 100., 1000.]).reshape(1,1,2,2).double())
    // xp.grad: 1111 at the centre, 0 elsewhere
    let xv = vec![
        1., 5., 2., 0., 3., 4., 5., 1., 7., 2., 0., 2., 9., 1., 1., 3., 8., 2., 6., 4., 1., 0., 4., 2., 5.,
    ];
    let x = Tensor::from_vec(xv, &[1, 1, 5, 5]).unwrap().requires_grad_().unwrap();
    let y = x.max_pool2d(&Pool2dParams::new([3, 3]).with_stride([2, 2])).unwrap();
    assert_eq!(y.to_f64_vec(), vec![9.0; 4]);
    y.backward_with(&Tensor::from_vec(vec![1., 10., 100., 1000.], &[1, 1, 2, 2]).unwrap()).unwrap();
    let mut want = vec![0.0; 25];
    want[12] = 1111.0;
    assert_eq!(x.grad().unwrap().to_f64_vec(), want);
}

#[test]
fn max_pool_ties_go_to_the_first_maximum() {
    // All equal: each 2×2 window (stride 1) routes its gradient to its top-left element, as
    // PyTorch's CPU kernel does (`val > maxval` keeps the first).
    let x = Tensor::ones(&[1, 1, 3, 3], DType::F64).unwrap().requires_grad_().unwrap();
    let y = x.max_pool2d(&Pool2dParams::new([2, 2]).with_stride([1, 1])).unwrap();
    y.backward_with(&Tensor::from_vec(vec![1., 2., 3., 4.], &[1, 1, 2, 2]).unwrap()).unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![1., 2., 0., 3., 4., 0., 0., 0., 0.]);
}

#[test]
fn avg_pool_count_include_pad_like_pytorch() {
    // xa = torch.arange(1., 17.).reshape(1,1,4,4).double()
    // F.avg_pool2d(xa, 3, 2, 1, count_include_pad=True)  -> [1.5556, 3.3333, 6.3333, 11.0]
    // F.avg_pool2d(xa, 3, 2, 1, count_include_pad=False) -> [3.5, 5.0, 9.5, 11.0]
    let x = Tensor::from_vec((1..=16).map(f64::from).collect(), &[1, 1, 4, 4]).unwrap();
    let p = pp([3, 3], [2, 2], [1, 1]);
    let with = x.avg_pool2d(&p, true).unwrap().to_f64_vec();
    assert_close(&with, &[1.5555555555555556, 3.3333333333333335, 6.333333333333333, 11.0], 1e-15);
    let without = x.avg_pool2d(&p, false).unwrap().to_f64_vec();
    assert_close(&without, &[3.5, 5.0, 9.5, 11.0], 1e-15);
}

#[test]
fn adaptive_avg_pool_is_the_plane_mean() {
    let x = Tensor::from_vec((1..=12).map(f64::from).collect(), &[1, 2, 2, 3]).unwrap();
    let y = x.adaptive_avg_pool2d_1x1().unwrap();
    assert_eq!(y.shape(), vec![1, 2, 1, 1]);
    assert_eq!(y.to_f64_vec(), vec![3.5, 9.5]);
}

// ------------------------------------------------------------------ gradchecks (f64)

#[test]
fn gradcheck_max_pool() {
    // Random inputs have no ties, so the max is differentiable at them.
    for (i, (k, s, p)) in [
        ([2, 2], [2, 2], [0, 0]),
        ([3, 3], [2, 2], [0, 0]),
        ([3, 3], [2, 2], [1, 1]),
        ([2, 3], [1, 2], [1, 1]),
    ]
    .into_iter()
    .enumerate()
    {
        let x = leaf(&[2, 2, 7, 6], 10 + i as u64);
        let r = gradcheck(|t: &[Tensor]| t[0].max_pool2d(&pp(k, s, p)), &[x]).unwrap();
        assert!(r.passed, "{k:?} {s:?} {p:?}: {r}");
    }
}

#[test]
fn gradcheck_avg_pool() {
    for cip in [true, false] {
        for (k, s, p) in [([2, 2], [2, 2], [0, 0]), ([3, 3], [2, 2], [1, 1]), ([2, 3], [1, 2], [1, 1])] {
            let x = leaf(&[2, 2, 6, 7], 20);
            let r = gradcheck(|t: &[Tensor]| t[0].avg_pool2d(&pp(k, s, p), cip), &[x]).unwrap();
            assert!(r.passed, "{k:?} {s:?} {p:?} count_include_pad={cip}: {r}");
        }
    }
}

#[test]
fn gradcheck_adaptive_avg_pool() {
    let r = gradcheck(|t: &[Tensor]| t[0].adaptive_avg_pool2d_1x1(), &[leaf(&[2, 3, 4, 5], 30)]).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn f32_works() {
    let x = rand(&[1, 2, 6, 6], 40);
    let x32 = x.to_dtype(DType::F32).unwrap();
    let p = pp([3, 3], [2, 2], [1, 1]);
    assert_eq!(x32.max_pool2d(&p).unwrap().dtype(), DType::F32);
    assert_close(
        &x32.avg_pool2d(&p, false).unwrap().to_f64_vec(),
        &x.avg_pool2d(&p, false).unwrap().to_f64_vec(),
        1e-6,
    );
}

// ------------------------------------------------------------------ errors

#[test]
fn bad_inputs_are_errors() {
    let x = rand(&[1, 2, 4, 4], 1);
    let m = x.max_pool2d(&Pool2dParams::new([5, 5])).unwrap_err().to_string();
    assert!(m.contains("max_pool2d") && m.contains("[1, 2, 4, 4]") && m.contains("larger"), "{m}");
    let m = x.avg_pool2d(&pp([2, 2], [0, 1], [0, 0]), true).unwrap_err().to_string();
    assert!(m.contains("avg_pool2d") && m.contains("stride"), "{m}");
    let m = x.max_pool2d(&pp([2, 2], [2, 2], [2, 0])).unwrap_err().to_string();
    assert!(m.contains("at most half"), "{m}");
    let m = rand(&[2, 4, 4], 1).max_pool2d(&Pool2dParams::new([2, 2])).unwrap_err().to_string();
    assert!(m.contains("4-D") && m.contains("[2, 4, 4]"), "{m}");
    assert!(x.max_pool2d(&Pool2dParams::new([0, 2])).is_err());
    let m = rand(&[1, 1, 0, 3], 1).max_pool2d(&pp([2, 2], [1, 1], [1, 1])).unwrap_err().to_string();
    assert!(m.contains("empty"), "{m}");
    let m = rand(&[2, 4], 1).adaptive_avg_pool2d_1x1().unwrap_err().to_string();
    assert!(m.contains("adaptive_avg_pool2d") && m.contains("[2, 4]"), "{m}");
    let i = Tensor::zeros(&[1, 1, 2, 2], DType::I64).unwrap();
    assert!(i.max_pool2d(&Pool2dParams::new([2, 2])).unwrap_err().to_string().contains("int64"));
    assert_eq!(
        Pool2dParams::new([3, 3]).with_stride([2, 2]).output_shape(&[1, 1, 9, 8]).unwrap(),
        vec![1, 1, 4, 3]
    );
}

// ------------------------------------------------------------------ PyTorch case files

/// A throwaway reader of the case files (the real runner is `glassgrad check`, on another branch).
fn check_case(
    path: &std::path::Path,
    f: impl Fn(&std::collections::HashMap<String, String>, &Tensor) -> Tensor,
) {
    use safetensors::SafeTensors;
    let bytes = std::fs::read(path).unwrap();
    let meta = SafeTensors::read_metadata(&bytes).unwrap().1.metadata().clone().unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let get = |name: &str| {
        let v = st.tensor(name).unwrap();
        match v.dtype() {
            safetensors::Dtype::F32 => Tensor::from_vec(
                v.data().chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect::<Vec<_>>(),
                v.shape(),
            ),
            _ => Tensor::from_vec(
                v.data().chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect::<Vec<_>>(),
                v.shape(),
            ),
        }
        .unwrap()
    };
    let x = get("input.x").requires_grad_().unwrap();
    let (atol, rtol) = if x.dtype() == DType::F32 { (1e-5, 1e-4) } else { (1e-10, 1e-8) };
    let y = f(&meta, &x);
    y.backward_with(&get("grad_output.0")).unwrap();
    for (got, want) in [(y, get("expected.output.0")), (x.grad().unwrap(), get("expected.grad.x"))] {
        assert_eq!(got.shape(), want.shape(), "{}", path.display());
        for (i, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
            assert!((g - w).abs() <= atol + rtol * w.abs(), "{} [{i}]: got {g} want {w}", path.display());
        }
    }
}

fn pair(meta: &std::collections::HashMap<String, String>, key: &str) -> Option<[usize; 2]> {
    meta.get(key).map(|v| {
        let a: Vec<usize> = serde_json::from_str(v).unwrap();
        [a[0], a[1]]
    })
}

fn params_of(meta: &std::collections::HashMap<String, String>) -> Pool2dParams {
    let k = pair(meta, "kernel_size").unwrap();
    Pool2dParams::new(k)
        .with_stride(pair(meta, "stride").unwrap_or(k))
        .with_padding(pair(meta, "padding").unwrap_or([0, 0]))
}

fn case_files(op: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(op);
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn pytorch_cases_max_pool2d() {
    let files = case_files("max_pool2d");
    assert_eq!(files.len(), 10);
    for path in files {
        check_case(&path, |m, x| x.max_pool2d(&params_of(m)).unwrap());
    }
}

#[test]
fn pytorch_cases_avg_pool2d() {
    let files = case_files("avg_pool2d");
    assert_eq!(files.len(), 8);
    for path in files {
        check_case(&path, |m, x| {
            let cip = m.get("count_include_pad").is_none_or(|v| v == "true");
            x.avg_pool2d(&params_of(m), cip).unwrap()
        });
    }
}
