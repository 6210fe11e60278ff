//! conv2d and conv1d: the document's formula, PyTorch's numbers, gradchecks, errors, and the
//! PyTorch case files under tests/cases/conv2d/.

use glassgrad::ops::conv2d::{Conv2dParams, ConvMode};
use glassgrad::reference::conv as reference;
use glassgrad::{DType, Error, Generator, Tensor, gradcheck};
use ndarray::{Array1, Array4, s};

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

fn params(stride: [usize; 2], padding: [usize; 2], mode: ConvMode) -> Conv2dParams {
    Conv2dParams { stride, padding, mode, ..Default::default() }
}

// ------------------------------------------------------------------ (a) the document's formula

#[test]
fn convolution_mode_matches_hand_computed_document_formula() {
    // x = [[1,2,3],[4,5,6],[7,8,9]], k = [[1,2],[3,4]]; valid range i, j ∈ {2, 3}:
    // y_22 = x22·k11 + x21·k12 + x12·k21 + x11·k22 = 5 + 8 + 6 + 4 = 23,
    // y_23 = 6 + 10 + 9 + 8 = 33, y_32 = 8 + 14 + 15 + 16 = 53, y_33 = 9 + 16 + 18 + 20 = 63.
    let x = Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3]).unwrap();
    let k = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]).unwrap();
    let y = x.conv2d(&k, None, &params([1, 1], [0, 0], ConvMode::Convolution)).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![23.0, 33.0, 53.0, 63.0]);
    // Cross-correlation reads the window forwards: 1·1 + 2·2 + 4·3 + 5·4 = 37, ...
    let y = x.conv2d(&k, None, &Conv2dParams::default()).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![37.0, 47.0, 67.0, 77.0]);
    // And the literal transcription agrees with the engine.
    let r = reference::conv2d_convolution(&array4(&x), &array4(&k), None, [1, 1], [0, 0]);
    assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![23.0, 33.0, 53.0, 63.0]);
}

#[test]
fn convolution_mode_equals_the_literal_formula() {
    let x = rand(&[2, 3, 7, 6], 1);
    let w = rand(&[4, 3, 3, 2], 2);
    let b = rand(&[4], 3);
    let b_arr = Array1::from(b.to_f64_vec());
    for (stride, padding) in
        [([1, 1], [0, 0]), ([1, 1], [1, 1]), ([2, 1], [1, 0]), ([2, 3], [2, 1]), ([1, 1], [2, 1])]
    {
        let y = x.conv2d(&w, Some(&b), &params(stride, padding, ConvMode::Convolution)).unwrap();
        let r = reference::conv2d_convolution(&array4(&x), &array4(&w), Some(&b_arr), stride, padding);
        assert_eq!(y.shape(), r.shape().to_vec(), "stride {stride:?} padding {padding:?}");
        assert_close(&y.to_f64_vec(), &r.iter().copied().collect::<Vec<_>>(), 1e-12);
    }
}

// ------------------------------------------------------------------ (b) flip relation

#[test]
fn cross_correlation_is_convolution_with_the_flipped_kernel() {
    let x = rand(&[2, 3, 6, 7], 4);
    let w = rand(&[4, 3, 3, 2], 5);
    let flipped = array4(&w).slice(s![.., .., ..;-1, ..;-1]).to_owned();
    let w_flipped = Tensor::from_array(flipped);
    for (stride, padding) in [([1, 1], [0, 0]), ([2, 1], [1, 1])] {
        let cc = x.conv2d(&w, None, &params(stride, padding, ConvMode::CrossCorrelation)).unwrap();
        let conv = x.conv2d(&w_flipped, None, &params(stride, padding, ConvMode::Convolution)).unwrap();
        // Same additions in the same order: bit-identical.
        assert_eq!(cc.to_f64_vec(), conv.to_f64_vec());
        let r = reference::conv2d_cross_correlation(&array4(&x), &array4(&w), None, stride, padding);
        assert_close(&cc.to_f64_vec(), &r.iter().copied().collect::<Vec<_>>(), 1e-12);
    }
}

