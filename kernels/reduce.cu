// Sums over a set of dimensions (`sum`, `mean`, `sum_to` for broadcasting gradients).
//
// The host permutes the reduced dimensions to the back of the input's `Layout`, so the input reads
// as an (m, k) matrix: m kept positions, k reduced elements each.
//
// `sum_fwd_<dt>(const T* x, Layout lx, T* y, i64 m, i64 k, double scale)`
//     y_r = scale * sum_{j<k} x[offset(lx, r*k + j)]          (scale = 1 for sum, 1/k for mean)
// Launch: one block of 256 threads per output row r (grid (min(m, 65535), 1, 1) (`rows_cfg`), rows
// grid-strided), shared memory 256 * sizeof(T). Thread t adds elements j = t, t+256, ... in order,
// then a fixed binary tree combines the 256 partial sums: the result depends only on k, never on
// timing (deterministic, no atomics).
#include "common.cuh"

#define GG_RBLOCK 256

template <typename T>
__device__ void sum_rows(const T *x, Layout lx, T *y, i64 m, i64 k, double scale) {
  extern __shared__ unsigned char gg_smem[];
  T *part = (T *)gg_smem;
  for (i64 r = blockIdx.x; r < m; r += gridDim.x) {
    T acc = T(0);
    for (i64 j = threadIdx.x; j < k; j += GG_RBLOCK) acc += x[gg_offset(lx, r * k + j)];
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int s = GG_RBLOCK / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
      __syncthreads();
    }
    if (threadIdx.x == 0) y[r] = part[0] * T(scale);
    __syncthreads();
  }
}

extern "C" __global__ void sum_fwd_f32(const float *x, Layout lx, float *y, i64 m, i64 k, double scale) {
  sum_rows<float>(x, lx, y, m, k, scale);
}
extern "C" __global__ void sum_fwd_f64(const double *x, Layout lx, double *y, i64 m, i64 k, double scale) {
  sum_rows<double>(x, lx, y, m, k, scale);
}
