//! Modules: state_dict names, parameter counts, default initialisation, train/eval, Sequential,
//! init formulas.

use glassgrad::nn::init::{self, FanMode, Nonlinearity};
use glassgrad::nn::{
    Flatten, Identity, Linear, Mode, Module, ReLU, Sequential, Sigmoid, Tanh, named_modules,
};
use glassgrad::{DType, Generator, Result, Tensor, gradcheck};

/// The document's kind of composite model: named children, one of them a Sequential.
struct Net {
    fc1: Linear,
    head: Sequential,
    mode: Mode,
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.head.forward(&self.fc1.forward(x)?.relu()?)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("fc1".into(), &self.fc1), ("head".into(), &self.head)]
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

fn net(rng: &mut Generator) -> Net {
    Net {
        fc1: Linear::new(4, 6, true, DType::F64, rng).unwrap(),
        head: Sequential::new()
            .add(Tanh::new())
            .add(Linear::new(6, 3, false, DType::F64, rng).unwrap())
            .add(Sigmoid::new())
            .add(Linear::new(3, 2, true, DType::F64, rng).unwrap()),
        mode: Mode::default(),
    }
}

#[test]
fn state_dict_names_and_counts() {
    // PyTorch: dict(Net().named_parameters()).keys() for the same structure.
    let mut rng = Generator::new(0);
    let n = net(&mut rng);
    let names: Vec<String> = n.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["fc1.weight", "fc1.bias", "head.1.weight", "head.3.weight", "head.3.bias"]);
    assert_eq!(n.num_parameters(), 4 * 6 + 6 + 6 * 3 + 3 * 2 + 2);
    let shapes: Vec<Vec<usize>> = n.parameters().iter().map(Tensor::shape).collect();
    assert_eq!(shapes, [vec![6, 4], vec![6], vec![3, 6], vec![2, 3], vec![2]]);
    assert_eq!(n.state_dict().len(), 5);
    assert!(n.named_buffers().is_empty());
    let modules: Vec<String> = named_modules(&n).into_iter().map(|(k, _)| k).collect();
    assert_eq!(modules, ["", "fc1", "head", "head.0", "head.1", "head.2", "head.3"]);
    assert!(n.parameters().iter().all(Tensor::requires_grad));
    // a Box<dyn Module> answers the same
    let boxed: Box<dyn Module> = Box::new(n);
    assert_eq!(boxed.named_parameters().len(), 5);
}

#[test]
fn shared_parameters_are_listed_once() {
    let mut rng = Generator::new(1);
    let a = Linear::new(3, 3, true, DType::F32, &mut rng).unwrap();
    let tied = Linear::from_tensors(a.weight.clone(), None).unwrap();
    let s = Sequential::new().add(a).add(tied);
    let names: Vec<String> = s.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["0.weight", "0.bias"]);
    assert_eq!(s.state_dict().len(), 3); // state_dict keeps both names, as PyTorch
}

#[test]
fn train_eval_reaches_every_descendant() {
    let mut rng = Generator::new(0);
    let mut n = net(&mut rng);
    let all = |n: &Net| named_modules(n).iter().map(|(_, m)| m.is_training()).collect::<Vec<_>>();
    assert!(all(&n).iter().all(|&t| t));
    n.eval();
    assert!(all(&n).iter().all(|&t| !t), "{:?}", all(&n));
    n.train();
    assert!(all(&n).iter().all(|&t| t));
    n.head.set_training(false);
    assert!(n.is_training() && n.fc1.is_training() && !n.head.get(3).unwrap().is_training());
}

#[test]
fn linear_default_init_bounds_and_statistics() {
    // torch.nn.Linear(256, 200): weight and bias ~ U(-1/16, 1/16); variance k²/3.
    let mut rng = Generator::new(42);
    let l = Linear::new(256, 200, true, DType::F32, &mut rng).unwrap();
    let k = 1.0 / 16.0;
    let w = l.weight.to_f64_vec();
    assert_eq!(l.weight.shape(), [200, 256]);
    assert!(w.iter().all(|v| v.abs() <= k));
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / w.len() as f64;
    assert!(mean.abs() < 0.002, "mean {mean}");
    assert!((var / (k * k / 3.0) - 1.0).abs() < 0.03, "var {var}");
    assert!(w.iter().any(|v| v.abs() > 0.95 * k)); // fills the range
    let b = l.bias.as_ref().unwrap().to_f64_vec();
    assert!(b.len() == 200 && b.iter().all(|v| v.abs() <= k) && b.iter().any(|v| v.abs() > 0.5 * k));
    // same seed, same values
    let again = Linear::new(256, 200, true, DType::F32, &mut Generator::new(42)).unwrap();
    assert_eq!(again.weight.to_vec::<f32>().unwrap(), l.weight.to_vec::<f32>().unwrap());
    assert_eq!(l.weight.dtype(), DType::F32);
    assert!(Linear::new(256, 200, false, DType::F32, &mut rng).unwrap().bias.is_none());
}

