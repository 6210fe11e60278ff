#include "common.cuh"
// 2-D pooling: max (values + arg-max), average, and the global (adaptive 1x1) average.
//
// Formulas (src/ops/pool2d.rs, PyTorch's F.max_pool2d / F.avg_pool2d / F.adaptive_avg_pool2d(x, 1)).
// x is (N, C, H, W) contiguous, seen as P = N*C planes of H x W. Output (i, j) reads the window
//   R_ij = { (i*s0 - p0 + a, j*s1 - p1 + b) : 0 <= a < kH, 0 <= b < kW },
// clipped to the input: rows r0..r1, columns c0..c1 (half-open), with
//   r0 = max(i*s0 - p0, 0), r1 = min(i*s0 - p0 + kH, H)  (the same for columns),
//   OH = (H + 2 p0 - kH) / s0 + 1  (the same for OW),  padding at most half the kernel.
//
//   max:  y[P, i, j] = max over R_ij of x (padding counts as -inf),
//         idx[P, i, j] = u*W + v of the FIRST maximum in row-major window order (u ascending,
//         then v); a NaN wins at once and propagates (PyTorch's rule). Starts at (r0, c0).
//         dx[P, u, v] = sum over the outputs (i, j) with idx[P, i, j] = u*W + v of dy[P, i, j].
//   avg:  y[P, i, j] = (sum over R_ij within the input of x, row-major) / D_ij,
//         D_ij = (min(i*s0 + kH, H + 2p0) - i*s0) * (min(j*s1 + kW, W + 2p1) - j*s1)
//                when count_include_pad (the window clipped to the padded input),
//              = (r1 - r0) * (c1 - c0)  otherwise.
//         dx[P, u, v] = sum over the windows (i, j) containing (u, v) of dy[P, i, j] / D_ij.
//   global average: y[P] = (sum_{u,v} x[P, u, v]) / (H*W),   dx[P, u, v] = dy[P] / (H*W).
//
// Both backward kernels are GATHERS: one thread per input element walks the windows that contain
// it in increasing output order (i, then j) and sums, starting from 0: the CPU kernel's order of
// additions exactly, deterministic, no atomics. Overlapping windows (stride < kernel) and any
// stride/kernel combination work. Each backward kernel OVERWRITES dx.
//
// Geometry: a `Pool2dGeom` by value, 11 i64 fields in this order (host: #[repr(C)] struct of 11 i64):
//   planes (N*C), h, w, oh, ow, kh, kw, sh, sw, ph, pw
//
// Kernels and launch configurations (one thread per element named; grid-stride, e.g. block 256,
// grid ceil(count/256), any grid gives the same result):
//   max_pool2d_fwd_<t>(Pool2dGeom g, const T* x, T* y, i64* idx)           planes*OH*OW threads
//       y, idx: (N, C, OH, OW); idx is the in-plane flat index u*W + v (as PyTorch's indices).
//   max_pool2d_bwd_<t>(Pool2dGeom g, const i64* idx, const T* dy, T* dx)    planes*H*W threads
//   avg_pool2d_fwd_<t>(Pool2dGeom g, int count_include_pad, const T* x, T* y)      planes*OH*OW
//   avg_pool2d_bwd_<t>(Pool2dGeom g, int count_include_pad, const T* dy, T* dx)    planes*H*W
//       count_include_pad: 0 or 1 (a 32-bit int).
//   adaptive_avg_pool2d_fwd_<t>(i64 planes, i64 hw, const T* x, T* y)
//       BLOCK = 256 THREADS EXACTLY, one block per plane (grid = min(planes, 65535); a smaller grid
//       loops). Thread t sums elements t, t+256, ... of the plane in order, then a fixed tree over
//       the 256 partial sums (static shared memory 256*sizeof(T)); y[P] = sum / hw.
//   adaptive_avg_pool2d_bwd_<t>(i64 planes, i64 hw, const T* dy, T* dx)    planes*hw threads
//       dx[P, e] = dy[P] / hw.

