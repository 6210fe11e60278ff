#include "common.cuh"
// Reading and writing by integer index: index_select, gather, scatter_add (forward and the
// gradients the CPU op records), one_hot. Formulas (src/ops/index.rs), along dimension d:
//
//   gather:        y[c] = x[c with c_d := idx[c]]                          (y has idx's shape)
//   index_select:  y[c] = x[c with c_d := idx[c_d]]   (idx 1-D of length m: the same gather with
//                  the index read through a Layout that broadcasts it along every other dimension)
//   scatter_add:   y = x, then y[c with c_d := idx[c]] += src[c] for every c in idx's shape, the
//                  additions into one element in index order (c_d ascending), as the CPU op
//   index_select backward:  dx[o, i, r] = sum over k with idx[k] = i of g[o, k, r]  (k ascending)
//   gather backward:        scatter_add of g into zeros (the host calls scatter_add_fwd)
//   scatter_add backward:   dx = g; dsrc = gather(g, d, idx) placed in zeros of src's shape
//   one_hot:       y[r, c] = (idx[r] == c) ? 1 : 0
//
// Indices are validated on the host before any launch (an out-of-range index is an Error::Index);
// the kernels still never read outside a tensor: an index outside 0..n_d reads as 0 (gather) or
// is skipped (scatter, one_hot).
//
// Determinism: no atomics. Every output element is written by one thread, and the sums of the
// scatter-style kernels run over a CSR that the host builds (sorted by destination, positions
// ascending within a destination), in the CPU op's order of additions.
//
// Kernels (block 256, any grid: grid-stride loops over the n outputs):
//   gather_fwd_<t>(const T* x, Layout lx, i64 sd, i64 nd, const i64* idx, Layout li, T* y, i64 n)
//       t in f32 f64 i64 u8. y (contiguous, n elements) has the row-major shape lx.shape = li.shape;
//       lx holds x's strides with the stride along d set to 0, sd is x's stride along d and nd its
//       size; li is the index's view as y's shape (strided, or broadcast for index_select).
//       y[e] = x[offset(lx, e) + idx[offset(li, e)] * sd].
//   index_select_bwd_<t>(i64 outer, i64 n, i64 inner, const i64* row_ptr, const i64* pos,
//                        const T* g, i64 m, T* dx)
//       t in f32 f64. g contiguous (outer, m, inner), dx contiguous (outer, n, inner), one thread
//       each. row_ptr (n + 1 entries) and pos group the index positions k by their value i:
//       dx[o, i, r] = sum over q = row_ptr[i] .. row_ptr[i+1]-1 of g[o, pos[q], r], from 0.
//   scatter_add_fwd_<t>(const T* x, Layout lx, const T* src, Layout ls, Layout lk,
//                       const i64* row_ptr, const i64* pos, T* y, i64 n)
//       t in f32 f64 i64. y contiguous with x's shape lx.shape (n elements). ls reads src's
//       idx-shaped corner (shape = idx's shape, src's strides). lk.shape is idx's shape with
//       dimension d replaced by x's size n_d, lk.strides its row-major strides: the key of a
//       destination c (inside lk.shape) is sum_k c_k lk.strides[k]. The CSR: row_ptr (one entry
//       per key + 1), pos[q] = row-major position in idx's shape of a source, ascending per key.
//       y[e] = x[offset(lx, e)] + sum over q in the key's range of src[offset(ls, pos[q])];
//       destinations outside lk.shape (lanes the index does not reach) keep x.
//   one_hot_fwd_<t>(const i64* idx, i64 rows, i64 classes, T* y)
//       t in f32 f64 i64 u8. y contiguous (rows, classes).

// ------------------------------------------------------------------------------------ gather

template <typename T>
__device__ void gather_fwd(const T *x, Layout lx, i64 sd, i64 nd, const i64 *idx, Layout li, T *y,
                           i64 n) {
  GG_FOR(e, n) {
    const i64 i = idx[gg_offset(li, e)];
    y[e] = (i >= 0 && i < nd) ? x[gg_offset(lx, e) + i * sd] : T(0);
  }
}