// ------------------------------------------------------------------ PyTorch's numbers

#[test]
fn conv2d_matches_pytorch_stride_padding_groups() {
    // x = (torch.arange(1., 33.).reshape(1, 2, 4, 4) / 8).double().requires_grad_()
    // w = torch.tensor([1., -2., 0.5, 3., -1., 2., 0., 1.5]).reshape(2, 1, 2, 2).double().requires_grad_()
    // b = torch.tensor([0.25, -0.5]).double().requires_grad_()
    // y = F.conv2d(x, w, b, stride=[2, 1], padding=[1, 0], groups=2); y.pow(2).sum().backward()
    let x = Tensor::from_vec((1..=32).map(|v| v as f64 / 8.0).collect(), &[1, 2, 4, 4])
        .unwrap()
        .requires_grad_()
        .unwrap();
    let w = Tensor::from_vec(vec![1., -2., 0.5, 3., -1., 2., 0., 1.5], &[2, 1, 2, 2])
        .unwrap()
        .requires_grad_()
        .unwrap();
    let b = Tensor::from_vec(vec![0.25, -0.5], &[2]).unwrap().requires_grad_().unwrap();
    let p = Conv2dParams { stride: [2, 1], padding: [1, 0], groups: 2, ..Default::default() };
    let y = x.conv2d(&w, Some(&b), &p).unwrap();
    assert_eq!(y.shape(), vec![1, 2, 3, 3]);
    let want_y = [
        1.0625, 1.5, 1.9375, 3.6875, 4.0, 4.3125, -1.625, -1.75, -1.875, 2.875, 3.0625, 3.25, 7.25, 7.5625,
        7.875, 3.375, 3.5, 3.625,
    ];
    assert_close(&y.to_f64_vec(), &want_y, 1e-12);
    y.mul(&y).unwrap().sum().unwrap().backward().unwrap();
    let want_dx = [
        1.0625, 7.875, 10.9375, 11.625, 7.375, -6.75, -7.375, -17.25, 3.6875, 26.125, 28.3125, 25.875, -3.25,
        3.0, 3.25, 7.5, 0.0, 8.625, 9.1875, 9.75, -14.5, 13.875, 14.5, 31.5, 0.0, 21.75, 22.6875, 23.625,
        -6.75, 6.5, 6.75, 14.5,
    ];
    assert_close(&x.grad().unwrap().to_f64_vec(), &want_dx, 1e-12);
    let want_dw = [-0.28125, 1.40625, 32.625, 36.75, 203.75, 212.046875, 189.0625, 197.03125];
    assert_close(&w.grad().unwrap().to_f64_vec(), &want_dw, 1e-12);
    assert_close(&b.grad().unwrap().to_f64_vec(), &[22.5, 84.75], 1e-12);
}

#[test]
fn conv1d_matches_pytorch() {
    // x1 = torch.arange(1., 11.).reshape(1, 2, 5).double()
    // w1 = torch.tensor([1., 0., -1., 0.5, 2., 0.5]).reshape(2, 1, 3).double()
    // F.conv1d(x1, w1, None, stride=2, padding=1, groups=2)
    let x = Tensor::from_vec((1..=10).map(f64::from).collect(), &[1, 2, 5]).unwrap();
    let w = Tensor::from_vec(vec![1., 0., -1., 0.5, 2., 0.5], &[2, 1, 3]).unwrap();
    let y = x.conv1d(&w, None, 2, 1, 1, 2).unwrap();
    assert_eq!(y.shape(), vec![1, 2, 3]);
    assert_eq!(y.to_f64_vec(), vec![-2.0, -2.0, 4.0, 15.5, 24.0, 24.5]);
}

