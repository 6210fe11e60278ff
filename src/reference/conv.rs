//! Convolution and max-pooling exactly as section 1.3.1 of the document writes them.
//!
//! Indices are 1-based, as in the document. An input plane $x$ is $H \times W$, a kernel
//! $k$ is $k_H \times k_W$, and $x_{rc}$ outside $1 \le r \le H,\ 1 \le c \le W$ is the padding:
//! $0$ for convolution, $-\infty$ for max-pooling.
//!
//! **Output range.** The formula does not say which $(i, j)$ to evaluate. With padding $p$ and
//! stride $s$ we evaluate
//! $$i \in \{\,k_H - p_0,\; k_H - p_0 + s_0,\; \dots,\; k_H - p_0 + s_0 (OH - 1)\,\},\qquad
//!   OH = \lfloor (H + 2p_0 - k_H)/s_0 \rfloor + 1$$
//! (the same for $j$). For $p = 0, s = 1$ this is $i = k_H, \dots, H$, the "valid" outputs whose
//! whole window lies inside the input; $p = k_H - 1$ gives the "full" convolution
//! $i = 1, \dots, H + k_H - 1$. Element $t$ of this range is output $t$ (0-based) of the
//! engine's `conv2d` in `ConvMode::Convolution` and of `max_pool2d`, for the same $p$ and $s$.
//!
//! The cross-correlation (PyTorch's `conv2d`) reads the window forwards,
//! $y_{ij} = \sum_k \sum_l x_{(i+k-1)(j+l-1)}\, k_{kl}$ for $i \in \{1 - p_0,\; 1 - p_0 + s_0, \dots\}$.

use ndarray::{Array1, Array2, Array4};

/// Number of outputs along one axis: $\lfloor (n + 2p - k)/s \rfloor + 1$ (0 when the kernel
/// does not fit).
fn out_len(n: usize, k: usize, s: usize, p: usize) -> usize {
    if n + 2 * p < k { 0 } else { (n + 2 * p - k) / s + 1 }
}

/// $x_{rc}$ with 1-based $r, c$, and `pad` outside the plane.
fn at(x: &Array2<f64>, r: isize, c: isize, pad: f64) -> f64 {
    let (h, w) = x.dim();
    if r >= 1 && c >= 1 && r <= h as isize && c <= w as isize {
        x[[r as usize - 1, c as usize - 1]]
    } else {
        pad
    }
}