struct Pool2dGeom {
  i64 planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
};

// gg_block_sum (a fixed-tree block sum over exactly GG_RED_THREADS = 256 threads) is in common.cuh.

__device__ __forceinline__ i64 gg_max64(i64 a, i64 b) { return a > b ? a : b; }
__device__ __forceinline__ i64 gg_min64(i64 a, i64 b) { return a < b ? a : b; }

// The outputs whose window (unclipped) covers input row u: i in [lo, hi], i.e.
// i*s - p <= u < i*s - p + k.  Empty when lo > hi.
__device__ __forceinline__ void covering(i64 u, i64 k, i64 s, i64 p, i64 out, i64 *lo, i64 *hi) {
  const i64 first = u + p - k + 1; // i*s >= first
  *lo = first <= 0 ? 0 : (first + s - 1) / s;
  *hi = gg_min64((u + p) / s, out - 1); // i*s <= u + p
}

// D_ij of average pooling.
__device__ __forceinline__ i64 avg_divisor(const Pool2dGeom &g, i64 i, i64 j, int count_include_pad) {
  const i64 r = i * g.sh, c = j * g.sw; // window start in padded coordinates
  if (count_include_pad) {
    const i64 r1p = gg_min64(r + g.kh, g.h + 2 * g.ph);
    const i64 c1p = gg_min64(c + g.kw, g.w + 2 * g.pw);
    return (r1p - r) * (c1p - c);
  }
  const i64 r0 = gg_max64(r - g.ph, 0), r1 = gg_min64(r + g.kh - g.ph, g.h);
  const i64 c0 = gg_max64(c - g.pw, 0), c1 = gg_min64(c + g.kw - g.pw, g.w);
  return (r1 - r0) * (c1 - c0);
}

template <typename T> __device__ void max_fwd(const Pool2dGeom g, const T *x, T *y, i64 *idx) {
  const i64 ohw = g.oh * g.ow;
  GG_FOR(e, g.planes * ohw) {
    const i64 pl = e / ohw, i = (e % ohw) / g.ow, j = e % g.ow;
    const T *xp = x + pl * g.h * g.w;
    const i64 r0 = gg_max64(i * g.sh - g.ph, 0), r1 = gg_min64(i * g.sh - g.ph + g.kh, g.h);
    const i64 c0 = gg_max64(j * g.sw - g.pw, 0), c1 = gg_min64(j * g.sw - g.pw + g.kw, g.w);
    T best = gg_neg_inf<T>();
    i64 at = r0 * g.w + c0;
    bool nan = false;
    for (i64 u = r0; u < r1 && !nan; ++u) {
      for (i64 v = c0; v < c1; ++v) {
        const T val = xp[u * g.w + v];
        if (val != val) { // NaN: wins and stops the search
          best = val;
          at = u * g.w + v;
          nan = true;
          break;
        }
        if (val > best) {
          best = val;
          at = u * g.w + v;
        }
      }
    }
    y[e] = best;
    idx[e] = at;
  }
}

template <typename T> __device__ void max_bwd(const Pool2dGeom g, const i64 *idx, const T *dy, T *dx) {
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
  GG_FOR(e, g.planes * hw) {
    const i64 pl = e / hw, u = (e % hw) / g.w, v = e % g.w;
    const i64 *ip = idx + pl * ohw;
    const T *dyp = dy + pl * ohw;
    const i64 self = u * g.w + v;
    i64 ilo, ihi, jlo, jhi;
    covering(u, g.kh, g.sh, g.ph, g.oh, &ilo, &ihi);
    covering(v, g.kw, g.sw, g.pw, g.ow, &jlo, &jhi);
    T s = T(0);
    for (i64 i = ilo; i <= ihi; ++i)
      for (i64 j = jlo; j <= jhi; ++j)
        if (ip[i * g.ow + j] == self) s += dyp[i * g.ow + j];
    dx[e] = s;
  }
}