#[test]
fn f32_and_f64_agree() {
    let x = rand(&[3, 4, 9, 8], 6);
    let w = rand(&[6, 2, 3, 3], 7);
    let b = rand(&[6], 8);
    let p = Conv2dParams { stride: [2, 1], padding: [1, 1], groups: 2, ..Default::default() };
    let y64 = x.conv2d(&w, Some(&b), &p).unwrap();
    let f = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
    let y32 = f(&x).conv2d(&f(&w), Some(&f(&b)), &p).unwrap();
    assert_eq!(y32.dtype(), DType::F32);
    assert_close(&y32.to_f64_vec(), &y64.to_f64_vec(), 1e-5);
}

// ------------------------------------------------------------------ gradchecks (f64)

fn check_conv(x: &[usize], w: &[usize], bias: bool, p: Conv2dParams, seed: u64) {
    let mut inputs = vec![leaf(x, seed), leaf(w, seed + 1)];
    if bias {
        inputs.push(leaf(&[w[0]], seed + 2));
    }
    let r = gradcheck(|t: &[Tensor]| t[0].conv2d(&t[1], t.get(2), &p), &inputs).unwrap();
    assert!(r.passed, "{p:?}: {r}");
}

#[test]
fn gradcheck_conv2d_every_configuration() {
    let cc = ConvMode::CrossCorrelation;
    let cv = ConvMode::Convolution;
    for mode in [cc, cv] {
        let d = Conv2dParams { mode, ..Default::default() };
        check_conv(&[2, 2, 5, 5], &[3, 2, 3, 3], true, d, 10);
        check_conv(
            &[2, 2, 6, 5],
            &[3, 2, 3, 3],
            true,
            Conv2dParams { stride: [2, 2], padding: [1, 1], ..d },
            20,
        );
        check_conv(
            &[1, 2, 7, 7],
            &[2, 2, 3, 2],
            true,
            Conv2dParams { dilation: [2, 3], padding: [1, 2], ..d },
            30,
        );
        check_conv(&[2, 4, 5, 4], &[4, 2, 2, 3], true, Conv2dParams { groups: 2, padding: [1, 0], ..d }, 40);
        check_conv(
            &[1, 2, 6, 7],
            &[3, 2, 2, 4],
            false,
            Conv2dParams { stride: [2, 1], padding: [0, 2], ..d },
            50,
        );
        check_conv(&[2, 3, 4, 3], &[2, 3, 1, 1], true, d, 60); // pointwise path (no im2col)
        check_conv(&[5, 1, 4, 4], &[2, 1, 2, 2], true, Conv2dParams { stride: [2, 2], ..d }, 70); // > DW_CHUNK samples
        // Row stride 1 (the implicit GEMM's wide grid) with a column stride, a dilation, padding
        // wider than the kernel's reach, and a reduction of 135 > k_c (two depth blocks).
        check_conv(
            &[2, 2, 5, 7],
            &[3, 2, 3, 3],
            true,
            Conv2dParams { stride: [1, 2], padding: [1, 1], ..d },
            80,
        );
        check_conv(
            &[1, 2, 6, 9],
            &[2, 2, 2, 3],
            true,
            Conv2dParams { stride: [1, 3], dilation: [2, 2], ..d },
            90,
        );
        check_conv(&[1, 15, 4, 5], &[9, 15, 3, 3], true, Conv2dParams { padding: [2, 1], ..d }, 100);
    }
}

/// The implicit GEMM (row stride 1) against the literal transcription on sizes that leave partial
/// micro-tiles in every direction and several column panels and depth blocks.
#[test]
fn implicit_gemm_matches_the_reference_on_larger_shapes() {
    for (xs, ws, stride, padding, seed) in [
        ([3usize, 16, 9, 11], [20usize, 16, 3, 3], [1usize, 1], [1usize, 1], 110u64),
        ([2, 9, 12, 13], [17, 9, 3, 5], [1, 2], [2, 0], 120),
        ([2, 3, 28, 28], [32, 3, 3, 3], [1, 1], [1, 1], 130),
    ] {
        let (x, w) = (rand(&xs, seed), rand(&ws, seed + 1));
        let b = rand(&[ws[0]], seed + 2);
        let p = params(stride, padding, ConvMode::CrossCorrelation);
        let y = x.conv2d(&w, Some(&b), &p).unwrap();
        let b_arr = Array1::from(b.to_f64_vec());
        let r = reference::conv2d_cross_correlation(&array4(&x), &array4(&w), Some(&b_arr), stride, padding);
        assert_eq!(y.shape(), r.shape().to_vec(), "{xs:?} * {ws:?}");
        assert_close(&y.to_f64_vec(), &r.iter().copied().collect::<Vec<_>>(), 1e-12);
    }
}

