#include "common.cuh"
// sort and topk along a dimension (src/ops/sort.rs), and their gradient.
//
// The input is contiguous and seen as (outer, n, inner): lane (o, r) holds x[o, 0..n, r]. The
// order is PyTorch's, as the CPU op's: ascending with NaN the largest value (last), or descending
// with NaN first; NaNs equal each other; equal values keep their input order (stable). So element
// l comes before element j of a lane when
//   before(l, j) = cmp(x_l, x_j) < 0  or  (cmp(x_l, x_j) == 0 and l < j),
// cmp the NaN-last comparison, its arguments swapped for descending. The rank of element j is
//   rank_j = #{ l : before(l, j) }   (0 .. n-1, a permutation of the lane),
// and sort puts x_j at position rank_j. topk(k, largest) is the first k of the sort (descending
// for largest): the CPU's "by value, ties to the earlier index". With sorted = false the k chosen
// elements (rank_j < k) keep their input order: position #{ l < j : rank_l < k }.
//
// Cost: one thread per element, each reading its whole lane: O(n^2) work per lane of n (O(n)
// per thread), simple and deterministic; fine for the lane lengths of this project (classes,
// sequence positions, up to some thousands), not a radix sort.
//
// Gradient (the values only move): dx[o, idx[o, j, r], r] = g[o, j, r], zeros elsewhere; each
// source position receives at most one value (idx is injective along a lane), so the scatter
// needs no atomics. The host zeroes dx first.
//
// Kernels (block 256, any grid: grid-stride loops):
//   sort_fwd_rank_<t>(const T* x, i64 outer, i64 n, i64 inner, int descending, i64* rank)
//       t in f32 f64 i64; x and rank contiguous (outer, n, inner); rank[e] = rank of element e.
//   sort_fwd_<t>(const T* x, const i64* rank, i64 outer, i64 n, i64 inner, i64 k, int sorted,
//                T* y, i64* idx)
//       t in f32 f64 i64; one thread per input element; y and idx contiguous (outer, k, inner):
//       an element with rank < k is written at position rank (sorted = 1) or at its position
//       among the chosen in input order (sorted = 0), with its lane index j in idx.
//   sort_bwd_<t>(const T* g, const i64* idx, i64 outer, i64 n, i64 inner, i64 k, T* dx)
//       t in f32 f64; g and idx contiguous (outer, k, inner), dx contiguous (outer, n, inner),
//       zeroed by the host. An idx outside 0..n is skipped (never produced by the forward).

// NaN-last three-way comparison (-1, 0, 1); every i64 compares with itself.
template <typename T> __device__ __forceinline__ int gg_cmp_nan_last(T a, T b) {
  if (a < b) return -1;
  if (b < a) return 1;
  const bool na = a != a, nb = b != b;
  if (na && !nb) return 1;
  if (nb && !na) return -1;
  return 0;
}

template <typename T>
__device__ void sort_rank(const T *x, i64 outer, i64 n, i64 inner, int descending, i64 *rank) {
  GG_FOR(e, outer * n * inner) {
    const i64 r = e % inner, j = (e / inner) % n, o = e / (inner * n);
    const T *lane = x + o * n * inner + r;
    const T xj = lane[j * inner];
    i64 count = 0;
    for (i64 l = 0; l < n; ++l) {
      const T xl = lane[l * inner];
      const int c = descending ? gg_cmp_nan_last<T>(xj, xl) : gg_cmp_nan_last<T>(xl, xj);
      if (c < 0 || (c == 0 && l < j)) ++count;
    }
    rank[e] = count;
  }
}

template <typename T>
__device__ void sort_pick(const T *x, const i64 *rank, i64 outer, i64 n, i64 inner, i64 k,
                          int sorted, T *y, i64 *idx) {
  GG_FOR(e, outer * n * inner) {
    const i64 r = e % inner, j = (e / inner) % n, o = e / (inner * n);
    const i64 rj = rank[e];
    if (rj >= k) continue;
    i64 p = rj;
    if (!sorted) {
      p = 0;
      const i64 *lane = rank + o * n * inner + r;
      for (i64 l = 0; l < j; ++l) p += lane[l * inner] < k;
    }
    const i64 out = (o * k + p) * inner + r;
    y[out] = x[e];
    idx[out] = j;
  }
}

template <typename T>
__device__ void sort_bwd(const T *g, const i64 *idx, i64 outer, i64 n, i64 inner, i64 k, T *dx) {
  GG_FOR(e, outer * k * inner) {
    const i64 r = e % inner, o = e / (inner * k);
    const i64 j = idx[e];
    if (j >= 0 && j < n) dx[(o * n + j) * inner + r] = g[e];
  }
}

#define GG_SORT(T, t)                                                                             \
  extern "C" __global__ void sort_fwd_rank_##t(const T *x, i64 outer, i64 n, i64 inner,          \
                                               int descending, i64 *rank) {                       \
    sort_rank<T>(x, outer, n, inner, descending, rank);                                           \
  }                                                                                               \
  extern "C" __global__ void sort_fwd_##t(const T *x, const i64 *rank, i64 outer, i64 n,         \
                                          i64 inner, i64 k, int sorted, T *y, i64 *idx) {         \
    sort_pick<T>(x, rank, outer, n, inner, k, sorted, y, idx);                                    \
  }
GG_SORT(float, f32)
GG_SORT(double, f64)
GG_SORT(i64, i64)

#define GG_SORT_BWD(T, t)                                                                         \
  extern "C" __global__ void sort_bwd_##t(const T *g, const i64 *idx, i64 outer, i64 n, i64 inner, \
                                          i64 k, T *dx) {                                         \
    sort_bwd<T>(g, idx, outer, n, inner, k, dx);                                                  \
  }
GG_F32_F64(GG_SORT_BWD)
