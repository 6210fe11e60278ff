#include "common.cuh"
// Matrix-factorization prediction (mf_predict) and its deterministic gradient.
//
// Formulas (src/ops/factorization.rs), for N (user, item) pairs (u_n, i_n), P (U, K), Q (I, K),
// biases b^u (U), b^i (I), global bias mu (one element):
//   forward:   rhat_n = mu + b^u[u_n] + b^i[i_n] + sum_{k<K} P[u_n, k] Q[i_n, k]
//              (added left to right, the dot product in increasing k from 0: the CPU's order)
//   backward, upstream gradient g (N):
//     dP[u, :] = sum_{n: u_n = u} g_n Q[i_n, :],     db^u[u] = sum_{n: u_n = u} g_n
//     dQ[i, :] = sum_{n: i_n = i} g_n P[u_n, :],     db^i[i] = sum_{n: i_n = i} g_n
//     dmu      = sum_n g_n
//
// The row gradients are segmented sums over a CSR the host builds (as for embedding.cu): for the
// user side, the pairs stably sorted by user id give
//   rows[k]     the k-th distinct user id, ascending (nrows of them),
//   row_ptr[k]  start of its pairs in pos (nrows + 1 entries, row_ptr[0] = 0),
//   pos[q]      the pair indices n, ascending within a row;
// `other` is then the item ids and `table` is Q. The item side is the same call with the roles
// swapped (item CSR, other = user ids, table = P). One thread per (row, column) sums in pos order
// from 0: the CPU's order exactly, no atomics.
//
// Out-of-range ids are never read: the forward writes 0 and the row kernel skips the term, and
// both record the offender in `err` (one i64 the host sets to i64::MAX before the launch; integer
// atomicMin, so deterministic): the smallest bad pair index n (forward, and `other` ids in
// backward) or CSR entry k (a bad rows[k] in dense mode).
//
// Kernels and launch configurations:
//   mf_predict_fwd_<t>(i64 npairs, i64 k, i64 nu, i64 ni, const i64* user, const i64* item,
//                      const T* p, const T* q, const T* bu, const T* bi, const T* mu, T* y, i64* err)
//       one thread per pair (npairs threads, grid-stride, e.g. block 256).
//   mf_predict_bwd_rows_<t>(i64 nrows, i64 k, i64 ntable, i64 nother, const i64* rows,
//                           const i64* row_ptr, const i64* pos, const i64* other, const T* g,
//                           const T* table, T* d_factors, T* d_bias, int dense, i64* err)
//       nrows*(K+1) threads (grid-stride): thread (row k, column c) writes d_factors[row, c] for
//       c < K and d_bias[row] for c = K. ntable: rows of the table being differentiated (U or I);
//       nother: rows of `table` (I or U). dense = 1: row = rows[k] in the (ntable, K) and (ntable)
//       gradients (the host zeroes them first); dense = 0: row = k (compact (nrows, K), (nrows)).
//   mf_predict_bwd_mu_<t>(i64 npairs, const T* g, T* dmu)
//       BLOCK = 256 THREADS EXACTLY, ONE BLOCK: thread t sums g[t], g[t+256], ... in order, then a
//       fixed tree over the 256 partial sums; dmu[0] = the total. (Deterministic; the CPU adds
//       sequentially, so the last bits may differ from it.)

// gg_block_sum (a fixed-tree block sum over exactly GG_RED_THREADS = 256 threads) is in common.cuh.

template <typename T>
__device__ void fwd(i64 npairs, i64 k, i64 nu, i64 ni, const i64 *user, const i64 *item, const T *p,
                    const T *q, const T *bu, const T *bi, const T *mu, T *y, i64 *err) {
  GG_FOR(n, npairs) {
    const i64 u = user[n], i = item[n];
    if (u < 0 || u >= nu || i < 0 || i >= ni) {
      y[n] = T(0);
      atomicMin(err, n);
      continue;
    }
    T dot = T(0);
    for (i64 c = 0; c < k; ++c) dot += p[u * k + c] * q[i * k + c];
    y[n] = mu[0] + bu[u] + bi[i] + dot;
  }
}

template <typename T>
__device__ void bwd_rows(i64 nrows, i64 k, i64 ntable, i64 nother, const i64 *rows, const i64 *row_ptr,
                         const i64 *pos, const i64 *other, const T *g, const T *table, T *d_factors,
                         T *d_bias, int dense, i64 *err) {
  GG_FOR(e, nrows * (k + 1)) {
    const i64 r = e / (k + 1), c = e % (k + 1);
    T s = T(0);
    for (i64 t = row_ptr[r]; t < row_ptr[r + 1]; ++t) {
      const i64 n = pos[t];
      if (c == k) {
        s += g[n];
      } else {
        const i64 o = other[n];
        if (o < 0 || o >= nother) {
          atomicMin(err, n);
          continue;
        }
        s += g[n] * table[o * k + c];
      }
    }
    i64 row = r;
    if (dense) {
      row = rows[r];
      if (row < 0 || row >= ntable) {
        if (c == 0) atomicMin(err, r);
        continue;
      }
    }
    if (c == k)
      d_bias[row] = s;
    else
      d_factors[row * k + c] = s;
  }
}

template <typename T> __device__ void bwd_mu(i64 npairs, const T *g, T *dmu) {
  T s = T(0);
  for (i64 n = threadIdx.x; n < npairs; n += GG_RED_THREADS) s += g[n];
  s = gg_block_sum<T>(s);
  if (threadIdx.x == 0 && blockIdx.x == 0) dmu[0] = s;
}

#define MF_KERNELS(T, t_)                                                                         \
  extern "C" __global__ void mf_predict_fwd_##t_(i64 npairs, i64 k, i64 nu, i64 ni,              \
                                                 const i64 *user, const i64 *item, const T *p,    \
                                                 const T *q, const T *bu, const T *bi,            \
                                                 const T *mu, T *y, i64 *err) {                   \
    fwd<T>(npairs, k, nu, ni, user, item, p, q, bu, bi, mu, y, err);                              \
  }                                                                                               \
  extern "C" __global__ void mf_predict_bwd_rows_##t_(                                            \
      i64 nrows, i64 k, i64 ntable, i64 nother, const i64 *rows, const i64 *row_ptr,              \
      const i64 *pos, const i64 *other, const T *g, const T *table, T *d_factors, T *d_bias,      \
      int dense, i64 *err) {                                                                      \
    bwd_rows<T>(nrows, k, ntable, nother, rows, row_ptr, pos, other, g, table, d_factors, d_bias, \
                dense, err);                                                                      \
  }                                                                                               \
  extern "C" __global__ void mf_predict_bwd_mu_##t_(i64 npairs, const T *g, T *dmu) {            \
    bwd_mu<T>(npairs, g, dmu);                                                                    \
  }

GG_F32_F64(MF_KERNELS)