#[test]
fn gradcheck_conv1d() {
    let inputs = [leaf(&[2, 4, 9], 80), leaf(&[4, 2, 3], 81), leaf(&[4], 82)];
    let r = gradcheck(|t: &[Tensor]| t[0].conv1d(&t[1], Some(&t[2]), 2, 1, 2, 2), &inputs).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn gradient_only_for_inputs_that_require_it() {
    let x = rand(&[1, 2, 4, 4], 90);
    let w = leaf(&[3, 2, 3, 3], 91);
    let y = x.conv2d(&w, None, &Conv2dParams::default()).unwrap();
    y.sum().unwrap().backward().unwrap();
    assert!(x.grad().is_none());
    assert_eq!(w.grad().unwrap().shape(), vec![3, 2, 3, 3]);
}

#[test]
fn non_contiguous_input_is_handled() {
    let x = rand(&[1, 2, 5, 6], 92);
    let xt = x.transpose(2, 3).unwrap(); // (1, 2, 6, 5), a strided view
    let w = rand(&[2, 2, 3, 3], 93);
    let want = xt.contiguous().unwrap().conv2d(&w, None, &Conv2dParams::default()).unwrap();
    let got = xt.conv2d(&w, None, &Conv2dParams::default()).unwrap();
    assert_eq!(got.to_f64_vec(), want.to_f64_vec());
}

// ------------------------------------------------------------------ errors

fn err(x: &[usize], w: &[usize], p: Conv2dParams) -> String {
    let e = rand(x, 1).conv2d(&rand(w, 2), None, &p).unwrap_err();
    e.to_string()
}

#[test]
fn bad_inputs_are_errors_naming_op_and_shapes() {
    let d = Conv2dParams::default();
    let m = err(&[1, 3, 5, 5], &[2, 4, 3, 3], d);
    assert!(
        m.contains("conv2d")
            && m.contains("[1, 3, 5, 5]")
            && m.contains("[2, 4, 3, 3]")
            && m.contains("channels"),
        "{m}"
    );
    let m = err(&[1, 3, 2, 5], &[2, 3, 3, 3], d);
    assert!(m.contains("larger than the padded input"), "{m}");
    assert!(
        rand(&[1, 3, 2, 5], 1)
            .conv2d(&rand(&[2, 3, 3, 3], 2), None, &Conv2dParams { padding: [1, 0], ..d })
            .is_ok()
    );
    let m = err(&[1, 3, 5, 5], &[2, 3, 3, 3], Conv2dParams { stride: [0, 1], ..d });
    assert!(m.contains("stride") && m.contains("[1, 3, 5, 5]"), "{m}");
    let m = err(&[1, 3, 5, 5], &[2, 1, 3, 3], Conv2dParams { groups: 2, ..d });
    assert!(m.contains("groups 2 does not divide the 3 input channels"), "{m}");
    let m = err(&[1, 4, 5, 5], &[3, 2, 3, 3], Conv2dParams { groups: 2, ..d });
    assert!(m.contains("output channels"), "{m}");
    let m = err(&[3, 5, 5], &[2, 3, 3, 3], d);
    assert!(m.contains("4-D") && m.contains("[3, 5, 5]"), "{m}");
    let m = err(&[1, 3, 5, 5], &[2, 3, 3], d);
    assert!(m.contains("weight must be 4-D"), "{m}");
    assert!(err(&[1, 3, 5, 5], &[2, 3, 3, 3], Conv2dParams { dilation: [1, 0], ..d }).contains("dilation"));
    assert!(err(&[1, 3, 5, 5], &[2, 3, 3, 3], Conv2dParams { groups: 0, ..d }).contains("groups"));

    let (x, w) = (rand(&[1, 3, 5, 5], 1), rand(&[2, 3, 3, 3], 2));
    let e = x.conv2d(&w, Some(&rand(&[3], 3)), &d).unwrap_err();
    assert!(
        matches!(e, Error::ShapeMismatch { op: "conv2d", .. })
            && e.to_string().contains("bias must have shape [2]"),
        "{e}"
    );
    let e = x.conv2d(&w.to_dtype(DType::F32).unwrap(), None, &d).unwrap_err();
    assert!(matches!(e, Error::DTypeMismatch { op: "conv2d", .. }), "{e}");
    let e = x.conv2d(&w, Some(&rand(&[2], 3).to_dtype(DType::F32).unwrap()), &d).unwrap_err();
    assert!(matches!(e, Error::DTypeMismatch { op: "conv2d", .. }), "{e}");
    assert!(d.output_shape(&[1, 3, 5, 5], &[2, 3, 3, 3]).unwrap() == vec![1, 2, 3, 3]);

    let e = rand(&[1, 3, 5], 1).conv1d(&rand(&[2, 2, 3], 2), None, 1, 0, 1, 1).unwrap_err();
    assert!(e.to_string().starts_with("conv1d") && e.to_string().contains("[1, 3, 5]"), "{e}");
    let e = rand(&[1, 3, 5, 5], 1).conv1d(&rand(&[2, 3, 3], 2), None, 1, 0, 1, 1).unwrap_err();
    assert!(e.to_string().contains("3-D"), "{e}");
    let e = rand(&[1, 3, 2], 1).conv1d(&rand(&[2, 3, 3], 2), None, 1, 0, 1, 1).unwrap_err();
    assert!(e.to_string().starts_with("conv1d") && e.to_string().contains("larger"), "{e}");
}

// ------------------------------------------------------------------ PyTorch case files

/// A throwaway check of the case files (the real runner is `glassgrad check`, on another branch).
mod cases {
    use super::*;
    use safetensors::SafeTensors;
    use std::collections::HashMap;

    pub struct Case {
        pub meta: HashMap<String, String>,
        pub tensors: HashMap<String, Tensor>,
    }

    pub fn load(path: &std::path::Path) -> Case {
        let bytes = std::fs::read(path).unwrap();
        let (_, m) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = m.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let t = match view.dtype() {
                safetensors::Dtype::F32 => Tensor::from_vec(
                    view.data()
                        .chunks(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                        .collect::<Vec<_>>(),
                    view.shape(),
                ),
                safetensors::Dtype::F64 => Tensor::from_vec(
                    view.data()
                        .chunks(8)
                        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                        .collect::<Vec<_>>(),
                    view.shape(),
                ),
                d => panic!("{name}: dtype {d:?}"),
            };
            tensors.insert(name, t.unwrap());
        }
        Case { meta, tensors }
    }

    pub fn pair(meta: &HashMap<String, String>, key: &str, default: [usize; 2]) -> [usize; 2] {
        match meta.get(key).map(|v| serde_json::from_str::<serde_json::Value>(v).unwrap()) {
            None | Some(serde_json::Value::Null) => default,
            Some(serde_json::Value::Number(n)) => [n.as_u64().unwrap() as usize; 2],
            Some(v) => {
                let a: Vec<usize> = serde_json::from_value(v).unwrap();
                [a[0], a[1]]
            }
        }
    }

    /// Runs `forward` on the case's inputs, backpropagates `grad_output.0`, compares everything;
    /// returns the worst |got − want|.
    pub fn check(
        path: &std::path::Path,
        inputs: &[&str],
        forward: impl Fn(&Case, &[Tensor]) -> Tensor,
    ) -> f64 {
        let case = load(path);
        let leaves: Vec<Tensor> = inputs
            .iter()
            .filter_map(|n| case.tensors.get(&format!("input.{n}")))
            .map(|t| t.detach().requires_grad_().unwrap())
            .collect();
        let f32 = leaves[0].dtype() == DType::F32;
        let atol: f64 = case.meta.get("atol").map_or(if f32 { 1e-5 } else { 1e-10 }, |v| v.parse().unwrap());
        let rtol: f64 = case.meta.get("rtol").map_or(if f32 { 1e-4 } else { 1e-8 }, |v| v.parse().unwrap());
        let y = forward(&case, &leaves);
        y.backward_with(&case.tensors["grad_output.0"]).unwrap();
        let mut worst = 0.0f64;
        let mut cmp = |what: &str, got: &Tensor, want: &Tensor| {
            assert_eq!(got.shape(), want.shape(), "{}: {what}", path.display());
            for (i, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
                let e = (g - w).abs();
                assert!(e <= atol + rtol * w.abs(), "{}: {what}[{i}] got {g} want {w}", path.display());
                worst = worst.max(e);
            }
        };
        cmp("output", &y, &case.tensors["expected.output.0"]);
        let names: Vec<&&str> =
            inputs.iter().filter(|n| case.tensors.contains_key(&format!("input.{n}"))).collect();
        for (n, l) in names.iter().zip(&leaves) {
            cmp(n, &l.grad().unwrap(), &case.tensors[&format!("expected.grad.{n}")]);
        }
        worst
    }

    pub fn files(op: &str) -> Vec<std::path::PathBuf> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(op);
        let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    }
}

