// Comparisons, boolean logic, selection, and the elementwise maximum and minimum
// (src/ops/compare.rs). Bool tensors are bytes holding 0 or 1 (`u8`); every operand is read
// through its `Layout` broadcast to the output's shape, and the output is contiguous.
// One thread per output element (grid-stride loop), block 256, any grid: no sums, so every result
// is exact and independent of the launch shape.
//
// `compare_fwd_<dt>(const T* a, Layout la, const T* b, Layout lb, u8* y, i64 n, int op)`
//     y_i = [a_i op b_i], op 0..5 = eq ne lt le gt ge; IEEE: a NaN compares false (`ne`: true).
//     dt = f32, f64, i64, u8 (u8: eq and ne only, checked on the host).
// `compare_scalar_fwd_<dt>(const T* a, Layout la, u8* y, i64 n, int op, double v, int in_f64)`
//     y_i = [a_i op (T)v], or [(double)a_i op v] when in_f64 (an i64 tensor against a non-integral
//     scalar, and bool against any scalar, as the CPU op promotes).
// `logical_not_fwd_u8(const u8* a, Layout la, u8* y, i64 n)`          y_i = ¬a_i
// `logical_and_fwd_u8 / logical_or_fwd_u8(a, la, b, lb, y, n)`        y_i = a_i ∧ b_i, a_i ∨ b_i
// `where_fwd_<dt>(const u8* c, Layout lc, const T* x, Layout lx, const T* y, Layout ly, T* z, i64 n)`
//     z_i = c_i ? x_i : y_i                                             (dt = f32, f64, i64, u8)
// `masked_fill_fwd_<dt>(const u8* m, Layout lm, const T* x, Layout lx, T* z, i64 n, T v)`
//     z_i = m_i ? v : x_i    (v already converted to T on the host)     (dt = f32, f64, i64)
// `maximum_fwd_<dt>(const T* a, Layout la, const T* b, Layout lb, T* z, i64 n)`   (and minimum)
//     z_i = a_i if a_i > b_i (minimum: <) or a_i is NaN, else b_i: NaN propagates, and on a tie
//     b's value is taken (the CPU's `pick`).                            (dt = f32, f64, i64)
// `maximum_bwd_<dt>(const T* p, Layout lp, const T* q, Layout lq, const T* g, T* dp, i64 n)`
//     dp_i = g_i · w(p_i, q_i), w = ½ if p = q, 0 if p < q (minimum: p > q), else 1 (so a NaN on
//     either side gives 1 to both: PyTorch's rule; the CPU's `extreme_weight`). `g` and `dp` are
//     contiguous in the output's shape; the host sums dp back to p's shape. (and minimum_bwd)
#include "common.cuh"

typedef unsigned char u8;

template <typename T> __device__ __forceinline__ u8 gg_compare(T a, T b, int op) {
  switch (op) {
  case 0: return a == b;
  case 1: return a != b;
  case 2: return a < b;
  case 3: return a <= b;
  case 4: return a > b;
  default: return a >= b;
  }
}

template <typename T>
__device__ void compare_fwd(const T *a, Layout la, const T *b, Layout lb, u8 *y, i64 n, int op) {
  GG_FOR(i, n) { y[i] = gg_compare<T>(a[gg_offset(la, i)], b[gg_offset(lb, i)], op); }
}

template <typename T>
__device__ void compare_scalar_fwd(const T *a, Layout la, u8 *y, i64 n, int op, double v, int in_f64) {
  GG_FOR(i, n) {
    T x = a[gg_offset(la, i)];
    y[i] = in_f64 ? gg_compare<double>((double)x, v, op) : gg_compare<T>(x, (T)v, op);
  }
}

template <typename T>
__device__ void where_fwd(const u8 *c, Layout lc, const T *x, Layout lx, const T *y, Layout ly, T *z, i64 n) {
  GG_FOR(i, n) { z[i] = c[gg_offset(lc, i)] ? x[gg_offset(lx, i)] : y[gg_offset(ly, i)]; }
}

template <typename T>
__device__ void masked_fill_fwd(const u8 *m, Layout lm, const T *x, Layout lx, T *z, i64 n, T v) {
  GG_FOR(i, n) { z[i] = m[gg_offset(lm, i)] ? v : x[gg_offset(lx, i)]; }
}

// a wins (largest: a > b; else a < b) or is NaN: a; otherwise b.
template <typename T> __device__ __forceinline__ T gg_pick(T a, T b, bool largest) {
  bool a_wins = largest ? (a > b) : (a < b);
  return (a_wins || a != a) ? a : b;
}

