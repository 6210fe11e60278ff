//! 2-D convolution (and 1-D as its special case `H = 1`), in both of its conventions.
//!
//! ## The document's formula (mode [`ConvMode::Convolution`])
//! Section 1.3.1.1 defines a **true convolution** (the kernel is flipped), with 1-based indices:
//! $$y_{ij} = \sum_{k}\sum_{l} x_{(i-k+1)(j-l+1)}\; k_{kl}.$$
//! The literal transcription is `reference::conv::conv2d_convolution`; it uses the output range
//! $i \in \{k_H - p,\; k_H - p + s,\; \dots\}$ (so $p = 0$ is the "valid" part and
//! $p = k_H - 1$ the "full" convolution), which makes output $i' = (i - k_H + p)/s$ of the
//! engine equal to the formula's $y_i$. Substituting $a = k_H - k$ shows that this *is* a
//! cross-correlation with the flipped kernel $w'_{ab} = k_{(k_H - a)(k_W - b)}$, and that is how it
//! is computed: flip, cross-correlate, and flip the weight gradient back.
//!
//! ## Cross-correlation (mode [`ConvMode::CrossCorrelation`], the default; PyTorch's `conv2d`)
//! For $x$ of shape $(N, C, H, W)$, $w$ of shape $(O, C/G, k_H, k_W)$ ($G$ groups), bias $b$ of
//! shape $(O)$, stride $s$, padding $p$, dilation $d$, with indices from 0 and $x = 0$ outside
//! the input:
//! $$y_{n,o,i,j} = b_o + \sum_{c=0}^{C/G-1}\sum_{a=0}^{k_H-1}\sum_{b=0}^{k_W-1}
//!   x_{n,\; gC/G + c,\; i s_0 - p_0 + a d_0,\; j s_1 - p_1 + b d_1}\; w_{o,c,a,b},
//!   \qquad g = \lfloor o / (O/G) \rfloor,$$
//! of shape $(N, O, OH, OW)$ with $OH = \lfloor (H + 2p_0 - d_0(k_H - 1) - 1)/s_0 \rfloor + 1$
//! (the same for $OW$).
//!
//! Backward, with $\bar y = \partial L/\partial y$:
//! $$\frac{\partial L}{\partial x_{n,\,gC/G+c,\,u,\,v}} = \sum_{o \in g}\;
//!   \sum_{\substack{a,b,i,j:\; i s_0 - p_0 + a d_0 = u\\ j s_1 - p_1 + b d_1 = v}}
//!   \bar y_{n,o,i,j}\, w_{o,c,a,b}, \qquad
//! \frac{\partial L}{\partial w_{o,c,a,b}} = \sum_{n}\sum_{i,j} \bar y_{n,o,i,j}\;
//!   x_{n,\,gC/G+c,\; i s_0 - p_0 + a d_0,\; j s_1 - p_1 + b d_1}, \qquad
//! \frac{\partial L}{\partial b_o} = \sum_{n,i,j} \bar y_{n,o,i,j}.$$
//! In `Convolution` mode the same formulas hold for the flipped $w'$, and
//! $\partial L/\partial w = \operatorname{flip}(\partial L/\partial w')$.
//!
//! Saved for backward: $x$ and $w$ (shared storage, no copy; in `Convolution` mode the flipped
//! copy of $w$). The im2col matrices are recomputed in backward rather than kept.
//!
//! ## Kernel (CPU, [`cpu`])
//! im2col + GEMM. For each sample $n$ and group $g$, $\operatorname{im2col}(x_{n,g})$ is the
//! $K \times OH\!\cdot\!OW$ matrix ($K = (C/G) k_H k_W$) whose column $(i, j)$ holds the input
//! patch under output $(i, j)$; then
//! $y_{n,g} = W_g \operatorname{im2col}(x_{n,g})$ (one GEMM, [`crate::device::cpu::gemm`]),
//! $\partial x_{n,g} = \operatorname{col2im}(W_g^\top \bar y_{n,g})$ and
//! $\partial W_g \mathrel{+}= \bar y_{n,g}\operatorname{im2col}(x_{n,g})^\top$.
//! A 1×1 kernel with stride 1 and no padding skips im2col (the input planes are the matrix).
//!
//! **Implicit GEMM** (row stride 1, a CPU with the GEMM's micro-kernels:
//! [`crate::device::cpu::conv2d::implicit`]). The im2col matrix of the forward pass is never
//! stored: the input is copied once into zero-padded planes, the output is computed on a grid
//! $W_q = W_p/s_1$ columns wide (the extra columns discarded), on which every im2col row is one
//! run of the padded planes, so each $\tilde B$ micro-panel row is one contiguous copy; $W_g$
//! (and $W_g^\top$ for $\partial x$) is packed once per call instead of once per sample, and
//! $\partial W_g^\top = \operatorname{im2col}\,\bar y^\top$ packs the im2col rows eight at a
//! time. Measured (`glassgrad bench --threads 1`, best of 3 alternating runs, the explicit path
//! against this one): `conv2_fwd` 3.83 → 2.97 ms, `conv2_fwd_bwd` 13.4 → 11.1 ms; with 2
//! threads beside PyTorch see `benches/RESULTS.md`. The explicit path below remains for a row
//! stride above 1 and for CPUs without the micro-kernels.
//!
//! * **Parallelism**: rayon over the samples of the batch (forward), over fixed chunks of
//!   [`cpu::DW_CHUNK`] samples (backward). $\partial x$ of each sample is computed by its own task;
//!   $\partial W$ is accumulated per chunk (one `beta = 1` GEMM per sample) and the chunk partials
//!   are added in chunk order. Chunk size is a constant, so results are bit-identical for any
//!   thread count.
//! * **One GEMM per sample vs one GEMM over the whole batch.** Measured with
//!   `cargo test --release --test conv2d -- --ignored --nocapture measure` (f32, forward, batch
//!   64, padding 1, best of 30 calls; the 2-core build machine was shared, load average about 9,
//!   so each figure is the range over 6 runs):
//!
//!   | layer | one GEMM per sample (chosen) | one GEMM over the batch |
//!   |---|---|---|
//!   | 3→32, 28×28, 3×3 | 1.05–1.44 ms | 2.4–2.7 ms |
//!   | 32→64, 14×14, 3×3 | 5.3–7.7 ms | 8.9–21 ms |
//!
//!   The per-sample GEMM writes straight into the (N, O, OH·OW) output, which is already its
//!   row-major result; the batch GEMM yields (O, N·OH·OW) and needs a permuting copy, plus an
//!   im2col buffer N times larger (14 MB instead of 226 KB for the second layer) that falls out of
//!   cache. Per-sample tasks also parallelise without GEMM threading: a GEMM called inside a rayon
//!   task runs on that task's thread ([`crate::device::cpu::gemm_split`]), so two cores run two
//!   threads (before, `matrixmultiply`'s own pool added a helper thread inside each GEMM).
//! * **Scratch reuse** ([`crate::device::cpu::scratch`]): the im2col columns come from a per-thread pool.
//!   Counted page faults per forward+backward call (batch 64, second layer): with glibc's
//!   defaults, **0 with or without the pool** in steady state, because glibc raises its mmap
//!   threshold (up to 32 MiB) after the first large `free` and then keeps such blocks in the heap.
//!   With the threshold pinned (`MALLOC_MMAP_THRESHOLD_=131072`, the behaviour the pool guards
//!   against, also what any buffer over 32 MiB gets), fresh buffers cost 22,060 faults per call,
//!   pooled ones 11,406 (45 vs 34 ms in that run; times here are noisy) (the rest are the output and gradient
//!   tensors themselves). The first layer's columns (85 KB) stay below the threshold either way.

