//! Convolution and pooling modules: [`Conv2d`], [`Conv1d`], [`MaxPool2d`], [`AvgPool2d`],
//! [`AdaptiveAvgPool2d`], as `torch.nn`. The formulas and kernels live with the ops
//! (`ops/conv2d/`, `ops/pool2d.rs`); these modules hold the parameters and the hyper-parameters.
//!
//! | module | forward | parameters |
//! |---|---|---|
//! | [`Conv2d`] | $y_{n,o} = b_o + \sum_c w_{o,c} \star x_{n,c}$ (cross-correlation) | weight $(O, C/G, k_H, k_W)$, bias $(O)$ |
//! | [`Conv1d`] | the same with $H = 1$ | weight $(O, C/G, K)$, bias $(O)$ |
//! | [`MaxPool2d`] | $y_{ij} = \max_{(u,v) \in R_{ij}} x_{uv}$ | none |
//! | [`AvgPool2d`] | $y_{ij} = \frac1{D_{ij}} \sum_{(u,v) \in R_{ij}} x_{uv}$ | none |
//! | [`AdaptiveAvgPool2d`] | $y_{n,c} = \frac1{HW}\sum_{u,v} x_{n,c,u,v}$ (output size 1×1 only) | none |
//!
//! ## Initialisation (PyTorch's `_ConvNd.reset_parameters`)
//! With $\text{fan\_in} = (C/G)\,k_H k_W$ and $k = 1/\sqrt{\text{fan\_in}}$: the weight is Kaiming
//! uniform with slope $a = \sqrt5$, which is $\mathcal U(-k, k)$, and the bias is
//! $\mathcal U(-k, k)$; the weight is drawn first, then the bias (the same as [`Linear`](super::Linear)).

use super::init::{FanMode, Nonlinearity, kaiming_uniform_, uniform_};
use super::module::{Mode, Module};
use crate::error::{Error, Result};
use crate::ops::conv2d::Conv2dParams;
use crate::ops::pool2d::Pool2dParams;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// Draws a convolution weight of `shape` and (optionally) a bias of `shape[0]` with PyTorch's
/// default initialisation (module docs).
fn init_conv(
    op: &'static str,
    shape: &[usize],
    bias: bool,
    dtype: DType,
    rng: &mut Generator,
) -> Result<(Tensor, Option<Tensor>)> {
    if !dtype.is_float() {
        return Err(Error::UnsupportedDType { op, dtype, shape: shape.to_vec(), expected: "f32 or f64" });
    }
    if shape.contains(&0) {
        return Err(Error::shape(op, shape, "every size of the weight must be positive"));
    }
    let weight = Tensor::zeros(shape, dtype)?;
    kaiming_uniform_(&weight, FanMode::FanIn, Nonlinearity::LeakyRelu(5f64.sqrt()), rng)?;
    let bias = if bias {
        let fan_in: usize = shape[1..].iter().product();
        let k = 1.0 / (fan_in as f64).sqrt();
        let b = Tensor::zeros(&shape[..1], dtype)?;
        uniform_(&b, -k, k, rng)?;
        Some(b.requires_grad_()?)
    } else {
        None
    };
    Ok((weight.requires_grad_()?, bias))
}

fn conv_parameters(weight: &Tensor, bias: &Option<Tensor>) -> Vec<(String, Tensor)> {
    let mut p = vec![("weight".to_string(), weight.clone())];
    if let Some(b) = bias {
        p.push(("bias".to_string(), b.clone()));
    }
    p
}

/// Checks a weight given by the caller: `rank` dimensions, positive groups, and a bias of
/// `(weight.shape[0])` in the weight's dtype.
fn check_weights(
    op: &'static str,
    weight: &Tensor,
    bias: Option<&Tensor>,
    rank: usize,
    groups: usize,
) -> Result<()> {
    let ws = weight.shape();
    if ws.len() != rank {
        return Err(Error::shape(op, &ws, format!("weight must have {rank} dimensions")));
    }
    if groups == 0 {
        return Err(Error::invalid(op, "groups must be at least 1"));
    }
    if let Some(b) = bias
        && (b.shape() != [ws[0]] || b.dtype() != weight.dtype())
    {
        return Err(Error::mismatch(
            op,
            &ws,
            &b.shape(),
            "bias must be (out_channels), same dtype as the weight",
        ));
    }
    Ok(())
}

/// A 2-D convolution layer, `torch.nn.Conv2d` (cross-correlation, as PyTorch; set
/// `params.mode` to [`ConvMode::Convolution`](crate::ops::conv2d::ConvMode::Convolution) for the document's flipped-kernel formula).
#[derive(Clone)]
pub struct Conv2d {
    /// $(O, C/G, k_H, k_W)$, requires a gradient.
    pub weight: Tensor,
    /// $(O)$, requires a gradient; `None` when made with `bias = false`.
    pub bias: Option<Tensor>,
    /// Stride, padding, dilation, groups and mode.
    pub params: Conv2dParams,
    mode: Mode,
}

impl Conv2d {
    /// `nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0)` with PyTorch's
    /// default initialisation drawn from `rng`. Use [`Conv2d::with_params`] for the other options.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: [usize; 2],
        padding: [usize; 2],
        bias: bool,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Conv2d> {
        let params = Conv2dParams { padding, ..Conv2dParams::default() };
        Conv2d::with_params(in_channels, out_channels, kernel_size, params, bias, dtype, rng)
    }

