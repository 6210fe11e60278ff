//! Parameter initialisation, as `torch.nn.init`: each function fills a float tensor **in place**
//! (the handle keeps its identity, so a module's parameter stays registered), outside the graph,
//! with values drawn in row-major order from a [`Generator`].
//!
//! ## Fans
//! For a tensor of shape $(d_0, d_1, d_2, \dots)$ (at least two dimensions) the receptive field is
//! $r = \prod_{k \ge 2} d_k$ (1 for a matrix), and
//! $$\text{fan\_in} = d_1 \, r, \qquad \text{fan\_out} = d_0 \, r .$$
//! A `Linear` weight $(out, in)$ has fan_in $= in$; a `Conv2d` weight $(O, C, k_h, k_w)$ has
//! fan_in $= C k_h k_w$.
//!
//! ## Gain (`calculate_gain`)
//! | nonlinearity | gain |
//! |---|---|
//! | linear, conv, sigmoid | $1$ |
//! | tanh | $5/3$ |
//! | relu | $\sqrt 2$ |
//! | leaky_relu with slope $a$ | $\sqrt{2 / (1 + a^2)}$ |
//! | selu | $3/4$ |
//!
//! ## Distributions
//! | function | distribution |
//! |---|---|
//! | [`kaiming_uniform_`] | $\mathcal U(-b, b)$, $b = \text{gain} \sqrt{3 / \text{fan}}$ |
//! | [`kaiming_normal_`] | $\mathcal N(0, \sigma^2)$, $\sigma = \text{gain} / \sqrt{\text{fan}}$ |
//! | [`xavier_uniform_`] | $\mathcal U(-b, b)$, $b = \text{gain} \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}$ |
//! | [`xavier_normal_`] | $\mathcal N(0, \sigma^2)$, $\sigma = \text{gain} \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}$ |
//! | [`uniform_`], [`normal_`], [`zeros_`], [`ones_`], [`constant_`] | as named |
//!
//! where fan is fan_in or fan_out as [`FanMode`] says. PyTorch's `nn.Linear` default is
//! `kaiming_uniform_` with `leaky_relu` slope $a = \sqrt 5$: gain $= \sqrt{1/3}$, so
//! $b = 1/\sqrt{\text{fan\_in}}$.

use crate::error::{Error, Result};
use crate::rng::Generator;
use crate::tensor::Tensor;

/// Which fan the Kaiming functions normalise by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    /// Preserves the variance of the activations in the forward pass (PyTorch's default).
    FanIn,
    /// Preserves the variance of the gradients in the backward pass.
    FanOut,
}

/// The nonlinearity that follows the layer, for [`calculate_gain`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nonlinearity {
    Linear,
    Conv,
    Sigmoid,
    Tanh,
    Relu,
    /// Leaky ReLU with negative slope `a` (PyTorch's `a` argument of the Kaiming functions).
    LeakyRelu(f64),
    Selu,
}

/// The recommended gain for `nonlinearity` (table in the module docs).
pub fn calculate_gain(nonlinearity: Nonlinearity) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Conv | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu(a) => (2.0 / (1.0 + a * a)).sqrt(),
        Nonlinearity::Selu => 0.75,
    }
}

/// `(fan_in, fan_out)` of a weight of `shape` (module docs); an error below two dimensions.
pub fn calculate_fan_in_and_fan_out(shape: &[usize]) -> Result<(usize, usize)> {
    if shape.len() < 2 {
        return Err(Error::shape(
            "calculate_fan_in_and_fan_out",
            shape,
            "fan in and fan out need a tensor of at least 2 dimensions",
        ));
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

fn fan(op: &'static str, t: &Tensor, mode: FanMode) -> Result<f64> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(&t.shape())?;
    let f = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    if f == 0 {
        return Err(Error::shape(op, &t.shape(), "fan is 0: cannot initialise an empty weight"));
    }
    Ok(f as f64)
}

/// Writes `fresh` (same shape and dtype) into `t`'s storage; checks that `t` is a float tensor.
fn fill(op: &'static str, t: &Tensor, fresh: impl FnOnce(&[usize]) -> Result<Tensor>) -> Result<()> {
    if !t.dtype().is_float() {
        return Err(Error::UnsupportedDType {
            op,
            dtype: t.dtype(),
            shape: t.shape(),
            expected: "f32 or f64",
        });
    }
    let values = fresh(&t.shape())?;
    t.set_data(values.data())
}

/// $\mathcal U(\text{low}, \text{high})$ in place.
pub fn uniform_(t: &Tensor, low: f64, high: f64, rng: &mut Generator) -> Result<()> {
    fill("uniform_", t, |s| Tensor::uniform(s, low, high, t.dtype(), rng))
}

/// $\mathcal N(\text{mean}, \text{std}^2)$ in place.
pub fn normal_(t: &Tensor, mean: f64, std: f64, rng: &mut Generator) -> Result<()> {
    if std < 0.0 || std.is_nan() {
        return Err(Error::invalid("normal_", format!("std must be non-negative, got {std}")));
    }
    fill("normal_", t, |s| Tensor::normal(s, mean, std, t.dtype(), rng))
}

/// Every element set to `value`.
pub fn constant_(t: &Tensor, value: f64) -> Result<()> {
    fill("constant_", t, |s| Tensor::full(s, value, t.dtype()))
}

/// Every element set to 0.
pub fn zeros_(t: &Tensor) -> Result<()> {
    constant_(t, 0.0)
}

/// Every element set to 1.
pub fn ones_(t: &Tensor) -> Result<()> {
    constant_(t, 1.0)
}

/// He (Kaiming) uniform: $\mathcal U(-b, b)$ with $b = \text{gain}\sqrt{3/\text{fan}}$.
pub fn kaiming_uniform_(
    t: &Tensor,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut Generator,
) -> Result<()> {
    let bound = calculate_gain(nonlinearity) * (3.0 / fan("kaiming_uniform_", t, mode)?).sqrt();
    uniform_(t, -bound, bound, rng)
}

/// He (Kaiming) normal: $\mathcal N(0, \sigma^2)$ with $\sigma = \text{gain}/\sqrt{\text{fan}}$.
pub fn kaiming_normal_(
    t: &Tensor,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut Generator,
) -> Result<()> {
    let std = calculate_gain(nonlinearity) / fan("kaiming_normal_", t, mode)?.sqrt();
    normal_(t, 0.0, std, rng)
}

fn fan_sum(op: &'static str, t: &Tensor) -> Result<f64> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(&t.shape())?;
    if fan_in + fan_out == 0 {
        return Err(Error::shape(op, &t.shape(), "fan_in + fan_out is 0: cannot initialise an empty weight"));
    }
    Ok((fan_in + fan_out) as f64)
}

/// Glorot (Xavier) uniform: $\mathcal U(-b, b)$ with $b = \text{gain}\sqrt{6/(\text{fan\_in}+\text{fan\_out})}$.
pub fn xavier_uniform_(t: &Tensor, gain: f64, rng: &mut Generator) -> Result<()> {
    let bound = gain * (6.0 / fan_sum("xavier_uniform_", t)?).sqrt();
    uniform_(t, -bound, bound, rng)
}

/// Glorot (Xavier) normal: $\mathcal N(0, \sigma^2)$ with $\sigma = \text{gain}\sqrt{2/(\text{fan\_in}+\text{fan\_out})}$.
pub fn xavier_normal_(t: &Tensor, gain: f64, rng: &mut Generator) -> Result<()> {
    let std = gain * (2.0 / fan_sum("xavier_normal_", t)?).sqrt();
    normal_(t, 0.0, std, rng)
}
