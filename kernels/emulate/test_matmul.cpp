// Emulated run of kernels/matmul.cu: the general strided GEMM, its 32 x 32-tile twin and the
// contiguous fast f32 kernel
// against a double-precision reference (odd sizes that cut the 128 x 128 x 8 tiles, batches,
// alpha/beta, a broadcast batch stride, a transposed operand for the general kernel), and the two
// f32 kernels against each other bit for bit.
#include "cuda_shim.h"
#include "check.h"
#include "../matmul.cu"
#include <cstring>

struct Shape {
  i64 m, n, k, batch;
  double alpha, beta;
  bool broadcast_a;
};

static void run(const Shape &sh) {
  Rng rng(11);
  const i64 M = sh.m, N = sh.n, K = sh.k, NB = sh.batch;
  const i64 sa_b = sh.broadcast_a ? 0 : M * K;
  auto a = randv<float>(rng, (sh.broadcast_a ? 1 : NB) * M * K);
  auto b = randv<float>(rng, NB * K * N);
  auto c0 = randv<float>(rng, NB * M * N);
  std::vector<double> ref(NB * M * N);
  for (i64 q = 0; q < NB; ++q)
    for (i64 i = 0; i < M; ++i)
      for (i64 j = 0; j < N; ++j) {
        double s = 0;
        for (i64 kk = 0; kk < K; ++kk) s += (double)a[q * sa_b + i * K + kk] * b[(q * K + kk) * N + j];
        ref[(q * M + i) * N + j] = sh.alpha * s + sh.beta * c0[(q * M + i) * N + j];
      }
  const unsigned gx = (unsigned)((N + 127) / 128), gy = (unsigned)((M + 127) / 128);
  auto c_gen = c0, c_fast = c0, c_small = c0;
  gg_launch3(gx, gy, (unsigned)NB, 256, [&] {
    matmul_fwd_f32(a.data(), b.data(), c_gen.data(), M, N, K, NB, sa_b, K, 1, K * N, N, 1, M * N, N, 1, sh.alpha, sh.beta);
  });
  gg_launch3(gx, gy, (unsigned)NB, 256, [&] {
    matmul_fast_f32(a.data(), b.data(), c_fast.data(), M, N, K, NB, sa_b, K, 1, K * N, N, 1, M * N, N, 1, sh.alpha, sh.beta);
  });
  gg_launch3((unsigned)((N + 31) / 32), (unsigned)((M + 31) / 32), (unsigned)NB, 256, [&] {
    matmul_small_f32(a.data(), b.data(), c_small.data(), M, N, K, NB, sa_b, K, 1, K * N, N, 1, M * N, N, 1, sh.alpha, sh.beta);
  });
  const std::string tag = std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) + " batch " +
                          std::to_string(NB) + (sh.broadcast_a ? " (A broadcast)" : "");
  expect_close("general kernel " + tag, c_gen, ref, 2e-5);
  expect_close("fast kernel " + tag, c_fast, ref, 2e-5);
  expect_true("small tiles = general bit for bit " + tag,
              std::memcmp(c_gen.data(), c_small.data(), c_gen.size() * sizeof(float)) == 0);
  expect_true("fast = general bit for bit " + tag,
              std::memcmp(c_gen.data(), c_fast.data(), c_gen.size() * sizeof(float)) == 0);
}

// The general kernel reading a transposed B (column-major storage) in f64.
static void transposed() {
  Rng rng(5);
  const i64 M = 37, N = 19, K = 141;
  auto a = randv<double>(rng, M * K), bt = randv<double>(rng, N * K); // bt[j, k] = B[k, j]
  std::vector<double> c(M * N), ref(M * N);
  for (i64 i = 0; i < M; ++i)
    for (i64 j = 0; j < N; ++j) {
      double s = 0;
      for (i64 kk = 0; kk < K; ++kk) s += a[i * K + kk] * bt[j * K + kk];
      ref[i * N + j] = s;
    }
  gg_launch3(1, 1, 1, 256, [&] {
    matmul_fwd_f64(a.data(), bt.data(), c.data(), M, N, K, 1, 0, K, 1, 0, 1, K, 0, N, 1, 1.0, 0.0);
  });
  expect_close("general kernel, transposed B (f64)", c, ref, 1e-13);
}

int main() {
  run({130, 132, 20, 1, 1.0, 0.0, false});  // partial tiles in M, N and the last k-slice (20 = 8 + 8 + 4)
  run({64, 256, 64, 2, 0.5, 1.0, false});   // batches, alpha and beta accumulating into C
  run({5, 8, 4, 3, 1.0, 0.0, true});        // tiny, A broadcast over the batch (stride 0)
  transposed();
  return finish("matmul");
}
