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
// `matmul_fast_f32` (below) is the same product for contiguous, aligned f32 operands.
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

// matmul_small_<dt>: the same product (same arguments) with 32 x 32 tiles, for the skinny GEMMs of
// the recurrent layers (e.g. 64 x 512 x 128 per time step), where 128 x 128 tiles would leave most
// of the GPU idle (4 blocks on 132 SMs). Launch: block 256 threads, grid (ceil(N / 32),
// ceil(M / 32), batch), static shared memory 2 * 8 * 32 * sizeof(T). Each thread owns 2 x 2
// outputs, rows ty + 16 r and columns tx + 16 s (r, s < 2); the sum over k is the same chain in the
// same order as matmul_fwd, so the two give the same bits.
#define GG_SM 32
template <typename T>
__device__ void gemm_small(const T *A, const T *B, T *C, i64 M, i64 N, i64 K, i64 sa_b, i64 sa_m,
                           i64 sa_k, i64 sb_b, i64 sb_k, i64 sb_n, i64 sc_b, i64 sc_m, i64 sc_n,
                           double alpha, double beta) {
  __shared__ T As[GG_BK][GG_SM];
  __shared__ T Bs[GG_BK][GG_SM];
  const i64 b = blockIdx.z;
  const i64 row0 = (i64)blockIdx.y * GG_SM, col0 = (i64)blockIdx.x * GG_SM;
  const T *Ab = A + b * sa_b;
  const T *Bb = B + b * sb_b;
  T *Cb = C + b * sc_b;
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  // Staging: thread t loads A[row0 + t / 8, k0 + t % 8] and B[k0 + t / 32, col0 + t % 32].
  const int a_r = t / GG_BK, a_k = t % GG_BK, b_k = t / GG_SM, b_c = t % GG_SM;
  T acc[2][2] = {{T(0), T(0)}, {T(0), T(0)}};
  for (i64 k0 = 0; k0 < K; k0 += GG_BK) {
    {
      const i64 gi = row0 + a_r, gk = k0 + a_k;
      As[a_k][a_r] = (gi < M && gk < K) ? Ab[gi * sa_m + gk * sa_k] : T(0);
      const i64 gk2 = k0 + b_k, gj = col0 + b_c;
      Bs[b_k][b_c] = (gk2 < K && gj < N) ? Bb[gk2 * sb_k + gj * sb_n] : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < GG_BK; ++kk) {
      const T a0 = As[kk][ty], a1 = As[kk][ty + 16];
      const T b0 = Bs[kk][tx], b1 = Bs[kk][tx + 16];
      acc[0][0] += a0 * b0;
      acc[0][1] += a0 * b1;
      acc[1][0] += a1 * b0;
      acc[1][1] += a1 * b1;
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const i64 i = row0 + ty + 16 * r;
    if (i >= M) continue;
#pragma unroll
    for (int s = 0; s < 2; ++s) {
      const i64 j = col0 + tx + 16 * s;
      if (j >= N) continue;
      T *c = Cb + i * sc_m + j * sc_n;
      T v = T(alpha) * acc[r][s];
      *c = beta == 0.0 ? v : v + T(beta) * *c;
    }
  }
}

#define GG_GEMM_SMALL(T, dt)                                                                  \
  extern "C" __global__ void matmul_small_##dt(const T *A, const T *B, T *C, i64 M, i64 N, i64 K, i64 batch, \
                                               i64 sa_b, i64 sa_m, i64 sa_k, i64 sb_b, i64 sb_k, i64 sb_n, \
                                               i64 sc_b, i64 sc_m, i64 sc_n, double alpha, double beta) { \
    (void)batch;                                                                              \
    gemm_small<T>(A, B, C, M, N, K, sa_b, sa_m, sa_k, sb_b, sb_k, sb_n, sc_b, sc_m, sc_n, alpha, beta); \
  }
GG_F32_F64(GG_GEMM_SMALL)