use ndarray::{ArcArray, ArrayD, IxDyn};

use crate::autograd::record;
use crate::device::cpu::scratch::ScratchElem;
use crate::error::{Error, Result};
use crate::ops::common::same_dtype;
use crate::tensor::{Data, Element, Float, Tensor};

/// The CPU kernels (im2col, col2im, the GEMMs) and [`Geometry`], in the CPU backend.
pub use crate::device::cpu::conv2d as cpu;
pub use crate::device::cpu::conv2d::{ConvMode, Geometry};

/// Stride, padding, dilation (rows, columns), groups and mode of a 2-D convolution.
/// Default: stride 1, padding 0, dilation 1, one group, cross-correlation (PyTorch's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
    pub mode: ConvMode,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
            mode: ConvMode::CrossCorrelation,
        }
    }
}

impl Conv2dParams {
    /// The output shape $(N, O, OH, OW)$ for input shape `x` $(N, C, H, W)$ and weight shape `w`
    /// $(O, C/G, k_H, k_W)$, or an error naming what does not fit.
    pub fn output_shape(&self, x: &[usize], w: &[usize]) -> Result<Vec<usize>> {
        let g = self.geometry("conv2d", x, w)?;
        Ok(vec![g.n, g.o, g.oh, g.ow])
    }

