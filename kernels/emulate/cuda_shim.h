// CPU emulation of the little of CUDA that glassgrad's kernels use, so that a kernels/*.cu file
// compiles with g++ (-include cuda_shim.h) and its kernels run on the CPU: each block of a launch
// runs as blockDim.x real threads (std::thread, so __syncthreads and __shared__ work: the blocks
// of a grid run one after another, and a `static` shared array is the block's shared memory).
// Only for testing the index arithmetic and formulas; not part of the build or of CI.
#pragma once
#include <barrier>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

struct gg_dim3 {
  unsigned x = 1, y = 1, z = 1;
};
inline thread_local gg_dim3 threadIdx, blockIdx;
inline gg_dim3 blockDim, gridDim;
inline std::barrier<> *gg_block_barrier = nullptr;
inline std::mutex gg_atomic_mutex;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static

inline void __syncthreads() { gg_block_barrier->arrive_and_wait(); }

inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}
inline double __longlong_as_double(long long i) {
  double d;
  std::memcpy(&d, &i, sizeof d);
  return d;
}
inline long long atomicMin(long long *p, long long v) {
  std::lock_guard<std::mutex> lock(gg_atomic_mutex);
  long long old = *p;
  if (v < old) *p = v;
  return old;
}
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

using std::exp;
using std::log;
using std::sqrt;
using std::tanh;

// Runs `kernel` as a grid of `grid` blocks of `block` threads: kernel launch <<<grid, block>>>.
inline void gg_launch(unsigned grid, unsigned block, const std::function<void()> &kernel) {
  gridDim.x = grid;
  blockDim.x = block;
  for (unsigned b = 0; b < grid; ++b) {
    std::barrier<> bar(block);
    gg_block_barrier = &bar;
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < block; ++t)
      ts.emplace_back([&, b, t] {
        blockIdx.x = b;
        threadIdx.x = t;
        kernel();
      });
    for (auto &th : ts) th.join();
    gg_block_barrier = nullptr;
  }
}

// A 3-D grid (gx, gy, gz) of 1-D blocks: the blocks run one after another, x fastest.
inline void gg_launch3(unsigned gx, unsigned gy, unsigned gz, unsigned block, const std::function<void()> &kernel) {
  gridDim.x = gx;
  gridDim.y = gy;
  gridDim.z = gz;
  blockDim.x = block;
  for (unsigned bz = 0; bz < gz; ++bz)
    for (unsigned by = 0; by < gy; ++by)
      for (unsigned bx = 0; bx < gx; ++bx) {
        std::barrier<> bar(block);
        gg_block_barrier = &bar;
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block; ++t)
          ts.emplace_back([&, bx, by, bz, t] {
            blockIdx.x = bx;
            blockIdx.y = by;
            blockIdx.z = bz;
            threadIdx.x = t;
            kernel();
          });
        for (auto &th : ts) th.join();
        gg_block_barrier = nullptr;
      }
}
