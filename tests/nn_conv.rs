//! nn modules Conv2d, Conv1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d: PyTorch's default
//! initialisation, state_dict names, forward equal to the ops, gradients reaching the parameters,
//! errors.

use glassgrad::nn::{
    AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d, Module, ReLU, Sequential,
};
use glassgrad::ops::conv2d::{Conv2dParams, ConvMode};
use glassgrad::ops::pool2d::Pool2dParams;
use glassgrad::{DType, Generator, Tensor};

#[test]
fn conv2d_default_init_is_uniform_within_one_over_sqrt_fan_in() {
    // PyTorch: nn.Conv2d(32, 64, 3) draws weight and bias from U(-k, k), k = 1/sqrt(32*3*3).
    let mut rng = Generator::new(7);
    let c = Conv2d::new(32, 64, [3, 3], [1, 1], true, DType::F32, &mut rng).unwrap();
    assert_eq!(c.weight.shape(), vec![64, 32, 3, 3]);
    assert!(c.weight.requires_grad() && c.bias.as_ref().unwrap().requires_grad());
    let k = 1.0 / (32.0f64 * 9.0).sqrt();
    let w = c.weight.to_f64_vec();
    assert!(w.iter().all(|v| v.abs() <= k));
    // Uniform on (-k, k): variance k²/3; 18,432 draws put the sample value within a few percent.
    let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
    assert!((var / (k * k / 3.0) - 1.0).abs() < 0.05, "variance {var} vs {}", k * k / 3.0);
    let max = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(max > 0.99 * k, "the draws fill the range: max {max}, k {k}");
    let b = c.bias.as_ref().unwrap().to_f64_vec();
    assert_eq!(b.len(), 64);
    assert!(b.iter().all(|v| v.abs() <= k) && b.iter().any(|v| v.abs() > 0.5 * k));
    assert_eq!(c.in_channels(), 32);
    assert_eq!(c.out_channels(), 64);
    assert_eq!(c.kernel_size(), [3, 3]);
    // The same seed gives the same weights.
    let again = Conv2d::new(32, 64, [3, 3], [1, 1], true, DType::F32, &mut Generator::new(7)).unwrap();
    assert_eq!(again.weight.to_f64_vec(), w);
}

#[test]
fn conv2d_forward_is_the_op_and_gradients_reach_the_parameters() {
    let mut rng = Generator::new(1);
    let conv = Conv2d::new(2, 3, [3, 3], [1, 1], true, DType::F64, &mut rng).unwrap();
    let x = Tensor::randn(&[2, 2, 5, 5], DType::F64, &mut rng).unwrap();
    let y = conv.forward(&x).unwrap();
    assert_eq!(y.shape(), vec![2, 3, 5, 5]);
    let p = Conv2dParams { padding: [1, 1], ..Default::default() };
    let want = x.conv2d(&conv.weight, conv.bias.as_ref(), &p).unwrap();
    assert_eq!(y.to_f64_vec(), want.to_f64_vec());
    y.sum().unwrap().backward().unwrap();
    // ∂(Σy)/∂b_o = N·OH·OW = 2·25.
    assert_eq!(conv.bias.as_ref().unwrap().grad().unwrap().to_f64_vec(), vec![50.0; 3]);
    assert_eq!(conv.weight.grad().unwrap().shape(), vec![3, 2, 3, 3]);
    let names: Vec<String> = conv.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias"]);
}

#[test]
fn conv2d_with_params_groups_stride_and_convolution_mode() {
    let mut rng = Generator::new(2);
    let p = Conv2dParams { stride: [2, 2], groups: 2, mode: ConvMode::Convolution, ..Default::default() };
    let conv = Conv2d::with_params(4, 6, [3, 3], p, false, DType::F64, &mut rng).unwrap();
    assert_eq!(conv.weight.shape(), vec![6, 2, 3, 3]);
    assert!(conv.bias.is_none());
    // fan_in = (C/G)·kH·kW = 18.
    let k = 1.0 / 18f64.sqrt();
    assert!(conv.weight.to_f64_vec().iter().all(|v| v.abs() <= k));
    let x = Tensor::randn(&[1, 4, 7, 7], DType::F64, &mut rng).unwrap();
    assert_eq!(conv.forward(&x).unwrap().shape(), vec![1, 6, 3, 3]);
    assert_eq!(conv.in_channels(), 4);
    assert!(Conv2d::with_params(3, 6, [3, 3], p, true, DType::F32, &mut rng).is_err(), "groups must divide");
    assert!(Conv2d::new(3, 4, [3, 3], [0, 0], true, DType::I64, &mut rng).is_err());
    assert!(Conv2d::new(0, 4, [3, 3], [0, 0], true, DType::F32, &mut rng).is_err());
}

