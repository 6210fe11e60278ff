// Binary cross-entropy on logits, fused and stable (src/ops/bce.rs, PyTorch's
// F.binary_cross_entropy_with_logits). Logits x, targets y, element weights w and positive-class
// weights p, each read through its own Layout as the shape of x (w and p usually broadcast; the
// host passes a one-element 1 when one is absent):
//
//   sp(-x)  = max(-x, 0) + log1p(e^{-|x|})                      (never overflows)
//   loss_i  = w_i [ (1 - y_i) x_i + (1 + (p_i - 1) y_i) sp(-x_i) ]
//   dx_i    = s_i w_i [ (1 + (p_i - 1) y_i) sigma(x_i) - p_i y_i ]
//   dy_i    = s_i w_i [ (p_i - 1) sp(-x_i) - x_i ]
//
// with s_i = g[i * g_stride] / div the upstream gradient (g_stride 1, div 1: no reduction;
// g_stride 0, div 1: sum; g_stride 0, div n: mean). The host reduces `loss` with `sum_fwd`.
//
// `bce_with_logits_fwd_<dt>(const T* x, Layout lx, const T* y, Layout ly, const T* w, Layout lw,
//                           const T* p, Layout lp, T* loss, i64 n)`
// `bce_with_logits_bwd_<dt>(const T* x, Layout lx, const T* y, Layout ly, const T* w, Layout lw,
//                           const T* p, Layout lp, const T* g, i64 g_stride, double div, T* dx,
//                           T* dy, i64 n)`
// One thread per element (grid-stride); loss, dx and dy are contiguous with n elements.
#include "common.cuh"

template <typename T> __device__ __forceinline__ T bce_log1p(T v);
template <> __device__ __forceinline__ float bce_log1p<float>(float v) { return log1pf(v); }
template <> __device__ __forceinline__ double bce_log1p<double>(double v) { return log1p(v); }

// sp(-x) = ln(1 + e^{-x}), stable.
template <typename T> __device__ __forceinline__ T bce_sp_neg(T x) {
  const T a = -x > T(0) ? -x : T(0);
  const T ax = x < T(0) ? -x : x;
  return a + bce_log1p<T>(gg_exp<T>(-ax));
}

template <typename T>
__device__ void bce_fwd(const T *x, Layout lx, const T *y, Layout ly, const T *w, Layout lw, const T *p,
                        Layout lp, T *loss, i64 n) {
  GG_FOR(i, n) {
    const T xv = x[gg_offset(lx, i)], yv = y[gg_offset(ly, i)];
    const T wv = w[gg_offset(lw, i)], pv = p[gg_offset(lp, i)];
    loss[i] = wv * ((T(1) - yv) * xv + (T(1) + (pv - T(1)) * yv) * bce_sp_neg<T>(xv));
  }
}

template <typename T>
__device__ void bce_bwd(const T *x, Layout lx, const T *y, Layout ly, const T *w, Layout lw, const T *p,
                        Layout lp, const T *g, i64 g_stride, double div, T *dx, T *dy, i64 n) {
  GG_FOR(i, n) {
    const T xv = x[gg_offset(lx, i)], yv = y[gg_offset(ly, i)];
    const T wv = w[gg_offset(lw, i)], pv = p[gg_offset(lp, i)];
    const T s = g[i * g_stride] / T(div);
    dx[i] = s * wv * ((T(1) + (pv - T(1)) * yv) * gg_sigmoid<T>(xv) - pv * yv);
    dy[i] = s * wv * ((pv - T(1)) * bce_sp_neg<T>(xv) - xv);
  }
}

#define GG_BCE(T, dt)                                                                         \
  extern "C" __global__ void bce_with_logits_fwd_##dt(const T *x, Layout lx, const T *y, Layout ly,     \
                                                      const T *w, Layout lw, const T *p, Layout lp,     \
                                                      T *loss, i64 n) {                       \
    bce_fwd<T>(x, lx, y, ly, w, lw, p, lp, loss, n);                                          \
  }                                                                                           \
  extern "C" __global__ void bce_with_logits_bwd_##dt(const T *x, Layout lx, const T *y, Layout ly,     \
                                                      const T *w, Layout lw, const T *p, Layout lp,     \
                                                      const T *g, i64 g_stride, double div, T *dx,      \
                                                      T *dy, i64 n) {                         \
    bce_bwd<T>(x, lx, y, ly, w, lw, p, lp, g, g_stride, div, dx, dy, n);                      \
  }
GG_F32_F64(GG_BCE)