#[test]
fn linear_forward_is_affine_map_and_gradchecks() {
    let w = Tensor::from_vec(vec![1.0, 2.0, 3.0, -1.0, 0.5, 0.0], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![0.5, -2.0], &[2]).unwrap();
    let l = Linear::from_tensors(w.clone(), Some(b.clone())).unwrap();
    let x = Tensor::from_vec(vec![1.0, 1.0, 1.0, 2.0, 0.0, -1.0], &[2, 3]).unwrap();
    // rows: [1+2+3+0.5, -1+0.5-2] = [6.5, -2.5]; [2-3+0.5, -2-2] = [-0.5, -4]
    assert_eq!(l.forward(&x).unwrap().to_vec::<f64>().unwrap(), vec![6.5, -2.5, -0.5, -4.0]);
    // batched input (N, T, in)
    assert_eq!(l.forward(&x.reshape(&[1, 2, 3]).unwrap()).unwrap().shape(), [1, 2, 2]);
    let report = gradcheck(
        |xs| Linear::from_tensors(xs[1].clone(), Some(xs[2].clone()))?.forward(&xs[0])?.tanh()?.sum(),
        &[x.requires_grad_().unwrap(), w.requires_grad_().unwrap(), b.requires_grad_().unwrap()],
    )
    .unwrap();
    assert!(report.passed, "{report:?}");
}

#[test]
fn sequential_equals_manual_composition() {
    let mut rng = Generator::new(3);
    let l1 = Linear::new(5, 7, true, DType::F64, &mut rng).unwrap();
    let l2 = Linear::new(7, 2, true, DType::F64, &mut rng).unwrap();
    let x = Tensor::randn(&[4, 5], DType::F64, &mut rng).unwrap();
    let manual = l2.forward(&l1.forward(&x).unwrap().relu().unwrap()).unwrap().to_vec::<f64>().unwrap();
    let seq = Sequential::new().add(l1).add(ReLU::new()).add(Identity::new()).add(l2);
    assert_eq!(seq.len(), 4);
    assert_eq!(seq.forward(&x).unwrap().to_vec::<f64>().unwrap(), manual);
    let names: Vec<String> = seq.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["0.weight", "0.bias", "3.weight", "3.bias"]);
    // backward reaches every parameter; zero_grad clears them
    seq.forward(&x).unwrap().sum().unwrap().backward().unwrap();
    assert!(seq.parameters().iter().all(|p| p.grad().is_some()));
    seq.zero_grad();
    assert!(seq.parameters().iter().all(|p| p.grad().is_none()));
    assert_eq!(Sequential::new().forward(&x).unwrap().to_vec::<f64>().unwrap(), x.to_vec::<f64>().unwrap());
}

#[test]
fn activations_and_flatten() {
    let x = Tensor::from_vec(vec![-1.0, 0.0, 2.0, 3.0], &[1, 2, 2]).unwrap();
    assert_eq!(ReLU::new().forward(&x).unwrap().to_vec::<f64>().unwrap(), vec![0.0, 0.0, 2.0, 3.0]);
    let t = Tanh::new().forward(&x).unwrap().to_vec::<f64>().unwrap();
    assert!((t[2] - 2f64.tanh()).abs() < 1e-15);
    let s = Sigmoid::new().forward(&x).unwrap().to_vec::<f64>().unwrap();
    assert!((s[1] - 0.5).abs() < 1e-15);
    assert_eq!(Flatten::new().forward(&x).unwrap().shape(), [1, 4]);
    assert_eq!(Flatten::with_dims(0, 1).forward(&x).unwrap().shape(), [2, 2]);
}