template <typename T>
__device__ void extreme_fwd(const T *a, Layout la, const T *b, Layout lb, T *z, i64 n, bool largest) {
  GG_FOR(i, n) { z[i] = gg_pick<T>(a[gg_offset(la, i)], b[gg_offset(lb, i)], largest); }
}

// The weight of p's gradient: ½ on a tie, 0 where p loses, 1 where it wins or either is NaN.
template <typename T> __device__ __forceinline__ T gg_extreme_weight(T p, T q, bool largest) {
  if (p == q) return T(0.5);
  if ((largest && p < q) || (!largest && p > q)) return T(0);
  return T(1);
}

template <typename T>
__device__ void extreme_bwd(const T *p, Layout lp, const T *q, Layout lq, const T *g, T *dp, i64 n, bool largest) {
  GG_FOR(i, n) { dp[i] = g[i] * gg_extreme_weight<T>(p[gg_offset(lp, i)], q[gg_offset(lq, i)], largest); }
}

#define GG_COMPARE(T, dt)                                                                          \
  extern "C" __global__ void compare_fwd_##dt(const T *a, Layout la, const T *b, Layout lb, u8 *y, i64 n, int op) { \
    compare_fwd<T>(a, la, b, lb, y, n, op);                                                        \
  }                                                                                                \
  extern "C" __global__ void compare_scalar_fwd_##dt(const T *a, Layout la, u8 *y, i64 n, int op, double v, \
                                                     int in_f64) {                                 \
    compare_scalar_fwd<T>(a, la, y, n, op, v, in_f64);                                             \
  }                                                                                                \
  extern "C" __global__ void where_fwd_##dt(const u8 *c, Layout lc, const T *x, Layout lx, const T *y, Layout ly, \
                                            T *z, i64 n) {                                         \
    where_fwd<T>(c, lc, x, lx, y, ly, z, n);                                                       \
  }
GG_COMPARE(float, f32)
GG_COMPARE(double, f64)
GG_COMPARE(i64, i64)
GG_COMPARE(u8, u8)

#define GG_SELECT(T, dt)                                                                           \
  extern "C" __global__ void masked_fill_fwd_##dt(const u8 *m, Layout lm, const T *x, Layout lx, T *z, i64 n, T v) { \
    masked_fill_fwd<T>(m, lm, x, lx, z, n, v);                                                     \
  }                                                                                                \
  extern "C" __global__ void maximum_fwd_##dt(const T *a, Layout la, const T *b, Layout lb, T *z, i64 n) { \
    extreme_fwd<T>(a, la, b, lb, z, n, true);                                                      \
  }                                                                                                \
  extern "C" __global__ void minimum_fwd_##dt(const T *a, Layout la, const T *b, Layout lb, T *z, i64 n) { \
    extreme_fwd<T>(a, la, b, lb, z, n, false);                                                     \
  }
GG_SELECT(float, f32)
GG_SELECT(double, f64)
GG_SELECT(i64, i64)

#define GG_EXTREME_BWD(T, dt)                                                                      \
  extern "C" __global__ void maximum_bwd_##dt(const T *p, Layout lp, const T *q, Layout lq, const T *g, T *dp, \
                                              i64 n) {                                             \
    extreme_bwd<T>(p, lp, q, lq, g, dp, n, true);                                                  \
  }                                                                                                \
  extern "C" __global__ void minimum_bwd_##dt(const T *p, Layout lp, const T *q, Layout lq, const T *g, T *dp, \
                                              i64 n) {                                             \
    extreme_bwd<T>(p, lp, q, lq, g, dp, n, false);                                                 \
  }
GG_F32_F64(GG_EXTREME_BWD)

extern "C" __global__ void logical_not_fwd_u8(const u8 *a, Layout la, u8 *y, i64 n) {
  GG_FOR(i, n) { y[i] = a[gg_offset(la, i)] ? 0 : 1; }
}
extern "C" __global__ void logical_and_fwd_u8(const u8 *a, Layout la, const u8 *b, Layout lb, u8 *y, i64 n) {
  GG_FOR(i, n) { y[i] = (a[gg_offset(la, i)] && b[gg_offset(lb, i)]) ? 1 : 0; }
}
extern "C" __global__ void logical_or_fwd_u8(const u8 *a, Layout la, const u8 *b, Layout lb, u8 *y, i64 n) {
  GG_FOR(i, n) { y[i] = (a[gg_offset(la, i)] || b[gg_offset(lb, i)]) ? 1 : 0; }
}