// matmul_fast_f32: the same product (same arguments and launch) for the common contiguous f32 case,
// with 16-byte vector loads, a register-staged double buffer and vector shared-memory reads.
// The host launches it only when
//   sa_k = 1, sb_n = 1 (rows of A and B contiguous), and K, N, sa_m, sb_k, sa_b, sb_b are
//   multiples of 4, and A, B are 16-byte aligned,
// so that every 4-element vector is either wholly inside its matrix or wholly outside (then 0).
// Same tile (128 x 128 x 8, 256 threads, 8 x 8 outputs per thread), but each thread owns the rows
// {4 ty + r, 64 + 4 ty + r} and columns {4 tx + s, 64 + 4 tx + s} (r, s < 4), read from shared
// memory as float4. Every output is still one multiply-add chain over k ascending from 0, then
// alpha * acc (+ beta * C): the same operations in the same order as matmul_fwd_f32, so both
// kernels give the same bits.
//   Pipeline per k-slice: the next slice's global loads are issued into registers, the current
//   slice (in shared buffer cur) is multiplied, the registers are stored into buffer cur ^ 1, then
//   one __syncthreads (nobody still reads cur ^ 1: it was the previous slice, finished before the
//   previous barrier).
extern "C" __global__ void matmul_fast_f32(const float *A, const float *B, float *C, i64 M, i64 N, i64 K,
                                           i64 batch, i64 sa_b, i64 sa_m, i64 sa_k, i64 sb_b, i64 sb_k,
                                           i64 sb_n, i64 sc_b, i64 sc_m, i64 sc_n, double alpha,
                                           double beta) {
  (void)batch;
  (void)sa_k;
  (void)sb_n;
  __shared__ float As[2][GG_BK][GG_BM]; // A transposed: As[buf][k][row]
  __shared__ float Bs[2][GG_BK][GG_BN];
  const i64 b = blockIdx.z;
  const i64 row0 = (i64)blockIdx.y * GG_BM, col0 = (i64)blockIdx.x * GG_BN;
  const float *Ab = A + b * sa_b;
  const float *Bb = B + b * sb_b;
  float *Cb = C + b * sc_b;
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  // This thread's loads: A row (t / 2), k offset 4 (t % 2); B k-row (t / 32), columns 4 (t % 32).
  const int a_row = t / 2, a_k = 4 * (t % 2), b_k = t / 32, b_col = 4 * (t % 32);
  const float4 zero4 = make_float4(0.f, 0.f, 0.f, 0.f);
  auto load_a = [&](i64 k0) {
    const i64 gi = row0 + a_row, gk = k0 + a_k;
    return (gi < M && gk < K) ? *reinterpret_cast<const float4 *>(Ab + gi * sa_m + gk) : zero4;
  };
  auto load_b = [&](i64 k0) {
    const i64 gk = k0 + b_k, gj = col0 + b_col;
    return (gk < K && gj < N) ? *reinterpret_cast<const float4 *>(Bb + gk * sb_k + gj) : zero4;
  };
  auto store = [&](int buf, float4 va, float4 vb) {
    As[buf][a_k + 0][a_row] = va.x;
    As[buf][a_k + 1][a_row] = va.y;
    As[buf][a_k + 2][a_row] = va.z;
    As[buf][a_k + 3][a_row] = va.w;
    *reinterpret_cast<float4 *>(&Bs[buf][b_k][b_col]) = vb;
  };

  float acc[GG_TM][GG_TN];
#pragma unroll
  for (int r = 0; r < GG_TM; ++r)
#pragma unroll
    for (int s = 0; s < GG_TN; ++s) acc[r][s] = 0.f;

  store(0, load_a(0), load_b(0));
  __syncthreads();
  int cur = 0;
  for (i64 k0 = 0; k0 < K; k0 += GG_BK) {
    const bool next = k0 + GG_BK < K;
    float4 va = zero4, vb = zero4;
    if (next) {
      va = load_a(k0 + GG_BK);
      vb = load_b(k0 + GG_BK);
    }
#pragma unroll
    for (int kk = 0; kk < GG_BK; ++kk) {
      const float4 a0 = *reinterpret_cast<const float4 *>(&As[cur][kk][4 * ty]);
      const float4 a1 = *reinterpret_cast<const float4 *>(&As[cur][kk][64 + 4 * ty]);
      const float4 b0 = *reinterpret_cast<const float4 *>(&Bs[cur][kk][4 * tx]);
      const float4 b1 = *reinterpret_cast<const float4 *>(&Bs[cur][kk][64 + 4 * tx]);
      const float a[GG_TM] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float bv[GG_TN] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int r = 0; r < GG_TM; ++r)
#pragma unroll
        for (int s = 0; s < GG_TN; ++s) acc[r][s] += a[r] * bv[s];
    }
    if (next) store(cur ^ 1, va, vb);
    __syncthreads();
    cur ^= 1;
  }

#pragma unroll
  for (int r = 0; r < GG_TM; ++r) {
    const i64 i = row0 + (r < 4 ? 4 * ty + r : 64 + 4 * ty + (r - 4));
    if (i >= M) continue;
#pragma unroll
    for (int s = 0; s < GG_TN; ++s) {
      const i64 j = col0 + (s < 4 ? 4 * tx + s : 64 + 4 * tx + (s - 4));
      if (j >= N) continue;
      float *c = Cb + i * sc_m + j * sc_n;
      const float v = float(alpha) * acc[r][s];
      *c = beta == 0.0 ? v : v + float(beta) * *c;
    }
  }
}