#[test]
fn pytorch_cases_conv2d() {
    let files = cases::files("conv2d");
    assert!(files.len() >= 20);
    for path in files {
        let worst = cases::check(&path, &["x", "weight", "bias"], |c, t| {
            let m = &c.meta;
            let mode = match m.get("mode").map(|v| serde_json::from_str::<String>(v).unwrap()).as_deref() {
                None | Some("cross_correlation") => ConvMode::CrossCorrelation,
                Some("convolution") => ConvMode::Convolution,
                Some(other) => panic!("mode {other}"),
            };
            let p = Conv2dParams {
                stride: cases::pair(m, "stride", [1, 1]),
                padding: cases::pair(m, "padding", [0, 0]),
                dilation: cases::pair(m, "dilation", [1, 1]),
                groups: m.get("groups").map_or(1, |g| g.parse().unwrap()),
                mode,
            };
            t[0].conv2d(&t[1], t.get(2), &p).unwrap()
        });
        eprintln!("PASS {} max_abs={worst:.2e}", path.display());
    }
}

// ------------------------------------------------------------------ measurements (run by hand)

/// The numbers quoted in `ops/conv2d`'s module docs:
/// `cargo test --release --test conv2d -- --ignored --nocapture measure`.
#[test]
#[ignore]
fn measure_kernel_choices() {
    use glassgrad::device::cpu::scratch;
    use glassgrad::ops::conv2d::cpu::{Geometry, im2col};
    use std::time::Instant;

    fn best_ms(mut f: impl FnMut()) -> f64 {
        f();
        let mut t: Vec<f64> = (0..30)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        // The best of 30: the build machine is shared, and the minimum is the least disturbed run.
        t.sort_by(f64::total_cmp);
        t[0]
    }

    /// Minor page faults of this process so far (field 10 of /proc/self/stat; Linux only).
    fn minor_faults() -> u64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let rest = stat.rsplit(')').next().unwrap_or("");
        rest.split_whitespace().nth(7).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
    fn faults_per_call(mut f: impl FnMut()) -> u64 {
        f();
        let before = minor_faults();
        for _ in 0..10 {
            f();
        }
        (minor_faults() - before) / 10
    }

    /// The alternative: im2col of the whole batch into one (K, N·OH·OW) matrix, one GEMM, then
    /// the (O, N, OH·OW) → (N, O, OH·OW) permuting copy.
    fn batch_gemm(g: &Geometry, x: &[f32], w: &[f32]) -> Vec<f32> {
        let (k, ohw, chw) = (g.k(), g.ohw(), g.c * g.h * g.w);
        let cols_len = k * g.n * ohw;
        let mut cols = scratch::take::<f32>(cols_len);
        let mut one = scratch::take::<f32>(k * ohw);
        for n in 0..g.n {
            im2col(g, &x[n * chw..(n + 1) * chw], &mut one);
            for r in 0..k {
                cols[r * g.n * ohw + n * ohw..r * g.n * ohw + (n + 1) * ohw]
                    .copy_from_slice(&one[r * ohw..(r + 1) * ohw]);
            }
        }
        let mut out = scratch::take::<f32>(g.o * g.n * ohw);
        let nn = g.n * ohw;
        unsafe {
            matrixmultiply::sgemm(
                g.o,
                k,
                nn,
                1.0,
                w.as_ptr(),
                k as isize,
                1,
                cols.as_ptr(),
                nn as isize,
                1,
                0.0,
                out.as_mut_ptr(),
                nn as isize,
                1,
            );
        }
        let mut y = vec![0.0f32; g.n * g.o * ohw];
        for o in 0..g.o {
            for n in 0..g.n {
                y[(n * g.o + o) * ohw..(n * g.o + o + 1) * ohw]
                    .copy_from_slice(&out[(o * g.n + n) * ohw..(o * g.n + n + 1) * ohw]);
            }
        }
        scratch::give(cols);
        scratch::give(one);
        scratch::give(out);
        y
    }

    // The fault counter works: a fresh 64 MiB buffer (above glibc's largest mmap threshold) faults
    // in every page.
    let big = faults_per_call(|| drop(std::hint::black_box(vec![1u8; 64 << 20])));
    println!("sanity: a fresh 64 MiB buffer costs {big} page faults per call");
    assert!(big > 10_000);

    let mut rng = Generator::new(0);
    for (name, xs, ws) in
        [("3→32 28×28", [64, 3, 28, 28], [32, 3, 3, 3]), ("32→64 14×14", [64, 32, 14, 14], [64, 32, 3, 3])]
    {
        let x = Tensor::randn(&xs, DType::F32, &mut rng).unwrap();
        let w = Tensor::randn(&ws, DType::F32, &mut rng).unwrap();
        let p = Conv2dParams { padding: [1, 1], ..Default::default() };
        let g = p.geometry("conv2d", &xs, &ws).unwrap();
        let (xv, wv) = (x.to_vec::<f32>().unwrap(), w.to_vec::<f32>().unwrap());
        let per_sample = best_ms(|| drop(x.conv2d(&w, None, &p).unwrap()));
        let batch = best_ms(|| drop(batch_gemm(&g, &xv, &wv)));
        assert_eq!(batch_gemm(&g, &xv, &wv), x.conv2d(&w, None, &p).unwrap().to_vec::<f32>().unwrap());
        let xg = x.detach().requires_grad_().unwrap();
        let wg = w.detach().requires_grad_().unwrap();
        let gy = Tensor::ones(&p.output_shape(&xs, &ws).unwrap(), DType::F32).unwrap();
        let fwd_bwd = || {
            let y = xg.conv2d(&wg, None, &p).unwrap();
            y.backward_with(&gy).unwrap();
        };
        let train_pooled = best_ms(fwd_bwd);
        let faults_pooled = faults_per_call(fwd_bwd);
        scratch::set_enabled(false);
        scratch::clear_thread_pool();
        let per_sample_fresh = best_ms(|| drop(x.conv2d(&w, None, &p).unwrap()));
        let train_fresh = best_ms(fwd_bwd);
        let faults_fresh = faults_per_call(fwd_bwd);
        scratch::set_enabled(true);
        println!(
            "{name}, batch 64, f32, {} threads: forward per-sample {per_sample:.2} ms (fresh buffers {per_sample_fresh:.2} ms), \
             one batch GEMM {batch:.2} ms; forward+backward {train_pooled:.2} ms, {faults_pooled} page faults \
             (fresh buffers {train_fresh:.2} ms, {faults_fresh} page faults)",
            glassgrad::device::cpu::num_threads()
        );
    }
}

