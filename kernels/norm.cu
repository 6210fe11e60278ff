// Layer normalisation and batch normalisation, forward and backward (src/ops/layer_norm.rs,
// src/ops/batch_norm.rs hold the formulas and the CPU reference).
//
// ## layer_norm: x is contiguous, read as (rows, d); each row is normalised on its own.
//   mu_r = (1/d) sum_j x_rj,  var_r = (1/d) sum_j (x_rj - mu_r)^2,  r_r = 1 / sqrt(var_r + eps),
//   h_rj = (x_rj - mu_r) r_r,  y_rj = w_j h_rj + b_j           (the host passes w = 1, b = 0 when absent)
//   dx_rj = r_r (gh_rj - (1/d) sum_k gh_rk - h_rj (1/d) sum_k gh_rk h_rk),   gh_rj = g_rj w_j
//   dw_j = sum_r g_rj h_rj,   db_j = sum_r g_rj                (rows in order, one thread per j)
// Sums are in T (as the CPU op).
//
// `layer_norm_fwd_<dt>(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, i64 rows, i64 d,
//                      double eps)`       one block of exactly 256 threads per row; writes y (rows, d),
//                                         mean (rows) and rstd = r (rows), saved for the backward.
// `layer_norm_bwd_x_<dt>(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* dx,
//                        i64 rows, i64 d)` one block of exactly 256 threads per row.
// `layer_norm_bwd_weight_<dt>(const T* g, const T* x, const T* mean, const T* rstd, T* dw, T* db,
//                             i64 rows, i64 d)` one thread per feature j (grid-stride).
//
// ## batch_norm: x is contiguous (n, c, s): channel k holds the M = n s values x[(i c + k) s + t].
//   training:   mu_k = (1/M) sum x,  var_k = (1/M) sum (x - mu_k)^2      (biased; sums in double)
//   evaluation: mu_k, var_k are the running statistics (the host casts them to double)
//   r_k = 1 / sqrt(var_k + eps),  alpha_k = gamma_k r_k,  shift_k = beta_k - mu_k alpha_k  (double),
//   y = x * T(alpha_k) + T(shift_k)                                       (the CPU op's form)
//   running update (training): rm' = (1 - m) rm + m mu_k,  rv' = (1 - m) rv + m var_k M / (M - 1)
//   backward: sg_k = sum g,  sgx_k = sum g (x - mu_k) r_k                 (double; = dbeta, dgamma)
//     training:   dx = gamma_k r_k (g - sg_k / M - h sgx_k / M),  h = (x - mu_k) r_k
//     evaluation: dx = gamma_k r_k g
//
// `batch_norm_fwd_stats_<dt>(const T* x, double* mean, double* var, i64 n, i64 c, i64 s)`
//     one block of exactly 256 threads per channel: two passes (mean, then squared deviations).
// `batch_norm_fwd_running_<dt>(const T* rm, const T* rv, const double* mean, const double* var,
//                              T* rm_new, T* rv_new, i64 c, double momentum, double unbias)`
//     one thread per channel; unbias = M / (M - 1). Writes NEW buffers (the old ones may be shared).
// `batch_norm_fwd_<dt>(const T* x, const double* mean, const double* var, const T* gamma,
//                      const T* beta, T* y, i64 n, i64 c, i64 s, double eps)`   one thread per element
// `batch_norm_bwd_weight_<dt>(const T* g, const T* x, const double* mean, const double* var,
//                             double* sg, double* sgx, i64 n, i64 c, i64 s, double eps)`
//     one block of exactly 256 threads per channel.
// `batch_norm_bwd_x_<dt>(const T* g, const T* x, const double* mean, const double* var,
//                        const T* gamma, const double* sg, const double* sgx, T* dx, i64 n, i64 c,
//                        i64 s, double eps, int training)`                      one thread per element
//
// Every per-row or per-channel sum is one thread's loop (t, t + 256, ...) then the fixed tree of
// gg_block_sum: deterministic, no atomics. Block kernels loop over rows/channels beyond the grid.
#include "common.cuh"

#define GG_NBLOCK GG_RED_THREADS