    /// A layer with every option of [`Conv2dParams`] (stride, padding, dilation, groups, mode).
    pub fn with_params(
        in_channels: usize,
        out_channels: usize,
        kernel_size: [usize; 2],
        params: Conv2dParams,
        bias: bool,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Conv2d> {
        let g = params.groups;
        if g == 0 || !in_channels.is_multiple_of(g) || !out_channels.is_multiple_of(g) {
            return Err(Error::invalid(
                "Conv2d",
                format!("groups {g} must divide in_channels {in_channels} and out_channels {out_channels}"),
            ));
        }
        let shape = [out_channels, in_channels / g, kernel_size[0], kernel_size[1]];
        let (weight, bias) = init_conv("Conv2d", &shape, bias, dtype, rng)?;
        Ok(Conv2d { weight, bias, params, mode: Mode::default() })
    }

    /// A layer holding the given tensors (weight $(O, C/G, k_H, k_W)$, bias $(O)$), e.g. loaded
    /// from a checkpoint; used as they are (their `requires_grad` included).
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>, params: Conv2dParams) -> Result<Conv2d> {
        check_weights("Conv2d", &weight, bias.as_ref(), 4, params.groups)?;
        Ok(Conv2d { weight, bias, params, mode: Mode::default() })
    }

    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1] * self.params.groups
    }
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }
    pub fn kernel_size(&self) -> [usize; 2] {
        let s = self.weight.shape();
        [s[2], s[3]]
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv2d(&self.weight, self.bias.as_ref(), &self.params)
    }
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        conv_parameters(&self.weight, &self.bias)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// A 1-D convolution layer, `torch.nn.Conv1d`: input $(N, C, L)$, weight $(O, C/G, K)$.
#[derive(Clone)]
pub struct Conv1d {
    /// $(O, C/G, K)$, requires a gradient.
    pub weight: Tensor,
    /// $(O)$, requires a gradient; `None` when made with `bias = false`.
    pub bias: Option<Tensor>,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
    mode: Mode,
}

impl Conv1d {
    /// `nn.Conv1d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)`
    /// with PyTorch's default initialisation drawn from `rng`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
        bias: bool,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Conv1d> {
        if groups == 0 || !in_channels.is_multiple_of(groups) || !out_channels.is_multiple_of(groups) {
            return Err(Error::invalid(
                "Conv1d",
                format!(
                    "groups {groups} must divide in_channels {in_channels} and out_channels {out_channels}"
                ),
            ));
        }
        let (weight, bias) =
            init_conv("Conv1d", &[out_channels, in_channels / groups, kernel_size], bias, dtype, rng)?;
        Ok(Conv1d { weight, bias, stride, padding, dilation, groups, mode: Mode::default() })
    }

    /// A layer holding the given tensors (weight $(O, C/G, K)$, bias $(O)$).
    pub fn from_tensors(
        weight: Tensor,
        bias: Option<Tensor>,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
    ) -> Result<Conv1d> {
        check_weights("Conv1d", &weight, bias.as_ref(), 3, groups)?;
        Ok(Conv1d { weight, bias, stride, padding, dilation, groups, mode: Mode::default() })
    }
}

impl Module for Conv1d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv1d(&self.weight, self.bias.as_ref(), self.stride, self.padding, self.dilation, self.groups)
    }
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        conv_parameters(&self.weight, &self.bias)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// Max pooling, `torch.nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0)`.
#[derive(Clone)]
pub struct MaxPool2d {
    pub params: Pool2dParams,
    mode: Mode,
}

impl MaxPool2d {
    /// A `kernel_size` window moved by `stride`, no padding (`MaxPool2d(kernel_size=2, stride=2)`).
    pub fn new(kernel_size: [usize; 2], stride: [usize; 2]) -> Self {
        MaxPool2d::with_params(Pool2dParams::new(kernel_size).with_stride(stride))
    }
    /// Any window, stride and padding.
    pub fn with_params(params: Pool2dParams) -> Self {
        MaxPool2d { params, mode: Mode::default() }
    }
}

impl Module for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.max_pool2d(&self.params)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// Average pooling, `torch.nn.AvgPool2d(kernel_size, stride, padding, count_include_pad=True)`.
#[derive(Clone)]
pub struct AvgPool2d {
    pub params: Pool2dParams,
    /// Whether padding counts in the divisor (PyTorch's default `true`).
    pub count_include_pad: bool,
    mode: Mode,
}

impl AvgPool2d {
    /// A `kernel_size` window moved by `stride`, no padding, padding counted in the divisor.
    pub fn new(kernel_size: [usize; 2], stride: [usize; 2]) -> Self {
        AvgPool2d::with_params(Pool2dParams::new(kernel_size).with_stride(stride), true)
    }
    /// Any window, stride and padding, and the choice of divisor.
    pub fn with_params(params: Pool2dParams, count_include_pad: bool) -> Self {
        AvgPool2d { params, count_include_pad, mode: Mode::default() }
    }
}

impl Module for AvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.avg_pool2d(&self.params, self.count_include_pad)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// Global average pooling, `torch.nn.AdaptiveAvgPool2d(1)`: $(N, C, H, W) \to (N, C, 1, 1)$.
/// Only the output size 1×1 is supported (the one CNN classifiers use).
#[derive(Clone)]
pub struct AdaptiveAvgPool2d {
    mode: Mode,
}

impl AdaptiveAvgPool2d {
    /// `AdaptiveAvgPool2d(output_size)`; an error unless `output_size` is `[1, 1]`.
    pub fn new(output_size: [usize; 2]) -> Result<Self> {
        if output_size != [1, 1] {
            return Err(Error::invalid(
                "AdaptiveAvgPool2d",
                format!("only output_size [1, 1] is supported, got {output_size:?}"),
            ));
        }
        Ok(AdaptiveAvgPool2d { mode: Mode::default() })
    }
}

impl Module for AdaptiveAvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.adaptive_avg_pool2d_1x1()
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}
