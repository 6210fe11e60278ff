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
// Launch: one block of 256 threads per row (rows grid-strided), shared memory 256 * sizeof(T).
#include "common.cuh"

#define GG_LBLOCK 256

template <typename T, bool MAX> __device__ T loss_block_reduce(T v, T *part) {
  part[threadIdx.x] = v;
  __syncthreads();
  for (int s = GG_LBLOCK / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      T a = part[threadIdx.x], b = part[threadIdx.x + s];
      part[threadIdx.x] = MAX ? (a > b || a != a ? a : b) : a + b;
    }
    __syncthreads();
  }
  T r = part[0];
  __syncthreads();
  return r;
}

template <typename T>
__device__ void ce_fwd(const T *x, const i64 *t, const T *w, T *lse, T *loss, i64 n, i64 c, double eps) {
  extern __shared__ unsigned char gg_smem[];
  T *part = (T *)gg_smem;
  for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
    const T *xr = x + r * c;
    T m = gg_neg_inf<T>();
    for (i64 j = threadIdx.x; j < c; j += GG_LBLOCK) m = (xr[j] > m || xr[j] != xr[j]) ? xr[j] : m;
    m = loss_block_reduce<T, true>(m, part);
    if (m == gg_neg_inf<T>()) m = T(0);
    T s = T(0);
    for (i64 j = threadIdx.x; j < c; j += GG_LBLOCK) s += gg_exp<T>(xr[j] - m);
    s = loss_block_reduce<T, false>(s, part);
    T l = m + gg_log<T>(s);
    T smooth = T(0);
    if (eps != 0.0) {
      for (i64 j = threadIdx.x; j < c; j += GG_LBLOCK) smooth += w[j] * (l - xr[j]);
      smooth = loss_block_reduce<T, false>(smooth, part);
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