    /// Validates the shapes and parameters and derives every size of the convolution.
    pub fn geometry(&self, op: &'static str, x: &[usize], w: &[usize]) -> Result<Geometry> {
        if x.len() != 4 {
            return Err(Error::shape(
                op,
                x,
                format!("input must be 4-D (N, C, H, W), got {} dimensions", x.len()),
            ));
        }
        if w.len() != 4 {
            return Err(Error::shape(
                op,
                w,
                format!("weight must be 4-D (O, C/groups, kH, kW), got {} dimensions", w.len()),
            ));
        }
        let bad = |msg: String| Error::mismatch(op, x, w, msg);
        if self.stride.contains(&0) {
            return Err(bad(format!("stride must be positive, got {:?}", self.stride)));
        }
        if self.dilation.contains(&0) {
            return Err(bad(format!("dilation must be positive, got {:?}", self.dilation)));
        }
        let (groups, (n, c, h, wd), (o, cg, kh, kw)) =
            (self.groups, (x[0], x[1], x[2], x[3]), (w[0], w[1], w[2], w[3]));
        if groups == 0 {
            return Err(bad("groups must be at least 1".into()));
        }
        if c % groups != 0 {
            return Err(bad(format!("groups {groups} does not divide the {c} input channels")));
        }
        if o % groups != 0 {
            return Err(bad(format!(
                "groups {groups} does not divide the {o} output channels (weight.shape[0])"
            )));
        }
        if cg * groups != c {
            return Err(bad(format!(
                "input has {c} channels but the weight expects {} (weight.shape[1] = {cg} × groups {groups})",
                cg * groups
            )));
        }
        if kh == 0 || kw == 0 || o == 0 {
            return Err(bad("the weight has an empty dimension".into()));
        }
        let eff = [self.dilation[0] * (kh - 1) + 1, self.dilation[1] * (kw - 1) + 1];
        let padded = [h + 2 * self.padding[0], wd + 2 * self.padding[1]];
        if eff[0] > padded[0] || eff[1] > padded[1] {
            return Err(bad(format!(
                "kernel ({} × {} with dilation {:?}) is larger than the padded input ({} × {})",
                eff[0], eff[1], self.dilation, padded[0], padded[1]
            )));
        }
        Ok(Geometry {
            n,
            c,
            h,
            w: wd,
            o,
            groups,
            kh,
            kw,
            oh: (padded[0] - eff[0]) / self.stride[0] + 1,
            ow: (padded[1] - eff[1]) / self.stride[1] + 1,
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
        })
    }
}

fn slice_of<'a, T>(op: &'static str, a: &'a ArcArray<T, IxDyn>) -> Result<&'a [T]> {
    a.as_slice().ok_or_else(|| Error::shape(op, a.shape(), "internal: expected a contiguous array"))
}