#[test]
fn conv2d_from_tensors_checks_shapes() {
    let w = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 1.0], &[1, 1, 2, 2]).unwrap();
    let b = Tensor::from_vec(vec![0.5f64], &[1]).unwrap();
    let conv = Conv2d::from_tensors(w.clone(), Some(b), Conv2dParams::default()).unwrap();
    // y = x00 + x11 + 0.5 on a 2×3 input: [[1,2,3],[4,5,6]] → [1+5+.5, 2+6+.5].
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[1, 1, 2, 3]).unwrap();
    assert_eq!(conv.forward(&x).unwrap().to_f64_vec(), vec![6.5, 8.5]);
    let bad_bias = Tensor::from_vec(vec![0.5f64, 1.0], &[2]).unwrap();
    assert!(Conv2d::from_tensors(w.clone(), Some(bad_bias), Conv2dParams::default()).is_err());
    assert!(Conv2d::from_tensors(w.reshape(&[1, 4]).unwrap(), None, Conv2dParams::default()).is_err());
    // A mismatched input is the op's error, naming conv2d.
    let e = conv.forward(&Tensor::zeros(&[1, 2, 3, 3], DType::F64).unwrap()).unwrap_err().to_string();
    assert!(e.contains("conv2d"), "{e}");
}

#[test]
fn conv1d_module() {
    let mut rng = Generator::new(3);
    let c = Conv1d::new(2, 4, 3, 1, 1, 1, 1, true, DType::F64, &mut rng).unwrap();
    assert_eq!(c.weight.shape(), vec![4, 2, 3]);
    let k = 1.0 / 6f64.sqrt();
    assert!(
        c.weight
            .to_f64_vec()
            .iter()
            .chain(c.bias.as_ref().unwrap().to_f64_vec().iter())
            .all(|v| v.abs() <= k)
    );
    let x = Tensor::randn(&[2, 2, 9], DType::F64, &mut rng).unwrap();
    let y = c.forward(&x).unwrap();
    assert_eq!(y.shape(), vec![2, 4, 9]);
    assert_eq!(y.to_f64_vec(), x.conv1d(&c.weight, c.bias.as_ref(), 1, 1, 1, 1).unwrap().to_f64_vec());
    // A kernel [1, 2] on [1, 2, 3]: [1·1 + 2·2, 2·1 + 3·2] = [5, 8].
    let w = Tensor::from_vec(vec![1.0f64, 2.0], &[1, 1, 2]).unwrap();
    let c = Conv1d::from_tensors(w, None, 1, 0, 1, 1).unwrap();
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[1, 1, 3]).unwrap();
    assert_eq!(c.forward(&x).unwrap().to_f64_vec(), vec![5.0, 8.0]);
    assert!(Conv1d::new(3, 4, 3, 1, 0, 1, 2, true, DType::F32, &mut rng).is_err());
}

#[test]
fn pooling_modules() {
    // 1×1×4×4 input 0..15: 2×2 max-pool → [5, 7, 13, 15]; average → [2.5, 4.5, 10.5, 12.5].
    let x = Tensor::arange(0.0, 16.0, 1.0, DType::F64).unwrap().reshape(&[1, 1, 4, 4]).unwrap();
    let max = MaxPool2d::new([2, 2], [2, 2]);
    assert_eq!(max.forward(&x).unwrap().to_f64_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    let avg = AvgPool2d::new([2, 2], [2, 2]);
    assert_eq!(avg.forward(&x).unwrap().to_f64_vec(), vec![2.5, 4.5, 10.5, 12.5]);
    // 3×3 window, stride 1, padding 1, padding excluded from the divisor: corner (0,0) averages
    // {0, 1, 4, 5} = 2.5.
    let avg =
        AvgPool2d::with_params(Pool2dParams::new([3, 3]).with_stride([1, 1]).with_padding([1, 1]), false);
    assert_eq!(avg.forward(&x).unwrap().to_f64_vec()[0], 2.5);
    let gap = AdaptiveAvgPool2d::new([1, 1]).unwrap();
    let y = gap.forward(&x).unwrap();
    assert_eq!((y.shape(), y.to_f64_vec()), (vec![1, 1, 1, 1], vec![7.5]));
    assert!(AdaptiveAvgPool2d::new([2, 2]).is_err());
    assert!(max.forward(&Tensor::zeros(&[4, 4], DType::F64).unwrap()).is_err());
    assert!(max.local_parameters().is_empty() && gap.local_parameters().is_empty());
}

#[test]
fn a_small_cnn_in_sequential_names_and_trains_its_parameters() {
    let mut rng = Generator::new(4);
    let net = Sequential::new()
        .add(Conv2d::new(1, 4, [3, 3], [1, 1], true, DType::F64, &mut rng).unwrap())
        .add(ReLU::new())
        .add(MaxPool2d::new([2, 2], [2, 2]))
        .add(Flatten::new())
        .add(glassgrad::nn::Linear::new(4 * 3 * 3, 2, true, DType::F64, &mut rng).unwrap());
    let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "4.weight", "4.bias"]);
    let x = Tensor::randn(&[2, 1, 6, 6], DType::F64, &mut rng).unwrap();
    let y = net.forward(&x).unwrap();
    assert_eq!(y.shape(), vec![2, 2]);
    y.sum().unwrap().backward().unwrap();
    assert!(net.parameters().iter().all(|p| p.grad().is_some()));
}