/// The document's convolution of one plane: $y_{ij} = \sum_{k=1}^{k_H}\sum_{l=1}^{k_W}
/// x_{(i-k+1)(j-l+1)}\, k_{kl}$ over the output range of the module docs.
pub fn convolution_plane(
    x: &Array2<f64>,
    kernel: &Array2<f64>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Array2<f64> {
    let ((h, w), (kh, kw)) = (x.dim(), kernel.dim());
    let (oh, ow) = (out_len(h, kh, stride[0], padding[0]), out_len(w, kw, stride[1], padding[1]));
    let mut y = Array2::zeros((oh, ow));
    for t in 0..oh {
        let i = kh as isize - padding[0] as isize + (stride[0] * t) as isize;
        for u in 0..ow {
            let j = kw as isize - padding[1] as isize + (stride[1] * u) as isize;
            let mut y_ij = 0.0;
            for k in 1..=kh as isize {
                for l in 1..=kw as isize {
                    y_ij += at(x, i - k + 1, j - l + 1, 0.0) * kernel[[k as usize - 1, l as usize - 1]];
                }
            }
            y[[t, u]] = y_ij;
        }
    }
    y
}

/// Cross-correlation of one plane: $y_{ij} = \sum_{k=1}^{k_H}\sum_{l=1}^{k_W}
/// x_{(i+k-1)(j+l-1)}\, k_{kl}$ for $i = 1 - p_0 + s_0 t$, $j = 1 - p_1 + s_1 u$.
pub fn cross_correlation_plane(
    x: &Array2<f64>,
    kernel: &Array2<f64>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Array2<f64> {
    let ((h, w), (kh, kw)) = (x.dim(), kernel.dim());
    let (oh, ow) = (out_len(h, kh, stride[0], padding[0]), out_len(w, kw, stride[1], padding[1]));
    let mut y = Array2::zeros((oh, ow));
    for t in 0..oh {
        let i = 1 - padding[0] as isize + (stride[0] * t) as isize;
        for u in 0..ow {
            let j = 1 - padding[1] as isize + (stride[1] * u) as isize;
            let mut y_ij = 0.0;
            for k in 1..=kh as isize {
                for l in 1..=kw as isize {
                    y_ij += at(x, i + k - 1, j + l - 1, 0.0) * kernel[[k as usize - 1, l as usize - 1]];
                }
            }
            y[[t, u]] = y_ij;
        }
    }
    y
}

/// A multi-channel layer built from a plane formula: $y_{n,o} = b_o + \sum_c f(x_{n,c}, w_{o,c})$
/// for $x$ $(N, C, H, W)$, $w$ $(O, C, k_H, k_W)$ (one group).
fn layer(
    x: &Array4<f64>,
    w: &Array4<f64>,
    bias: Option<&Array1<f64>>,
    f: impl Fn(&Array2<f64>, &Array2<f64>) -> Array2<f64>,
) -> Array4<f64> {
    let (n, c, _, _) = x.dim();
    let o = w.dim().0;
    let mut planes: Vec<Array2<f64>> = Vec::new();
    for ni in 0..n {
        for oi in 0..o {
            let mut acc: Option<Array2<f64>> = None;
            for ci in 0..c {
                let xp = x.slice(ndarray::s![ni, ci, .., ..]).to_owned();
                let kp = w.slice(ndarray::s![oi, ci, .., ..]).to_owned();
                let yp = f(&xp, &kp);
                acc = Some(match acc {
                    Some(a) => a + &yp,
                    None => yp,
                });
            }
            let mut yp = acc.unwrap_or_else(|| Array2::zeros((0, 0)));
            if let Some(b) = bias {
                yp.mapv_inplace(|v| v + b[oi]);
            }
            planes.push(yp);
        }
    }
    let (oh, ow) = planes.first().map(|p| p.dim()).unwrap_or((0, 0));
    let mut y = Array4::zeros((n, o, oh, ow));
    for (idx, p) in planes.iter().enumerate() {
        y.slice_mut(ndarray::s![idx / o, idx % o, .., ..]).assign(p);
    }
    y
}

/// The document's convolution for a layer: $y_{n,o} = b_o + \sum_c \operatorname{conv}(x_{n,c}, w_{o,c})$
/// with [`convolution_plane`] (one group).
pub fn conv2d_convolution(
    x: &Array4<f64>,
    w: &Array4<f64>,
    bias: Option<&Array1<f64>>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Array4<f64> {
    layer(x, w, bias, |xp, kp| convolution_plane(xp, kp, stride, padding))
}

/// PyTorch's `conv2d` (one group) from [`cross_correlation_plane`].
pub fn conv2d_cross_correlation(
    x: &Array4<f64>,
    w: &Array4<f64>,
    bias: Option<&Array1<f64>>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Array4<f64> {
    layer(x, w, bias, |xp, kp| cross_correlation_plane(xp, kp, stride, padding))
}

/// The document's max-pooling of one plane: $p_{ij} = \max_{1 \le k \le k_H,\, 1 \le l \le k_W}
/// y_{(i-k+1)(j-l+1)}$ over the output range of the module docs, padding read as $-\infty$.
pub fn max_pool_plane(
    y: &Array2<f64>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Array2<f64> {
    let (h, w) = y.dim();
    let (oh, ow) =
        (out_len(h, kernel[0], stride[0], padding[0]), out_len(w, kernel[1], stride[1], padding[1]));
    let mut p = Array2::zeros((oh, ow));
    for t in 0..oh {
        let i = kernel[0] as isize - padding[0] as isize + (stride[0] * t) as isize;
        for u in 0..ow {
            let j = kernel[1] as isize - padding[1] as isize + (stride[1] * u) as isize;
            let mut p_ij = f64::NEG_INFINITY;
            for k in 1..=kernel[0] as isize {
                for l in 1..=kernel[1] as isize {
                    p_ij = p_ij.max(at(y, i - k + 1, j - l + 1, f64::NEG_INFINITY));
                }
            }
            p[[t, u]] = p_ij;
        }
    }
    p
}

/// [`max_pool_plane`] on every plane of an (N, C, H, W) array.
pub fn max_pool(x: &Array4<f64>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Array4<f64> {
    let (n, c, h, w) = x.dim();
    let (oh, ow) =
        (out_len(h, kernel[0], stride[0], padding[0]), out_len(w, kernel[1], stride[1], padding[1]));
    let mut out = Array4::zeros((n, c, oh, ow));
    for ni in 0..n {
        for ci in 0..c {
            let plane = x.slice(ndarray::s![ni, ci, .., ..]).to_owned();
            out.slice_mut(ndarray::s![ni, ci, .., ..])
                .assign(&max_pool_plane(&plane, kernel, stride, padding));
        }
    }
    out
}