fn array_of<T: Clone>(op: &'static str, shape: &[usize], v: Vec<T>) -> Result<ArcArray<T, IxDyn>> {
    Ok(ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::invalid(op, e.to_string()))?.into_shared())
}

/// Forward for one dtype: returns `y` and the weight actually cross-correlated (flipped in
/// `Convolution` mode).
fn forward_typed<T: Float + ScratchElem>(
    geo: &Geometry,
    mode: ConvMode,
    x: &ArcArray<T, IxDyn>,
    w: &ArcArray<T, IxDyn>,
    b: Option<&ArcArray<T, IxDyn>>,
) -> Result<(ArcArray<T, IxDyn>, ArcArray<T, IxDyn>)> {
    let op = "conv2d";
    let w_eff = match mode {
        ConvMode::CrossCorrelation => w.clone(),
        ConvMode::Convolution => array_of(op, w.shape(), cpu::flip(slice_of(op, w)?, geo.kh, geo.kw))?,
    };
    let b = match b {
        Some(b) => Some(slice_of(op, b)?),
        None => None,
    };
    let y = cpu::forward(geo, slice_of(op, x)?, slice_of(op, &w_eff)?, b);
    Ok((array_of(op, &[geo.n, geo.o, geo.oh, geo.ow], y)?, w_eff))
}

type Grads<T> = (Option<ArcArray<T, IxDyn>>, Option<ArcArray<T, IxDyn>>, Option<ArcArray<T, IxDyn>>);

/// Backward for one dtype: gradients of x, w (in the caller's mode) and b, each when wanted.
fn backward_typed<T: Float + ScratchElem>(
    geo: &Geometry,
    mode: ConvMode,
    x: &ArcArray<T, IxDyn>,
    w_eff: &ArcArray<T, IxDyn>,
    dy: &ArcArray<T, IxDyn>,
    need: [bool; 3],
) -> Result<Grads<T>> {
    let op = "conv2d";
    let dy = dy.as_standard_layout();
    let dy =
        dy.as_slice().ok_or_else(|| Error::shape(op, dy.shape(), "internal: gradient not contiguous"))?;
    let (dx, dw) = cpu::backward(geo, slice_of(op, x)?, slice_of(op, w_eff)?, dy, need[0], need[1]);
    let dx = dx.map(|v| array_of(op, x.shape(), v)).transpose()?;
    let dw = dw
        .map(|v| match mode {
            ConvMode::CrossCorrelation => v,
            ConvMode::Convolution => cpu::flip(&v, geo.kh, geo.kw),
        })
        .map(|v| array_of(op, w_eff.shape(), v))
        .transpose()?;
    let db = need[2].then(|| array_of(op, &[geo.o], cpu::bias_grad(geo, dy))).transpose()?;
    Ok((dx, dw, db))
}

/// What the backward of `conv2d` reads, on the device the forward ran on: the (contiguous) input
/// and the weight actually cross-correlated (flipped in `Convolution` mode).
enum Saved {
    Cpu {
        x: Data,
        w_eff: Data,
    },
    #[cfg(feature = "cuda")]
    Cuda(crate::device::cuda::conv2d::Conv2dSaved),
}

/// The forward on the operands' device (on a GPU when any operand is on one; the others must
/// then be on the same GPU): `y` and what the backward reads.
fn forward(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    geo: &Geometry,
    mode: ConvMode,
) -> Result<(Data, Saved)> {
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() || w.device().is_cuda() || b.is_some_and(|b| b.device().is_cuda()) {
        return forward_cuda(x, w, b, geo, mode);
    }
    forward_cpu(x, w, b, geo, mode)
}