// ------------------------------------------------------------------ index_select backward

template <typename T>
__device__ void index_select_bwd(i64 outer, i64 n, i64 inner, const i64 *row_ptr, const i64 *pos,
                                 const T *g, i64 m, T *dx) {
  GG_FOR(e, outer * n * inner) {
    const i64 r = e % inner, i = (e / inner) % n, o = e / (inner * n);
    T s = T(0);
    for (i64 q = row_ptr[i]; q < row_ptr[i + 1]; ++q) s += g[(o * m + pos[q]) * inner + r];
    dx[e] = s;
  }
}

// ------------------------------------------------------------------------------ scatter_add

// The CSR key of the row-major element e of shape lx.shape, or -1 when it lies outside lk.shape.
__device__ __forceinline__ i64 gg_scatter_key(const Layout &lx, const Layout &lk, i64 e) {
  i64 key = 0;
  for (int k = lx.ndim - 1; k >= 0; --k) {
    const i64 c = e % lx.shape[k];
    e /= lx.shape[k];
    if (c >= lk.shape[k]) return -1;
    key += c * lk.strides[k];
  }
  return key;
}

template <typename T>
__device__ void scatter_add_fwd(const T *x, Layout lx, const T *src, Layout ls, Layout lk,
                                const i64 *row_ptr, const i64 *pos, T *y, i64 n) {
  GG_FOR(e, n) {
    T s = x[gg_offset(lx, e)];
    const i64 key = gg_scatter_key(lx, lk, e);
    if (key >= 0)
      for (i64 q = row_ptr[key]; q < row_ptr[key + 1]; ++q) s += src[gg_offset(ls, pos[q])];
    y[e] = s;
  }
}

// ---------------------------------------------------------------------------------- one_hot

template <typename T> __device__ void one_hot_fwd(const i64 *idx, i64 rows, i64 classes, T *y) {
  GG_FOR(e, rows * classes) { y[e] = (idx[e / classes] == e % classes) ? T(1) : T(0); }
}

#define GG_GATHER(T, t)                                                                           \
  extern "C" __global__ void gather_fwd_##t(const T *x, Layout lx, i64 sd, i64 nd, const i64 *idx, \
                                            Layout li, T *y, i64 n) {                             \
    gather_fwd<T>(x, lx, sd, nd, idx, li, y, n);                                                  \
  }                                                                                               \
  extern "C" __global__ void one_hot_fwd_##t(const i64 *idx, i64 rows, i64 classes, T *y) {       \
    one_hot_fwd<T>(idx, rows, classes, y);                                                        \
  }
GG_GATHER(float, f32)
GG_GATHER(double, f64)
GG_GATHER(i64, i64)
GG_GATHER(unsigned char, u8)

#define GG_SCATTER(T, t)                                                                          \
  extern "C" __global__ void scatter_add_fwd_##t(const T *x, Layout lx, const T *src, Layout ls,  \
                                                 Layout lk, const i64 *row_ptr, const i64 *pos,   \
                                                 T *y, i64 n) {                                   \
    scatter_add_fwd<T>(x, lx, src, ls, lk, row_ptr, pos, y, n);                                   \
  }
GG_SCATTER(float, f32)
GG_SCATTER(double, f64)
GG_SCATTER(i64, i64)

#define GG_INDEX_SELECT_BWD(T, t)                                                                 \
  extern "C" __global__ void index_select_bwd_##t(i64 outer, i64 n, i64 inner, const i64 *row_ptr, \
                                                  const i64 *pos, const T *g, i64 m, T *dx) {     \
    index_select_bwd<T>(outer, n, inner, row_ptr, pos, g, m, dx);                                 \
  }
GG_F32_F64(GG_INDEX_SELECT_BWD)