// ------------------------------------------------------------------ thread-count independence

/// conv2d and the pools, forward and backward in f32, hashed bit for bit.
fn conv_workload() -> Vec<String> {
    let mut rng = Generator::new(7);
    let x = Tensor::randn(&[9, 4, 12, 11], DType::F32, &mut rng).unwrap().requires_grad_().unwrap();
    let w = Tensor::randn(&[8, 2, 3, 3], DType::F32, &mut rng).unwrap().requires_grad_().unwrap();
    let b = Tensor::randn(&[8], DType::F32, &mut rng).unwrap().requires_grad_().unwrap();
    let p = Conv2dParams { padding: [1, 1], groups: 2, mode: ConvMode::Convolution, ..Default::default() };
    let y = x.conv2d(&w, Some(&b), &p).unwrap();
    let pool = glassgrad::ops::pool2d::Pool2dParams::new([3, 3]).with_stride([2, 2]);
    let z = y.max_pool2d(&pool).unwrap().add(&y.avg_pool2d(&pool, false).unwrap()).unwrap();
    let loss = z.mul(&z).unwrap().sum().unwrap();
    loss.backward().unwrap();
    let bits = |t: &Tensor| -> String {
        let mut h: u64 = 0xcbf29ce484222325;
        for v in t.to_f64_vec() {
            h = (h ^ v.to_bits()).wrapping_mul(0x100000001b3);
        }
        format!("{h:016x}")
    };
    vec![bits(&y), bits(&x.grad().unwrap()), bits(&w.grad().unwrap()), bits(&b.grad().unwrap())]
}