#[test]
fn init_formulas() {
    // PyTorch: torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(16, 3, 5, 5)) == (75, 400)
    assert_eq!(init::calculate_fan_in_and_fan_out(&[16, 3, 5, 5]).unwrap(), (75, 400));
    assert_eq!(init::calculate_fan_in_and_fan_out(&[10, 20]).unwrap(), (20, 10));
    assert!(init::calculate_fan_in_and_fan_out(&[10]).is_err());
    assert_eq!(init::calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0);
    assert_eq!(init::calculate_gain(Nonlinearity::Relu), 2f64.sqrt());
    assert!(
        (init::calculate_gain(Nonlinearity::LeakyRelu(5f64.sqrt())) - (1.0f64 / 3.0).sqrt()).abs() < 1e-15
    );

    let mut rng = Generator::new(7);
    let t = Tensor::zeros(&[64, 3, 4, 4], DType::F64).unwrap(); // fan_in 48, fan_out 1024
    let stats = |t: &Tensor| {
        let v = t.to_f64_vec();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        (mean, (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt(), max)
    };
    init::kaiming_uniform_(&t, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
    let bound = 2f64.sqrt() * (3.0 / 48.0f64).sqrt();
    let (_, std, max) = stats(&t);
    assert!(max <= bound && max > 0.95 * bound && (std / (bound / 3f64.sqrt()) - 1.0).abs() < 0.05);
    init::kaiming_normal_(&t, FanMode::FanOut, Nonlinearity::Relu, &mut rng).unwrap();
    let (mean, std, _) = stats(&t);
    assert!(mean.abs() < 0.005 && (std / (2f64.sqrt() / 1024f64.sqrt()) - 1.0).abs() < 0.05, "{std}");
    init::xavier_uniform_(&t, 1.0, &mut rng).unwrap();
    let bound = (6.0 / (48.0 + 1024.0f64)).sqrt();
    let (_, _, max) = stats(&t);
    assert!(max <= bound && max > 0.95 * bound);
    init::xavier_normal_(&t, 2.0, &mut rng).unwrap();
    let (_, std, _) = stats(&t);
    assert!((std / (2.0 * (2.0 / 1072.0f64).sqrt()) - 1.0).abs() < 0.05);
    init::normal_(&t, 3.0, 0.5, &mut rng).unwrap();
    let (mean, std, _) = stats(&t);
    assert!((mean - 3.0).abs() < 0.05 && (std - 0.5).abs() < 0.03);
    init::uniform_(&t, 2.0, 4.0, &mut rng).unwrap();
    assert!(t.to_f64_vec().iter().all(|v| (2.0..4.0).contains(v)));
    init::zeros_(&t).unwrap();
    assert!(t.to_f64_vec().iter().all(|&v| v == 0.0));
    init::ones_(&t).unwrap();
    assert!(t.to_f64_vec().iter().all(|&v| v == 1.0));
    // in place: the handle (and so a module's registration) is kept, dtype too
    let l = Linear::new(3, 2, true, DType::F32, &mut rng).unwrap();
    init::zeros_(&l.weight).unwrap();
    assert!(l.named_parameters()[0].1.to_vec::<f32>().unwrap().iter().all(|&v| v == 0.0));
    // errors
    let v = Tensor::zeros(&[5], DType::F32).unwrap();
    assert!(init::kaiming_uniform_(&v, FanMode::FanIn, Nonlinearity::Relu, &mut rng).is_err());
    assert!(init::xavier_normal_(&v, 1.0, &mut rng).is_err());
    let i = Tensor::from_vec(vec![1i64, 2], &[1, 2]).unwrap();
    assert!(init::uniform_(&i, 0.0, 1.0, &mut rng).is_err());
    assert!(init::normal_(&t, 0.0, -1.0, &mut rng).is_err());
}

#[test]
fn linear_errors() {
    let mut rng = Generator::new(0);
    assert!(Linear::new(0, 3, true, DType::F32, &mut rng).is_err());
    assert!(Linear::new(3, 3, true, DType::I64, &mut rng).is_err());
    let l = Linear::new(3, 2, true, DType::F32, &mut rng).unwrap();
    let err = l.forward(&Tensor::zeros(&[4, 5], DType::F32).unwrap()).unwrap_err().to_string();
    assert!(err.contains("linear") && err.contains("[4, 5]") && err.contains("[2, 3]"), "{err}");
    assert!(l.forward(&Tensor::zeros(&[4, 3], DType::F64).unwrap()).is_err()); // no promotion
    let w = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    assert!(Linear::from_tensors(w.clone(), Some(Tensor::zeros(&[3], DType::F32).unwrap())).is_err());
    assert!(Linear::from_tensors(Tensor::zeros(&[3], DType::F32).unwrap(), None).is_err());
}

#[test]
fn modules_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Sequential>();
    check::<Linear>();
    check::<Box<dyn Module>>();
}
