// Batched, strided GEMM:  C_b = alpha * A_b B_b + beta * C_b   for b < batch,
//   A_b (M x K), B_b (K x N), C_b (M x N), each addressed through (batch, row, column) strides, so a
//   transposed or broadcast operand needs no copy (stride 0 for a broadcast batch).
//
//   C[b, i, j] = alpha * sum_{k < K} A[b, i, k] B[b, k, j] + beta * C[b, i, j]
//
// The sum runs over k in ascending order for every (i, j): the result is deterministic and does
// not depend on the launch. beta = 0 never reads C (so C may hold garbage or NaN).
//
// `matmul_fwd_<dt>(const T* A, const T* B, T* C, i64 M, i64 N, i64 K, i64 batch,
//                  i64 sa_b, i64 sa_m, i64 sa_k, i64 sb_b, i64 sb_k, i64 sb_n,
//                  i64 sc_b, i64 sc_m, i64 sc_n, double alpha, double beta)`
// Launch: block 256 threads, grid (ceil(N / 128), ceil(M / 128), batch); static shared memory
// 2 * 8 * 128 * sizeof(T).
//
// Tiling: each block computes a 128 x 128 tile of C; each thread an 8 x 8 sub-tile whose rows
// are ty + 16 r and columns tx + 16 s (strided, so that neighbouring threads read neighbouring
// shared-memory words: no bank conflicts). K advances in slices of 8 staged through shared memory.
#include "common.cuh"

#define GG_BM 128
#define GG_BN 128
#define GG_BK 8
#define GG_TM 8
#define GG_TN 8

template <typename T>
__device__ void gemm(const T *A, const T *B, T *C, i64 M, i64 N, i64 K, i64 sa_b, i64 sa_m, i64 sa_k,
                     i64 sb_b, i64 sb_k, i64 sb_n, i64 sc_b, i64 sc_m, i64 sc_n, double alpha, double beta) {
  __shared__ T As[GG_BK][GG_BM];
  __shared__ T Bs[GG_BK][GG_BN];
  const i64 b = blockIdx.z;
  const i64 row0 = (i64)blockIdx.y * GG_BM, col0 = (i64)blockIdx.x * GG_BN;
  const T *Ab = A + b * sa_b;
  const T *Bb = B + b * sb_b;
  T *Cb = C + b * sc_b;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;

  T acc[GG_TM][GG_TN];
#pragma unroll
  for (int r = 0; r < GG_TM; ++r)
#pragma unroll
    for (int s = 0; s < GG_TN; ++s) acc[r][s] = T(0);

  for (i64 k0 = 0; k0 < K; k0 += GG_BK) {
    // Stage A[row0 .. +128, k0 .. +8] and B[k0 .. +8, col0 .. +128]; zeros outside the matrices.
    for (int l = threadIdx.x; l < GG_BM * GG_BK; l += 256) {
      int r = l / GG_BK, kk = l % GG_BK;
      i64 gi = row0 + r, gk = k0 + kk;
      As[kk][r] = (gi < M && gk < K) ? Ab[gi * sa_m + gk * sa_k] : T(0);
    }
    for (int l = threadIdx.x; l < GG_BK * GG_BN; l += 256) {
      int kk = l / GG_BN, cc = l % GG_BN;
      i64 gk = k0 + kk, gj = col0 + cc;
      Bs[kk][cc] = (gk < K && gj < N) ? Bb[gk * sb_k + gj * sb_n] : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < GG_BK; ++kk) {
      T a[GG_TM], bv[GG_TN];
#pragma unroll
      for (int r = 0; r < GG_TM; ++r) a[r] = As[kk][ty + 16 * r];
#pragma unroll
      for (int s = 0; s < GG_TN; ++s) bv[s] = Bs[kk][tx + 16 * s];
#pragma unroll
      for (int r = 0; r < GG_TM; ++r)
#pragma unroll
        for (int s = 0; s < GG_TN; ++s) acc[r][s] += a[r] * bv[s];
    }
    __syncthreads();
  }

#pragma unroll
  for (int r = 0; r < GG_TM; ++r) {
    i64 i = row0 + ty + 16 * r;
    if (i >= M) continue;
#pragma unroll
    for (int s = 0; s < GG_TN; ++s) {
      i64 j = col0 + tx + 16 * s;
      if (j >= N) continue;
      T *c = Cb + i * sc_m + j * sc_n;
      T v = T(alpha) * acc[r][s];
      *c = beta == 0.0 ? v : v + T(beta) * *c;
    }
  }
}

#define GG_GEMM(T, dt)                                                                        \
  extern "C" __global__ void matmul_fwd_##dt(const T *A, const T *B, T *C, i64 M, i64 N, i64 K, i64 batch, \
                                             i64 sa_b, i64 sa_m, i64 sa_k, i64 sb_b, i64 sb_k, i64 sb_n, \
                                             i64 sc_b, i64 sc_m, i64 sc_n, double alpha, double beta) { \
    (void)batch;                                                                              \
    gemm<T>(A, B, C, M, N, K, sa_b, sa_m, sa_k, sb_b, sb_k, sb_n, sc_b, sc_m, sc_n, alpha, beta); \
  }
GG_F32_F64(GG_GEMM)
