// softmax and log_softmax along one dimension, numerically stable (max subtracted first).
//
// The tensor is contiguous and read as (outer, c, inner): element (o, j, i) sits at
// (o * c + j) * inner + i, and the op runs along j for each of the rows = outer * inner pairs (o, i).
//
//   softmax:      y_j = e^{x_j - m} / sum_l e^{x_l - m},   m = max_l x_l
//   log_softmax:  y_j = x_j - m - ln sum_l e^{x_l - m}
//   softmax_bwd:      dx_j = y_j (g_j - sum_l g_l y_l)
//   log_softmax_bwd:  dx_j = g_j - e^{y_j} sum_l g_l
//
// `softmax_fwd_<dt>(const T* x, T* y, i64 outer, i64 c, i64 inner)` (and log_softmax_fwd)
// `softmax_bwd_<dt>(const T* g, const T* y, T* dx, i64 outer, i64 c, i64 inner)` (and log_)
// `logsumexp_fwd_<dt>(const T* x, T* y, i64 outer, i64 c, i64 inner)`: y (outer * inner) with
//     y = m' + ln sum_l e^{x_l - m'},  m' = m when m is finite, else 0 (src/ops/softmax.rs: a lane
//     of -inf gives -inf, a lane with +inf gives +inf, a NaN gives NaN, an empty lane -inf).
//     Its gradient is a composite of elementwise ops on the host side.
// Launch: one block of exactly 256 threads per row (rows grid-strided; static shared memory).
// Every row reduction is a fixed tree over 256 partials: deterministic.
#include "common.cuh"

#define GG_SBLOCK GG_RED_THREADS


template <typename T, bool LOG>
__device__ void softmax_rows(const T *x, T *y, i64 outer, i64 c, i64 inner) {
  for (i64 row = blockIdx.x; row < outer * inner; row += gridDim.x) {
    i64 o = row / inner, i = row % inner;
    const T *xr = x + o * c * inner + i;
    T *yr = y + o * c * inner + i;
    T m = gg_neg_inf<T>();
    for (i64 j = threadIdx.x; j < c; j += GG_SBLOCK) {
      T v = xr[j * inner];
      m = (v > m || v != v) ? v : m;
    }
    m = gg_block_max<T>(m);
    if (m == gg_neg_inf<T>()) m = T(0);  // a row of -inf: avoid (-inf) - (-inf)
    T s = T(0);
    for (i64 j = threadIdx.x; j < c; j += GG_SBLOCK) s += gg_exp<T>(xr[j * inner] - m);
    s = gg_block_sum<T>(s);
    T lse = gg_log<T>(s);
    for (i64 j = threadIdx.x; j < c; j += GG_SBLOCK) {
      T z = xr[j * inner] - m;
      yr[j * inner] = LOG ? z - lse : gg_exp<T>(z) / s;
    }
  }
}

template <typename T, bool LOG>
__device__ void softmax_bwd_rows(const T *g, const T *y, T *dx, i64 outer, i64 c, i64 inner) {
  for (i64 row = blockIdx.x; row < outer * inner; row += gridDim.x) {
    i64 base = (row / inner) * c * inner + row % inner;
    T s = T(0);
    for (i64 j = threadIdx.x; j < c; j += GG_SBLOCK) {
      i64 p = base + j * inner;
      s += LOG ? g[p] : g[p] * y[p];
    }
    s = gg_block_sum<T>(s);
    for (i64 j = threadIdx.x; j < c; j += GG_SBLOCK) {
      i64 p = base + j * inner;
      dx[p] = LOG ? g[p] - gg_exp<T>(y[p]) * s : y[p] * (g[p] - s);
    }
  }
}

template <typename T> __device__ void logsumexp_rows(const T *x, T *y, i64 outer, i64 c, i64 inner) {
  for (i64 row = blockIdx.x; row < outer * inner; row += gridDim.x) {
    const T *xr = x + (row / inner) * c * inner + row % inner;
    T m = gg_neg_inf<T>();
    for (i64 j = threadIdx.x; j < c; j += GG_SBLOCK) {
      T v = xr[j * inner];
      m = (v > m || v != v) ? v : m;
    }
    m = gg_block_max<T>(m);
    const bool finite = m > gg_neg_inf<T>() && m < -gg_neg_inf<T>(); // not +-inf, not NaN
    const T shift = finite ? m : T(0);
    T s = T(0);
    for (i64 j = threadIdx.x; j < c; j += GG_SBLOCK) s += gg_exp<T>(xr[j * inner] - shift);
    s = gg_block_sum<T>(s);
    if (threadIdx.x == 0) y[row] = shift + gg_log<T>(s);
  }
}

#define GG_SOFTMAX(T, dt)                                                                     \
  extern "C" __global__ void softmax_fwd_##dt(const T *x, T *y, i64 outer, i64 c, i64 inner) { \
    softmax_rows<T, false>(x, y, outer, c, inner);                                           \
  }                                                                                           \
  extern "C" __global__ void log_softmax_fwd_##dt(const T *x, T *y, i64 outer, i64 c, i64 inner) { \
    softmax_rows<T, true>(x, y, outer, c, inner);                                            \
  }                                                                                           \
  extern "C" __global__ void softmax_bwd_##dt(const T *g, const T *y, T *dx, i64 outer, i64 c, i64 inner) { \
    softmax_bwd_rows<T, false>(g, y, dx, outer, c, inner);                                   \
  }                                                                                           \
  extern "C" __global__ void log_softmax_bwd_##dt(const T *g, const T *y, T *dx, i64 outer, i64 c, i64 inner) { \
    softmax_bwd_rows<T, true>(g, y, dx, outer, c, inner);                                    \
  }                                                                                           \
  extern "C" __global__ void logsumexp_fwd_##dt(const T *x, T *y, i64 outer, i64 c, i64 inner) { \
    logsumexp_rows<T>(x, y, outer, c, inner);                                                \
  }
GG_F32_F64(GG_SOFTMAX)
