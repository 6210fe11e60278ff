// Layout changes and fills.
//
// `copy_fwd_<dt>(const T* x, Layout lx, T* y, i64 n)`: y_i = x[offset(lx, i)], the row-major
//   gather that makes a strided or broadcast view contiguous (`Tensor::contiguous`, `broadcast_to`).
// `copy_into_<dt>(const T* x, Layout lx, T* y, Layout ly, i64 n)`: y[offset(ly, i)] = x[offset(lx, i)],
//   a strided write (the gradient of `narrow`: the upstream gradient copied into its window of a
//   zero tensor). `ly` must not map two elements to one place.
// `fill_fwd_<dt>(T* y, i64 n, double v)`: y_i = v (`zeros`, `ones`, `full` on the device).
// `cast_fwd_<from>_<to>(const From* x, Layout lx, To* y, i64 n)`: y_i = (To) x_i, with bool stored
//   as one byte (`u8`) holding 0 or 1.
// Launch: block 256, any grid (grid-stride loop).
#include "common.cuh"

template <typename T> __device__ void copy_strided(const T *x, Layout lx, T *y, i64 n) {
  GG_FOR(i, n) { y[i] = x[gg_offset(lx, i)]; }
}
template <typename T> __device__ void copy_into(const T *x, Layout lx, T *y, Layout ly, i64 n) {
  GG_FOR(i, n) { y[gg_offset(ly, i)] = x[gg_offset(lx, i)]; }
}
template <typename T> __device__ void fill(T *y, i64 n, double v) {
  GG_FOR(i, n) { y[i] = (T)v; }
}
template <typename From, typename To> __device__ void cast(const From *x, Layout lx, To *y, i64 n) {
  GG_FOR(i, n) { y[i] = (To)x[gg_offset(lx, i)]; }
}

#define GG_COPY(T, dt)                                                                        \
  extern "C" __global__ void copy_fwd_##dt(const T *x, Layout lx, T *y, i64 n) { copy_strided<T>(x, lx, y, n); } \
  extern "C" __global__ void copy_into_##dt(const T *x, Layout lx, T *y, Layout ly, i64 n) { copy_into<T>(x, lx, y, ly, n); } \
  extern "C" __global__ void fill_fwd_##dt(T *y, i64 n, double v) { fill<T>(y, n, v); }
GG_COPY(float, f32)
GG_COPY(double, f64)
GG_COPY(i64, i64)
GG_COPY(unsigned char, u8)

#define GG_CAST(F, f, T, t)                                                                   \
  extern "C" __global__ void cast_fwd_##f##_##t(const F *x, Layout lx, T *y, i64 n) { cast<F, T>(x, lx, y, n); }
GG_CAST(float, f32, double, f64)
GG_CAST(double, f64, float, f32)
GG_CAST(i64, i64, float, f32)
GG_CAST(i64, i64, double, f64)
GG_CAST(float, f32, i64, i64)
GG_CAST(double, f64, i64, i64)
GG_CAST(unsigned char, u8, float, f32)
GG_CAST(unsigned char, u8, double, f64)
GG_CAST(unsigned char, u8, i64, i64)
