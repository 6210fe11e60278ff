// Shared definitions for glassgrad's CUDA kernels.
//
// Every kernel file in this folder is compiled on its own by NVRTC at run time (see src/device/cuda/);
// the line `#include "common.cuh"` is replaced by this file's text before compilation, so each
// `.cu` file also reads (and compiles with nvcc) as a standalone translation unit.
//
// Conventions
// - Kernels are `extern "C" __global__` and named `<op>_<fwd|bwd>[_<wrt>]_<dtype>`, dtype `f32`
//   or `f64` (`i64` for index tensors). The arithmetic is written once, as a `template` device
//   function, and instantiated per dtype by a thin wrapper.
// - Sizes and indices are `i64` (64-bit): tensors may exceed 2^31 elements on a 141 GB GPU.
// - One thread per output element, grid-stride loops: any grid size gives the same result.
// - Deterministic: no floating-point atomics. A sum over many inputs is either done by one thread
//   in a fixed order, or by a block-wide tree reduction whose shape depends only on the sizes.
#pragma once

typedef long long i64;

// The grid-stride loop over `n` outputs.
#define GG_FOR(i, n)                                                               \
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n);          \
       i += (i64)blockDim.x * gridDim.x)

// Largest rank a strided kernel accepts (shapes and strides are passed by value in a struct).
#define GG_MAX_DIMS 8

// Shape and element strides of a (possibly broadcast, possibly transposed) view.
struct Layout {
  int ndim;
  i64 shape[GG_MAX_DIMS];
  i64 strides[GG_MAX_DIMS];
  i64 offset;
};

// Memory position of the `i`-th element (row-major order) of a strided view.
__device__ __forceinline__ i64 gg_offset(const Layout &l, i64 i) {
  i64 off = l.offset;
  for (int d = l.ndim - 1; d >= 0; --d) {
    i64 s = l.shape[d];
    off += (i % s) * l.strides[d];
    i /= s;
  }
  return off;
}

template <typename T> __device__ __forceinline__ T gg_exp(T x);
template <> __device__ __forceinline__ float gg_exp<float>(float x) { return expf(x); }
template <> __device__ __forceinline__ double gg_exp<double>(double x) { return exp(x); }
template <typename T> __device__ __forceinline__ T gg_log(T x);
template <> __device__ __forceinline__ float gg_log<float>(float x) { return logf(x); }
template <> __device__ __forceinline__ double gg_log<double>(double x) { return log(x); }
template <typename T> __device__ __forceinline__ T gg_tanh(T x);
template <> __device__ __forceinline__ float gg_tanh<float>(float x) { return tanhf(x); }
template <> __device__ __forceinline__ double gg_tanh<double>(double x) { return tanh(x); }
template <typename T> __device__ __forceinline__ T gg_sqrt(T x);
template <> __device__ __forceinline__ float gg_sqrt<float>(float x) { return sqrtf(x); }
template <> __device__ __forceinline__ double gg_sqrt<double>(double x) { return sqrt(x); }

// Logistic sigmoid, stable for large |x| (never exponentiates a positive number).
template <typename T> __device__ __forceinline__ T gg_sigmoid(T x) {
  if (x >= T(0)) {
    T z = gg_exp<T>(-x);
    return T(1) / (T(1) + z);
  }
  T z = gg_exp<T>(x);
  return z / (T(1) + z);
}

template <typename T> __device__ __forceinline__ T gg_neg_inf();
template <> __device__ __forceinline__ float gg_neg_inf<float>() { return -__int_as_float(0x7f800000); }
template <> __device__ __forceinline__ double gg_neg_inf<double>() { return -__longlong_as_double(0x7ff0000000000000LL); }

// Block-wide reductions for blocks of exactly GG_RED_THREADS threads: a fixed tree (pairs at
// distance 128, 64, ..., 1), so the result depends only on the 256 inputs, never on timing. Every
// thread of the block must call them; they return the result to every thread.
#define GG_RED_THREADS 256

template <typename T> __device__ T gg_block_sum(T v) {
  __shared__ T sh[GG_RED_THREADS];
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = GG_RED_THREADS / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  T r = sh[0];
  __syncthreads(); // sh is reused by the next call
  return r;
}

// The maximum, NaN-propagating (a NaN anywhere makes the result NaN, as torch.max).
template <typename T> __device__ T gg_block_max(T v) {
  __shared__ T sh[GG_RED_THREADS];
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = GG_RED_THREADS / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) {
      T a = sh[threadIdx.x], b = sh[threadIdx.x + s];
      sh[threadIdx.x] = (a > b || a != a) ? a : b;
    }
    __syncthreads();
  }
  T r = sh[0];
  __syncthreads();
  return r;
}

// Instantiate `extern "C"` wrappers: GG_F32_F64(X) expands X(float, f32) X(double, f64).
#define GG_F32_F64(X) X(float, f32) X(double, f64)