template <typename T>
__device__ void ln_fwd(const T *x, const T *w, const T *b, T *y, T *mean, T *rstd, i64 rows, i64 d,
                       double eps) {
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *xr = x + r * d;
    T s = T(0);
    for (i64 j = threadIdx.x; j < d; j += GG_NBLOCK) s += xr[j];
    const T mu = gg_block_sum<T>(s) / T(d);
    T q = T(0);
    for (i64 j = threadIdx.x; j < d; j += GG_NBLOCK) q += (xr[j] - mu) * (xr[j] - mu);
    const T var = gg_block_sum<T>(q) / T(d);
    const T ri = T(1) / gg_sqrt<T>(var + T(eps));
    for (i64 j = threadIdx.x; j < d; j += GG_NBLOCK) y[r * d + j] = w[j] * ((xr[j] - mu) * ri) + b[j];
    if (threadIdx.x == 0) {
      mean[r] = mu;
      rstd[r] = ri;
    }
  }
}

template <typename T>
__device__ void ln_bwd_x(const T *g, const T *x, const T *w, const T *mean, const T *rstd, T *dx, i64 rows,
                         i64 d) {
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const T mu = mean[r], ri = rstd[r];
    T s1 = T(0), s2 = T(0);
    for (i64 j = threadIdx.x; j < d; j += GG_NBLOCK) {
      const T gh = g[r * d + j] * w[j];
      s1 += gh;
      s2 += gh * ((x[r * d + j] - mu) * ri);
    }
    const T m1 = gg_block_sum<T>(s1) / T(d);
    const T m2 = gg_block_sum<T>(s2) / T(d);
    for (i64 j = threadIdx.x; j < d; j += GG_NBLOCK) {
      const T h = (x[r * d + j] - mu) * ri;
      dx[r * d + j] = ri * (g[r * d + j] * w[j] - m1 - h * m2);
    }
  }
}

template <typename T>
__device__ void ln_bwd_weight(const T *g, const T *x, const T *mean, const T *rstd, T *dw, T *db, i64 rows,
                              i64 d) {
  GG_FOR(j, d) {
    T aw = T(0), ab = T(0);
    for (i64 r = 0; r < rows; ++r) {
      const T gv = g[r * d + j];
      aw += gv * ((x[r * d + j] - mean[r]) * rstd[r]);
      ab += gv;
    }
    dw[j] = aw;
    db[j] = ab;
  }
}

template <typename T>
__device__ void bn_stats(const T *x, double *mean, double *var, i64 n, i64 c, i64 s) {
  const i64 m = n * s;
  for (i64 k = blockIdx.x; k < c; k += gridDim.x) {
    // Element e < M of channel k: sample e / s, position e % s.
    double acc = 0.0;
    for (i64 e = threadIdx.x; e < m; e += GG_NBLOCK) acc += (double)x[((e / s) * c + k) * s + e % s];
    const double mu = gg_block_sum<double>(acc) / (double)m;
    double sq = 0.0;
    for (i64 e = threadIdx.x; e < m; e += GG_NBLOCK) {
      const double dv = (double)x[((e / s) * c + k) * s + e % s] - mu;
      sq += dv * dv;
    }
    const double v = gg_block_sum<double>(sq) / (double)m;
    if (threadIdx.x == 0) {
      mean[k] = mu;
      var[k] = v;
    }
  }
}

template <typename T>
__device__ void bn_running(const T *rm, const T *rv, const double *mean, const double *var, T *rm_new,
                           T *rv_new, i64 c, double momentum, double unbias) {
  GG_FOR(k, c) {
    rm_new[k] = T((1.0 - momentum) * (double)rm[k] + momentum * mean[k]);
    rv_new[k] = T((1.0 - momentum) * (double)rv[k] + momentum * var[k] * unbias);
  }
}

template <typename T>
__device__ void bn_fwd(const T *x, const double *mean, const double *var, const T *gamma, const T *beta, T *y,
                       i64 n, i64 c, i64 s, double eps) {
  GG_FOR(i, n * c * s) {
    const i64 k = (i / s) % c;
    const double alpha = (double)gamma[k] * (1.0 / sqrt(var[k] + eps));
    const double shift = (double)beta[k] - mean[k] * alpha;
    y[i] = x[i] * T(alpha) + T(shift);
  }
}

