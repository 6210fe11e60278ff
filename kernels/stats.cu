// Statistics (src/ops/stats.rs): maxima and minima with their positions, variance.
//
// The reductions read the input as an (m, k) matrix through a `Layout`: the host permutes the
// reduced dimensions to the back (as for `sum`, kernels/reduce.cu), so row r holds the k elements
// of output r and column j is their row-major position among the reduced dimensions.
// Launch of the row kernels: one block of exactly 256 threads per row (rows grid-strided), static
// shared memory. Thread t scans j = t, t+256, ... in order; a fixed tree then combines the 256
// partial results, so every result depends only on the inputs and the sizes (no atomics).
//
// `max_dim_fwd_<dt>(const T* x, Layout lx, T* y, i64* p, i64 m, i64 k)`            (and min_dim)
//     p_r = the first j that attains the maximum of row r, where a NaN beats every number (the
//     first NaN is the row's maximum and minimum: NaN propagates); y_r = x_{r, p_r}. k >= 1.
//     Combining two candidates (v, j), (w, l): the one that beats the other, or on a tie (equal,
//     or both NaN) the smaller position; this is what the CPU's sequential scan gives.
//     Also serves argmax/argmin (one row of k = every element: the flattened index) and the full
//     max/min.                                                           (dt = f32, f64, i64)
// `max_dim_bwd_<dt>(const i64* p, const T* g, T* dx, i64 outer, i64 n, i64 inner)`
//     dx_{o, j, i} = g_{o, i} · [j = p_{o, i}]  (one thread per input element, a gather; dx, g and p
//     contiguous, x of shape (outer, n, inner) around the reduced dimension). Also min_dim's.
// `spread_count_bwd_<dt>(const T* x, Layout lx, const T* y, i64 n, i64* count)`   (one block)
//     count = #{i : hit(x_i)}, hit(v) = (y is NaN ? v is NaN : v = y); an integer sum, exact.
// `spread_bwd_<dt>(const T* x, Layout lx, const T* y, const T* g, const i64* count, T* dx, i64 n)`
//     dx_i = hit(x_i) ? g / count : 0 (the gradient of the full max/min: g shared evenly among the
//     elements equal to the result, the CPU's `spread_kernel`). Elementwise, any grid.
// `var_fwd_<dt>(const T* x, Layout lx, T* var, T* mean, i64 m, i64 k, double dof)`
//     mean_r = (sum_j x_rj) / k, var_r = (sum_j (x_rj - mean_r)^2) / dof: two passes over the row
//     (the mean first), dof = max(0, k - correction) from the host; 0/0 = NaN and s/0 = inf as in
//     PyTorch. k = 0 gives NaN for both.
// `var_bwd_<dt>(const T* x, Layout lx, const T* mean, Layout lm, const T* g, Layout lg, T* dx,
//               i64 n, double scale)`
//     dx_i = (x_i - mean_i) · g_i · scale with scale = 2 / dof and mean, g broadcast to x's shape
//     (the CPU's order of operations). Elementwise, any grid.
#include "common.cuh"

// a beats b: larger (largest) or smaller than it, or NaN against a number.
template <typename T> __device__ __forceinline__ bool gg_beats(T a, T b, bool largest) {
  bool better = largest ? (a > b) : (a < b);
  return better || (a != a && !(b != b));
}

// Candidate (w, l) replaces (v, j): it beats it, or neither beats the other and l < j. A position
// below 0 is "no candidate".
template <typename T> __device__ __forceinline__ bool gg_better(T w, i64 l, T v, i64 j, bool largest) {
  if (l < 0) return false;
  if (j < 0) return true;
  if (gg_beats<T>(w, v, largest)) return true;
  if (gg_beats<T>(v, w, largest)) return false;
  return l < j;
}