/// The CPU forward: `y` and what the backward reads.
fn forward_cpu(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    geo: &Geometry,
    mode: ConvMode,
) -> Result<(Data, Saved)> {
    const OP: &str = "conv2d";
    let (xd, wd) = (x.data().contiguous(), w.data().contiguous());
    let bd = b.map(|b| b.data().contiguous());
    let (y, w_eff) = match (&xd, &wd, &bd) {
        (Data::F32(x), Data::F32(w), None) => {
            let (y, we) = forward_typed(geo, mode, x, w, None)?;
            (Data::F32(y), Data::F32(we))
        }
        (Data::F32(x), Data::F32(w), Some(Data::F32(b))) => {
            let (y, we) = forward_typed(geo, mode, x, w, Some(b))?;
            (Data::F32(y), Data::F32(we))
        }
        (Data::F64(x), Data::F64(w), None) => {
            let (y, we) = forward_typed(geo, mode, x, w, None)?;
            (Data::F64(y), Data::F64(we))
        }
        (Data::F64(x), Data::F64(w), Some(Data::F64(b))) => {
            let (y, we) = forward_typed(geo, mode, x, w, Some(b))?;
            (Data::F64(y), Data::F64(we))
        }
        _ => return Err(crate::ops::common::dtype_error(OP, &xd, &wd)),
    };
    Ok((y, Saved::Cpu { x: xd, w_eff }))
}

/// The CPU backward: the gradients of x, w and b (each when wanted).
fn backward_cpu(
    geo: &Geometry,
    mode: ConvMode,
    (xd, w_eff): (&Data, &Data),
    g: &Tensor,
    need: [bool; 3],
) -> Result<Vec<Option<Tensor>>> {
    const OP: &str = "conv2d";
    let gd = g.data();
    Ok(match (xd, w_eff, &gd) {
        (Data::F32(x), Data::F32(w), Data::F32(dy)) => {
            let (dx, dw, db) = backward_typed(geo, mode, x, w, dy, need)?;
            [dx, dw, db].into_iter().map(|a| a.map(|a| Tensor::from_data(Element::wrap(a)))).collect()
        }
        (Data::F64(x), Data::F64(w), Data::F64(dy)) => {
            let (dx, dw, db) = backward_typed(geo, mode, x, w, dy, need)?;
            [dx, dw, db].into_iter().map(|a| a.map(|a| Tensor::from_data(Element::wrap(a)))).collect()
        }
        _ => return Err(crate::ops::common::dtype_error(OP, xd, &gd)),
    })
}

/// The GPU forward (`kernels/conv2d.cu` through `device::cuda::conv2d`): every operand must be on
/// the same GPU.
#[cfg(feature = "cuda")]
fn forward_cuda(
    x_t: &Tensor,
    w_t: &Tensor,
    b_t: Option<&Tensor>,
    geo: &Geometry,
    mode: ConvMode,
) -> Result<(Data, Saved)> {
    use crate::ops::device_data::cuda_input;
    const OP: &str = "conv2d";
    let x = match x_t.data() {
        Data::Cuda(c) => c,
        _ => cuda_input(OP, x_t, None)?,
    };
    let gpu = x.gpu().clone();
    let w = cuda_input(OP, w_t, Some(&gpu))?;
    let b = b_t.map(|b| cuda_input(OP, b, Some(&gpu))).transpose()?;
    let (y, saved) = crate::device::cuda::conv2d::conv2d_forward(&x, &w, b.as_ref(), geo, mode)?;
    Ok((Data::Cuda(y), Saved::Cuda(saved)))
}

/// The GPU backward: the gradients of x, w and b (each when wanted).
#[cfg(feature = "cuda")]
fn backward_cuda(
    saved: &crate::device::cuda::conv2d::Conv2dSaved,
    g: &Tensor,
    need: [bool; 3],
) -> Result<Vec<Option<Tensor>>> {
    let dy = crate::ops::device_data::grad_on(g, saved.gpu())?;
    let (dx, dw, db) = crate::device::cuda::conv2d::conv2d_backward(saved, &dy, need)?;
    Ok([dx, dw, db].into_iter().map(|d| d.map(|d| Tensor::from_data(Data::Cuda(d)))).collect())
}