template <typename T>
__device__ void bn_bwd_weight(const T *g, const T *x, const double *mean, const double *var, double *sg,
                              double *sgx, i64 n, i64 c, i64 s, double eps) {
  const i64 m = n * s;
  for (i64 k = blockIdx.x; k < c; k += gridDim.x) {
    const double mu = mean[k], r = 1.0 / sqrt(var[k] + eps);
    double a = 0.0, b = 0.0;
    for (i64 e = threadIdx.x; e < m; e += GG_NBLOCK) {
      const i64 p = ((e / s) * c + k) * s + e % s;
      const double gv = (double)g[p];
      a += gv;
      b += gv * ((double)x[p] - mu) * r;
    }
    const double ta = gg_block_sum<double>(a);
    const double tb = gg_block_sum<double>(b);
    if (threadIdx.x == 0) {
      sg[k] = ta;
      sgx[k] = tb;
    }
  }
}

template <typename T>
__device__ void bn_bwd_x(const T *g, const T *x, const double *mean, const double *var, const T *gamma,
                         const double *sg, const double *sgx, T *dx, i64 n, i64 c, i64 s, double eps,
                         int training) {
  const double m = (double)(n * s);
  GG_FOR(i, n * c * s) {
    const i64 k = (i / s) % c;
    const double r = 1.0 / sqrt(var[k] + eps);
    const double kk = (double)gamma[k] * r;
    const double a = training ? sg[k] / m : 0.0, b = training ? sgx[k] / m : 0.0;
    const double h = ((double)x[i] - mean[k]) * r;
    dx[i] = T(kk * ((double)g[i] - a - h * b));
  }
}

#define GG_NORM(T, dt)                                                                        \
  extern "C" __global__ void layer_norm_fwd_##dt(const T *x, const T *w, const T *b, T *y, T *mean,     \
                                                 T *rstd, i64 rows, i64 d, double eps) {      \
    ln_fwd<T>(x, w, b, y, mean, rstd, rows, d, eps);                                          \
  }                                                                                           \
  extern "C" __global__ void layer_norm_bwd_x_##dt(const T *g, const T *x, const T *w, const T *mean,   \
                                                   const T *rstd, T *dx, i64 rows, i64 d) {   \
    ln_bwd_x<T>(g, x, w, mean, rstd, dx, rows, d);                                            \
  }                                                                                           \
  extern "C" __global__ void layer_norm_bwd_weight_##dt(const T *g, const T *x, const T *mean,          \
                                                        const T *rstd, T *dw, T *db, i64 rows, i64 d) { \
    ln_bwd_weight<T>(g, x, mean, rstd, dw, db, rows, d);                                      \
  }                                                                                           \
  extern "C" __global__ void batch_norm_fwd_stats_##dt(const T *x, double *mean, double *var, i64 n,    \
                                                       i64 c, i64 s) {                        \
    bn_stats<T>(x, mean, var, n, c, s);                                                       \
  }                                                                                           \
  extern "C" __global__ void batch_norm_fwd_running_##dt(const T *rm, const T *rv, const double *mean,  \
                                                         const double *var, T *rm_new, T *rv_new,       \
                                                         i64 c, double momentum, double unbias) {       \
    bn_running<T>(rm, rv, mean, var, rm_new, rv_new, c, momentum, unbias);                    \
  }                                                                                           \
  extern "C" __global__ void batch_norm_fwd_##dt(const T *x, const double *mean, const double *var,     \
                                                 const T *gamma, const T *beta, T *y, i64 n, i64 c,     \
                                                 i64 s, double eps) {                         \
    bn_fwd<T>(x, mean, var, gamma, beta, y, n, c, s, eps);                                    \
  }                                                                                           \
  extern "C" __global__ void batch_norm_bwd_weight_##dt(const T *g, const T *x, const double *mean,     \
                                                        const double *var, double *sg, double *sgx,     \
                                                        i64 n, i64 c, i64 s, double eps) {    \
    bn_bwd_weight<T>(g, x, mean, var, sg, sgx, n, c, s, eps);                                 \
  }                                                                                           \
  extern "C" __global__ void batch_norm_bwd_x_##dt(const T *g, const T *x, const double *mean,          \
                                                   const double *var, const T *gamma, const double *sg, \
                                                   const double *sgx, T *dx, i64 n, i64 c, i64 s,       \
                                                   double eps, int training) {                \
    bn_bwd_x<T>(g, x, mean, var, gamma, sg, sgx, dx, n, c, s, eps, training);                 \
  }
GG_F32_F64(GG_NORM)