template <typename T>
__device__ void avg_fwd(const Pool2dGeom g, int count_include_pad, const T *x, T *y) {
  const i64 ohw = g.oh * g.ow;
  GG_FOR(e, g.planes * ohw) {
    const i64 pl = e / ohw, i = (e % ohw) / g.ow, j = e % g.ow;
    const T *xp = x + pl * g.h * g.w;
    const i64 r0 = gg_max64(i * g.sh - g.ph, 0), r1 = gg_min64(i * g.sh - g.ph + g.kh, g.h);
    const i64 c0 = gg_max64(j * g.sw - g.pw, 0), c1 = gg_min64(j * g.sw - g.pw + g.kw, g.w);
    T s = T(0);
    for (i64 u = r0; u < r1; ++u)
      for (i64 v = c0; v < c1; ++v) s += xp[u * g.w + v];
    y[e] = s / T(avg_divisor(g, i, j, count_include_pad));
  }
}

template <typename T>
__device__ void avg_bwd(const Pool2dGeom g, int count_include_pad, const T *dy, T *dx) {
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
  GG_FOR(e, g.planes * hw) {
    const i64 pl = e / hw, u = (e % hw) / g.w, v = e % g.w;
    const T *dyp = dy + pl * ohw;
    i64 ilo, ihi, jlo, jhi;
    covering(u, g.kh, g.sh, g.ph, g.oh, &ilo, &ihi);
    covering(v, g.kw, g.sw, g.pw, g.ow, &jlo, &jhi);
    T s = T(0);
    for (i64 i = ilo; i <= ihi; ++i)
      for (i64 j = jlo; j <= jhi; ++j)
        s += dyp[i * g.ow + j] / T(avg_divisor(g, i, j, count_include_pad));
    dx[e] = s;
  }
}

template <typename T> __device__ void gap_fwd(i64 planes, i64 hw, const T *x, T *y) {
  for (i64 pl = blockIdx.x; pl < planes; pl += gridDim.x) {
    T s = T(0);
    for (i64 t = threadIdx.x; t < hw; t += GG_RED_THREADS) s += x[pl * hw + t];
    s = gg_block_sum<T>(s);
    if (threadIdx.x == 0) y[pl] = s / T(hw);
  }
}

template <typename T> __device__ void gap_bwd(i64 planes, i64 hw, const T *dy, T *dx) {
  GG_FOR(e, planes * hw) { dx[e] = dy[e / hw] / T(hw); }
}

#define POOL2D_KERNELS(T, t)                                                                      \
  extern "C" __global__ void max_pool2d_fwd_##t(const Pool2dGeom g, const T *x, T *y, i64 *idx) { \
    max_fwd<T>(g, x, y, idx);                                                                     \
  }                                                                                               \
  extern "C" __global__ void max_pool2d_bwd_##t(const Pool2dGeom g, const i64 *idx, const T *dy,  \
                                                T *dx) {                                          \
    max_bwd<T>(g, idx, dy, dx);                                                                   \
  }                                                                                               \
  extern "C" __global__ void avg_pool2d_fwd_##t(const Pool2dGeom g, int count_include_pad,        \
                                                const T *x, T *y) {                               \
    avg_fwd<T>(g, count_include_pad, x, y);                                                       \
  }                                                                                               \
  extern "C" __global__ void avg_pool2d_bwd_##t(const Pool2dGeom g, int count_include_pad,        \
                                                const T *dy, T *dx) {                             \
    avg_bwd<T>(g, count_include_pad, dy, dx);                                                     \
  }                                                                                               \
  extern "C" __global__ void adaptive_avg_pool2d_fwd_##t(i64 planes, i64 hw, const T *x, T *y) {  \
    gap_fwd<T>(planes, hw, x, y);                                                                 \
  }                                                                                               \
  extern "C" __global__ void adaptive_avg_pool2d_bwd_##t(i64 planes, i64 hw, const T *dy, T *dx) { \
    gap_bwd<T>(planes, hw, dy, dx);                                                               \
  }

GG_F32_F64(POOL2D_KERNELS)