impl Tensor {
    /// 2-D convolution of `self` (N, C, H, W) with `weight` (O, C/groups, kH, kW) and an optional
    /// `bias` (O): PyTorch's `F.conv2d` in [`ConvMode::CrossCorrelation`], the document's flipped
    /// formula in [`ConvMode::Convolution`]. Differentiable in all three. See the module docs.
    pub fn conv2d(&self, weight: &Tensor, bias: Option<&Tensor>, p: &Conv2dParams) -> Result<Tensor> {
        const OP: &str = "conv2d";
        same_dtype(OP, self, weight)?;
        if let Some(b) = bias {
            same_dtype(OP, self, b)?;
        }
        let geo = p.geometry(OP, &self.shape(), &weight.shape())?;
        if let Some(b) = bias
            && b.shape() != [geo.o]
        {
            return Err(Error::mismatch(
                OP,
                &weight.shape(),
                &b.shape(),
                format!("bias must have shape [{}] (one per output channel)", geo.o),
            ));
        }
        let (y, saved) = forward(self, weight, bias, &geo, p.mode)?;
        let need = [self.requires_grad(), weight.requires_grad(), bias.is_some_and(|b| b.requires_grad())];
        let mut inputs = vec![self, weight];
        inputs.extend(bias);
        let (mode, has_bias) = (p.mode, bias.is_some());
        Ok(record(y, OP, &inputs, move |g| {
            let mut grads = match &saved {
                Saved::Cpu { x, w_eff } => backward_cpu(&geo, mode, (x, w_eff), g, need)?,
                #[cfg(feature = "cuda")]
                Saved::Cuda(s) => backward_cuda(s, g, need)?,
            };
            if !has_bias {
                grads.pop();
            }
            Ok(grads)
        }))
    }
    /// 1-D convolution (cross-correlation, PyTorch's `F.conv1d`) of `self` (N, C, L) with `weight`
    /// (O, C/groups, K) and an optional `bias` (O): the 2-D kernel on the view $H = 1$.
    pub fn conv1d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
    ) -> Result<Tensor> {
        const OP: &str = "conv1d";
        let (xs, ws) = (self.shape(), weight.shape());
        if xs.len() != 3 {
            return Err(Error::shape(
                OP,
                &xs,
                format!("input must be 3-D (N, C, L), got {} dimensions", xs.len()),
            ));
        }
        if ws.len() != 3 {
            return Err(Error::shape(
                OP,
                &ws,
                format!("weight must be 3-D (O, C/groups, K), got {} dimensions", ws.len()),
            ));
        }
        let p = Conv2dParams {
            stride: [1, stride],
            padding: [0, padding],
            dilation: [1, dilation],
            groups,
            mode: ConvMode::CrossCorrelation,
        };
        let y = self.unsqueeze(2)?.conv2d(&weight.unsqueeze(2)?, bias, &p).map_err(|e| match e {
            Error::ShapeMismatch { msg, lhs, .. } if lhs.len() == 4 => Error::mismatch(OP, &xs, &ws, msg),
            Error::ShapeMismatch { msg, lhs, rhs, .. } => Error::mismatch(OP, &lhs, &rhs, msg),
            Error::Shape { msg, shape, .. } => Error::shape(OP, &shape, msg),
            Error::Invalid { msg, .. } => Error::invalid(OP, msg),
            Error::DTypeMismatch { lhs, rhs, lhs_shape, rhs_shape, .. } => {
                Error::DTypeMismatch { op: OP, lhs, rhs, lhs_shape, rhs_shape }
            }
            Error::UnsupportedDType { dtype, shape, expected, .. } => {
                Error::UnsupportedDType { op: OP, dtype, shape, expected }
            }
            other => other,
        })?;
        y.squeeze(Some(2))
    }
}
