#include "common.cuh"
// Embedding lookup (F.embedding) and its deterministic gradient.
//
// Formulas (src/ops/embedding.rs): ids of any shape S (i64, P = |S| positions, flat), table W (V, D):
//   forward:   y[p, :] = W[ids[p], :]                       y is (P, D) = S + [D]
//              (the padding_idx row is read like any other: padding only matters in backward)
//   backward:  dW[v, :] = sum over p with ids[p] = v, v != pad, of dy[p, :]   (positions ascending)
//
// The backward is a segmented sum over a CSR the host builds from the ids (as the CPU op's
// grouped_grad does): positions with id = pad dropped, the rest stably sorted by id, then
//   rows[k]     the k-th distinct id, ascending (nrows of them),
//   row_ptr[k]  where its positions start in pos (row_ptr has nrows + 1 entries, row_ptr[0] = 0),
//   pos[q]      the positions, ascending within each row.
// One thread per (touched row k, column d) sums dy[pos[q], d] for q = row_ptr[k] .. row_ptr[k+1]-1
// in that order, from 0: exactly the CPU order (bit-identical sums), no atomics.
//
// Out-of-range ids never cause an out-of-bounds read: the kernel writes zeros instead and records
// the offender in `err` (one i64 in device memory that the host sets to i64::MAX before the
// launch and reads after it): err = the smallest bad position p (forward) or CSR entry k
// (backward). The minimum is taken with an integer atomicMin, so the value is deterministic.
//
// Kernels and launch configurations (grid-stride, e.g. block 256, grid ceil(count/256)):
//   embedding_fwd_<t>(i64 npos, i64 d, i64 v, const i64* ids, const T* w, T* y, i64* err)
//       npos*d threads; y[p, c] = w[ids[p], c]  (0 and err when ids[p] is outside 0..V).
//   embedding_bwd_weight_<t>(i64 nrows, i64 d, i64 v, i64 pad, const i64* rows, const i64* row_ptr,
//                            const i64* pos, const T* dy, T* out, int dense, i64* err)
//       nrows*d threads. dense = 1: out is the (V, D) gradient, row rows[k] is written (the host
//       zeroes `out` first; untouched rows stay 0). dense = 0: out is the compact (nrows, D)
//       values of the row-sparse gradient (SparseGrad { rows, values }), row k is written.
//       pad: the normalized padding_idx (0..V), or -1 for none; a row equal to pad gets zeros
//       (the host should leave it out of the CSR anyway, as the CPU op does).
//       err: a rows[k] outside 0..V (dense mode) is skipped and recorded as k.
//   embedding_merge_rows_<t>(i64 nout, i64 d, const i64* ia, const i64* ib, const T* a,
//                            const T* b, T* out)
//       nout*d threads: out[k, c] = a[ia[k], c] + b[ib[k], c] when ia[k] >= 0 and ib[k] >= 0,
//       a[ia[k], c] or b[ib[k], c] when only one is, 0 when both are -1. With the union of two
//       row-sparse gradients' rows this is their sum (SparseGrad::add: a row in both adds a + b,
//       a row in one is copied); with ib all -1 and ia[v] = the k holding row v, it is the dense
//       (V, D) gradient (SparseGrad::to_dense). The host builds ia, ib from its own row lists.

template <typename T>
__device__ void fwd(i64 npos, i64 d, i64 v, const i64 *ids, const T *w, T *y, i64 *err) {
  GG_FOR(e, npos * d) {
    const i64 p = e / d, c = e % d;
    const i64 id = ids[p];
    if (id < 0 || id >= v) {
      y[e] = T(0);
      if (c == 0) atomicMin(err, p);
    } else {
      y[e] = w[id * d + c];
    }
  }
}

template <typename T>
__device__ void bwd_weight(i64 nrows, i64 d, i64 v, i64 pad, const i64 *rows, const i64 *row_ptr,
                           const i64 *pos, const T *dy, T *out, int dense, i64 *err) {
  GG_FOR(e, nrows * d) {
    const i64 k = e / d, c = e % d;
    const i64 row = rows[k];
    T s = T(0);
    if (row != pad)
      for (i64 q = row_ptr[k]; q < row_ptr[k + 1]; ++q) s += dy[pos[q] * d + c];
    if (!dense) {
      out[k * d + c] = s;
    } else if (row < 0 || row >= v) {
      if (c == 0) atomicMin(err, k);
    } else {
      out[row * d + c] = s;
    }
  }
}

template <typename T>
__device__ void merge_rows(i64 nout, i64 d, const i64 *ia, const i64 *ib, const T *a, const T *b,
                           T *out) {
  GG_FOR(e, nout * d) {
    const i64 k = e / d, c = e % d;
    const i64 i = ia[k], j = ib[k];
    if (i >= 0 && j >= 0) out[e] = a[i * d + c] + b[j * d + c];
    else if (i >= 0) out[e] = a[i * d + c];
    else if (j >= 0) out[e] = b[j * d + c];
    else out[e] = T(0);
  }
}

#define EMBEDDING_KERNELS(T, t)                                                                   \
  extern "C" __global__ void embedding_fwd_##t(i64 npos, i64 d, i64 v, const i64 *ids,           \
                                               const T *w, T *y, i64 *err) {                      \
    fwd<T>(npos, d, v, ids, w, y, err);                                                           \
  }                                                                                               \
  extern "C" __global__ void embedding_bwd_weight_##t(                                            \
      i64 nrows, i64 d, i64 v, i64 pad, const i64 *rows, const i64 *row_ptr, const i64 *pos,      \
      const T *dy, T *out, int dense, i64 *err) {                                                 \
    bwd_weight<T>(nrows, d, v, pad, rows, row_ptr, pos, dy, out, dense, err);                     \
  }                                                                                               \
  extern "C" __global__ void embedding_merge_rows_##t(i64 nout, i64 d, const i64 *ia,             \
                                                      const i64 *ib, const T *a, const T *b,      \
                                                      T *out) {                                   \
    merge_rows<T>(nout, d, ia, ib, a, b, out);                                                    \
  }

GG_F32_F64(EMBEDDING_KERNELS)