template <typename T>
__device__ void best_rows(const T *x, Layout lx, T *y, i64 *p, i64 m, i64 k, bool largest) {
  __shared__ T sv[GG_RED_THREADS];
  __shared__ i64 sj[GG_RED_THREADS];
  for (i64 r = blockIdx.x; r < m; r += gridDim.x) {
    T v = T(0);
    i64 j = -1;
    for (i64 c = threadIdx.x; c < k; c += GG_RED_THREADS) {
      T w = x[gg_offset(lx, r * k + c)];
      if (gg_better<T>(w, c, v, j, largest)) v = w, j = c;
    }
    sv[threadIdx.x] = v;
    sj[threadIdx.x] = j;
    __syncthreads();
    for (int s = GG_RED_THREADS / 2; s > 0; s >>= 1) {
      if ((int)threadIdx.x < s) {
        T w = sv[threadIdx.x + s];
        i64 l = sj[threadIdx.x + s];
        if (gg_better<T>(w, l, sv[threadIdx.x], sj[threadIdx.x], largest)) {
          sv[threadIdx.x] = w;
          sj[threadIdx.x] = l;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      y[r] = sv[0];
      p[r] = sj[0];
    }
    __syncthreads();
  }
}

template <typename T> __device__ void best_dim_bwd(const i64 *p, const T *g, T *dx, i64 outer, i64 n, i64 inner) {
  GG_FOR(e, outer * n * inner) {
    i64 i = e % inner, j = (e / inner) % n, o = e / (inner * n);
    i64 q = o * inner + i;
    dx[e] = p[q] == j ? g[q] : T(0);
  }
}

template <typename T> __device__ __forceinline__ bool gg_hit(T v, T y) { return y != y ? v != v : v == y; }

template <typename T> __device__ void spread_count(const T *x, Layout lx, const T *y, i64 n, i64 *count) {
  T yv = y[0];
  i64 c = 0;
  for (i64 i = threadIdx.x; i < n; i += GG_RED_THREADS) c += gg_hit<T>(x[gg_offset(lx, i)], yv) ? 1 : 0;
  c = gg_block_sum<i64>(c);
  if (threadIdx.x == 0) count[0] = c;
}

template <typename T>
__device__ void spread(const T *x, Layout lx, const T *y, const T *g, const i64 *count, T *dx, i64 n) {
  T yv = y[0];
  T share = g[0] / (T)(double)count[0];
  GG_FOR(i, n) { dx[i] = gg_hit<T>(x[gg_offset(lx, i)], yv) ? share : T(0); }
}

template <typename T> __device__ void var_rows(const T *x, Layout lx, T *var, T *mean, i64 m, i64 k, double dof) {
  for (i64 r = blockIdx.x; r < m; r += gridDim.x) {
    T s = T(0);
    for (i64 c = threadIdx.x; c < k; c += GG_RED_THREADS) s += x[gg_offset(lx, r * k + c)];
    s = gg_block_sum<T>(s);
    T mu = s / (T)(double)k;
    T q = T(0);
    for (i64 c = threadIdx.x; c < k; c += GG_RED_THREADS) {
      T d = x[gg_offset(lx, r * k + c)] - mu;
      q += d * d;
    }
    q = gg_block_sum<T>(q);
    if (threadIdx.x == 0) {
      mean[r] = mu;
      var[r] = q / (T)dof;
    }
  }
}

template <typename T>
__device__ void var_bwd(const T *x, Layout lx, const T *mean, Layout lm, const T *g, Layout lg, T *dx, i64 n,
                        double scale) {
  GG_FOR(i, n) { dx[i] = (x[gg_offset(lx, i)] - mean[gg_offset(lm, i)]) * g[gg_offset(lg, i)] * (T)scale; }
}

#define GG_BEST(T, dt)                                                                             \
  extern "C" __global__ void max_dim_fwd_##dt(const T *x, Layout lx, T *y, i64 *p, i64 m, i64 k) { \
    best_rows<T>(x, lx, y, p, m, k, true);                                                         \
  }                                                                                                \
  extern "C" __global__ void min_dim_fwd_##dt(const T *x, Layout lx, T *y, i64 *p, i64 m, i64 k) { \
    best_rows<T>(x, lx, y, p, m, k, false);                                                        \
  }
GG_BEST(float, f32)
GG_BEST(double, f64)
GG_BEST(i64, i64)

#define GG_STATS(T, dt)                                                                            \
  extern "C" __global__ void max_dim_bwd_##dt(const i64 *p, const T *g, T *dx, i64 outer, i64 n, i64 inner) { \
    best_dim_bwd<T>(p, g, dx, outer, n, inner);                                                    \
  }                                                                                                \
  extern "C" __global__ void spread_count_bwd_##dt(const T *x, Layout lx, const T *y, i64 n, i64 *count) { \
    spread_count<T>(x, lx, y, n, count);                                                           \
  }                                                                                                \
  extern "C" __global__ void spread_bwd_##dt(const T *x, Layout lx, const T *y, const T *g, const i64 *count, \
                                             T *dx, i64 n) {                                       \
    spread<T>(x, lx, y, g, count, dx, n);                                                          \
  }                                                                                                \
  extern "C" __global__ void var_fwd_##dt(const T *x, Layout lx, T *var, T *mean, i64 m, i64 k, double dof) { \
    var_rows<T>(x, lx, var, mean, m, k, dof);                                                      \
  }                                                                                                \
  extern "C" __global__ void var_bwd_##dt(const T *x, Layout lx, const T *mean, Layout lm, const T *g, Layout lg, \
                                          T *dx, i64 n, double scale) {                            \
    var_bwd<T>(x, lx, mean, lm, g, lg, dx, n, scale);                                              \
  }
GG_F32_F64(GG_STATS)
