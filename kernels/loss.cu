// Fused cross-entropy (log-softmax + weighted negative log-likelihood + label smoothing), the
// formulas of src/ops/loss.rs:
//
//   l_n    = logsumexp_c x_{n,c}  (max subtracted)
//   loss_n = a_n [ (1 - eps) w_{t_n} (l_n - x_{n,t_n}) + (eps / C) sum_c w_c (l_n - x_{n,c}) ]
//   dx_{n,c} = s_n a_n [ (1 - eps) w_{t_n} (p_{n,c} - [c = t_n]) + (eps / C) (W p_{n,c} - w_c) ]
//
// with p = e^{x - l}, W = sum_c w_c, a_n = 0 for an ignored row, and s_n the upstream gradient of
// row n (g_n for no reduction, g for sum, g / D for mean).
//
// `cross_entropy_fwd_<dt>(const T* x, const i64* t, const T* w, T* lse, T* loss, i64 n, i64 c,
//                         double eps)`
//     x: (n, c) logits, contiguous; t: n targets, already validated by the host, with -1 marking
//     an ignored row (a_n = 0); w: c class weights; writes lse (n) and loss (n). The host reduces
//     `loss` with `sum_fwd` (deterministic) for the sum and mean reductions.
// `cross_entropy_bwd_<dt>(const T* x, const i64* t, const T* w, const T* lse, const T* g,
//                         i64 g_stride, double scale, T* dx, i64 n, i64 c, double eps, double w_sum)`
//     s_n = scale * g[n * g_stride]  (g_stride 0: one upstream value for every row).
// Launch: one block of exactly 256 threads per row (rows grid-strided; static shared memory).
//
// Negative log-likelihood of log-probabilities z (n, c), the same targets and weights:
//   loss_n = -a_n w_{t_n} z_{n,t_n},    dz_{n,c} = -s_n a_n w_{t_n} [c = t_n]
// `nll_loss_fwd_<dt>(const T* z, const i64* t, const T* w, T* loss, i64 n, i64 c)`
//     one thread per row (grid-stride); z contiguous (n, c); an ignored row (t = -1) gives 0.
// `nll_loss_bwd_<dt>(const i64* t, const T* w, const T* g, i64 g_stride, double scale, T* dz,
//                    i64 n, i64 c)`
//     one thread per element of dz (n, c), every element written; s_n = scale * g[n * g_stride].
#include "common.cuh"

#define GG_LBLOCK GG_RED_THREADS


template <typename T>
__device__ void ce_fwd(const T *x, const i64 *t, const T *w, T *lse, T *loss, i64 n, i64 c, double eps) {
  for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
    const T *xr = x + r * c;
    T m = gg_neg_inf<T>();
    for (i64 j = threadIdx.x; j < c; j += GG_LBLOCK) m = (xr[j] > m || xr[j] != xr[j]) ? xr[j] : m;
    m = gg_block_max<T>(m);
    if (m == gg_neg_inf<T>()) m = T(0);
    T s = T(0);
    for (i64 j = threadIdx.x; j < c; j += GG_LBLOCK) s += gg_exp<T>(xr[j] - m);
    s = gg_block_sum<T>(s);
    T l = m + gg_log<T>(s);
    T smooth = T(0);
    if (eps != 0.0) {
      for (i64 j = threadIdx.x; j < c; j += GG_LBLOCK) smooth += w[j] * (l - xr[j]);
      smooth = gg_block_sum<T>(smooth);
    }
    if (threadIdx.x == 0) {
      lse[r] = l;
      i64 tr = t[r];
      loss[r] = tr < 0 ? T(0)
                       : (T(1) - T(eps)) * w[tr] * (l - xr[tr]) + T(eps) / T(c) * smooth;
    }
  }
}

template <typename T>
__device__ void ce_bwd(const T *x, const i64 *t, const T *w, const T *lse, const T *g, i64 g_stride,
                       double scale, T *dx, i64 n, i64 c, double eps, double w_sum) {
  for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
    i64 tr = t[r];
    T s = T(scale) * g[r * g_stride];
    for (i64 j = threadIdx.x; j < c; j += GG_LBLOCK) {
      i64 p = r * c + j;
      if (tr < 0) {
        dx[p] = T(0);
        continue;
      }
      T prob = gg_exp<T>(x[p] - lse[r]);
      T onehot = j == tr ? T(1) : T(0);
      dx[p] = s * (T(1) - T(eps)) * w[tr] * (prob - onehot) + s * T(eps) / T(c) * (T(w_sum) * prob - w[j]);
    }
  }
}

#define GG_CE(T, dt)                                                                          \
  extern "C" __global__ void cross_entropy_fwd_##dt(const T *x, const i64 *t, const T *w, T *lse, T *loss, \
                                                    i64 n, i64 c, double eps) {               \
    ce_fwd<T>(x, t, w, lse, loss, n, c, eps);                                                 \
  }                                                                                           \
  extern "C" __global__ void cross_entropy_bwd_##dt(const T *x, const i64 *t, const T *w, const T *lse, \
                                                    const T *g, i64 g_stride, double scale, T *dx, \
                                                    i64 n, i64 c, double eps, double w_sum) { \
    ce_bwd<T>(x, t, w, lse, g, g_stride, scale, dx, n, c, eps, w_sum);                        \
  }
GG_F32_F64(GG_CE)

template <typename T> __device__ void nll_fwd(const T *z, const i64 *t, const T *w, T *loss, i64 n, i64 c) {
  GG_FOR(r, n) {
    const i64 tr = t[r];
    loss[r] = tr < 0 ? T(0) : -(w[tr] * z[r * c + tr]);
  }
}

template <typename T>
__device__ void nll_bwd(const i64 *t, const T *w, const T *g, i64 g_stride, double scale, T *dz, i64 n, i64 c) {
  GG_FOR(i, n * c) {
    const i64 r = i / c, j = i % c, tr = t[r];
    dz[i] = (tr >= 0 && j == tr) ? -((T(scale) * g[r * g_stride]) * w[tr]) : T(0);
  }
}

#define GG_NLL(T, dt)                                                                         \
  extern "C" __global__ void nll_loss_fwd_##dt(const T *z, const i64 *t, const T *w, T *loss, i64 n, i64 c) { \
    nll_fwd<T>(z, t, w, loss, n, c);                                                          \
  }                                                                                           \
  extern "C" __global__ void nll_loss_bwd_##dt(const i64 *t, const T *w, const T *g, i64 g_stride,       \
                                               double scale, T *dz, i64 n, i64 c) {           \
    nll_bwd<T>(t, w, g, g_stride, scale, dz, n, c);                                           \
  }
GG_F32_F64(GG_NLL)