#[test]
fn child_conv_workload() {
    let lines = conv_workload();
    if std::env::var("GLASSGRAD_CHILD").is_ok() {
        for l in lines {
            println!("DIGEST {l}");
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let run = |threads: usize| -> Vec<String> {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_conv_workload", "--nocapture", "--test-threads", "1"])
            .env("GLASSGRAD_CHILD", "1")
            .env("MATMUL_NUM_THREADS", threads.to_string())
            .env("RAYON_NUM_THREADS", threads.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let d: Vec<String> = stdout.split("DIGEST ").skip(1).map(|s| s[..16].to_string()).collect();
        assert_eq!(d.len(), 4, "child printed {stdout}");
        d
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn degenerate_shapes_do_not_panic() {
    // Zero samples, zero input channels, an empty input plane with padding: results, not panics.
    let d = Conv2dParams::default();
    let y = Tensor::zeros(&[0, 2, 4, 4], DType::F32).unwrap().conv2d(
        &Tensor::zeros(&[3, 2, 3, 3], DType::F32).unwrap(),
        None,
        &d,
    );
    assert_eq!(y.unwrap().shape(), vec![0, 3, 2, 2]);
    let b = Tensor::from_vec(vec![1.5f64, -2.0], &[2]).unwrap();
    let y = rand(&[1, 0, 3, 3], 1).conv2d(&rand(&[2, 0, 2, 2], 2), Some(&b), &d).unwrap();
    assert_eq!(y.to_f64_vec(), vec![1.5, 1.5, 1.5, 1.5, -2.0, -2.0, -2.0, -2.0]);
    let x = leaf(&[1, 1, 0, 2], 3);
    let w = leaf(&[1, 1, 1, 1], 4);
    let y = x.conv2d(&w, None, &Conv2dParams { padding: [1, 0], ..d }).unwrap();
    assert_eq!(y.shape(), vec![1, 1, 2, 2]);
    assert_eq!(y.to_f64_vec(), vec![0.0; 4]);
    y.sum().unwrap().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_f64_vec(), vec![0.0]);
}
