#include "common.cuh"
// conv2d: im2col, col2im (as a gather), the bias, and the flip of Convolution mode.
// The GEMMs are the matmul kernel's; this file holds what surrounds them.
//
// Formulas (src/ops/conv2d/mod.rs): x (N, C, H, W), w (O, C/G, kH, kW), b (O), stride s,
// padding p, dilation d, G groups, x = 0 outside the input,
//   y[n,o,i,j] = b[o] + sum_{c<C/G, a<kH, b<kW} x[n, g*C/G + c, i*s0 - p0 + a*d0, j*s1 - p1 + b*d1] * w[o,c,a,b],
//   g = o / (O/G),  OH = (H + 2 p0 - d0 (kH - 1) - 1) / s0 + 1  (same for OW).
//
// The im2col matrix of sample n and group g is the K x OHW matrix (K = (C/G) kH kW, OHW = OH*OW)
//   cols[r = (c*kH + a)*kW + b, q = i*OW + j] = x[n, g*C/G + c, i*s0 - p0 + a*d0, j*s1 - p1 + b*d1]
// (0 in the padding): row r of W_g (O/G x K, the weight rows of group g) times column q of cols is
// the sum above, so  y[n, group g] = W_g . cols[n, g]  (O/G x OHW), one GEMM.
//
// Where each sample's K x OHW block lies in the `cols` buffer is up to the host: element (r, n, q)
// (n counted from the chunk's first sample n0) is at  cols[r*col_row_stride + n*col_sample_stride + q].
//   - "per sample" blocks, (nb, K, OHW): col_row_stride = OHW, col_sample_stride = K*OHW. Then
//     y[n] = W_g . cols[n] is a strided batched GEMM whose result lands directly in y (N, O, OHW).
//   - "wide", (K, nb*OHW): col_row_stride = nb*OHW, col_sample_stride = OHW. One GEMM
//     (O/G x K).(K x nb*OHW) gives (O/G, nb, OHW), which the host must permute into (N, O, OHW).
//
// How the host composes one conv2d (per chunk of nb samples starting at n0, per group g; the
// matmul kernel computes C = alpha A B + beta C with each element one dot product in a fixed order):
//   forward:     conv2d_fwd_im2col(x -> cols);  y[n, gOg:(g+1)Og] = W_g . cols[n]            (beta = 0)
//                then conv2d_fwd_bias once over the whole y.
//   grad input:  dcols[n] = W_g^T . dy[n, gOg:(g+1)Og]   (K x OHW, beta = 0)
//                then conv2d_bwd_col2im(dcols -> dx[channels of group g]) (overwrites them).
//   grad weight: conv2d_fwd_im2col(x -> cols) again (cols are not kept), then one batched GEMM
//                P[n] = dy[n, group g] . cols[n]^T  (O/G x K each, into a workspace, beta = 0), then
//                one GEMM  dW_g (1 x O/G*K) = ones(1 x nb) . P (nb x O/G*K)  summing the samples in
//                increasing n (beta = 0 for the first chunk, 1 after): a fixed order, no atomics.
//                (With the "wide" layout one GEMM per chunk reduces over nb*OHW in one fixed order;
//                also deterministic, but a different rounding.)
//   grad bias:   conv2d_bwd_bias over the whole dy.
//   Convolution mode (the document's true convolution): w' = conv2d_fwd_flip(w) before, and the
//                weight gradient flipped back with conv2d_fwd_flip after (flip is its own inverse).
//   A 1x1 kernel with stride 1 and no padding needs no im2col: x[n, group g] is already cols[n].
//
// Geometry: every kernel takes a `Conv2dGeom` by value: 16 i64 fields, in this order (the host
// mirrors it as a #[repr(C)] struct of 16 i64):
//   n, c, h, w      input (N, C, H, W), contiguous
//   o, groups       output channels O, groups G
//   kh, kw          kernel size
//   oh, ow          output size (the formula above)
//   sh, sw          stride      (s0, s1)
//   ph, pw          padding     (p0, p1)
//   dh, dw          dilation    (d0, d1)
//
// Kernels and launch configurations (any grid size gives the same result unless said otherwise):
//   conv2d_fwd_im2col_<t>(Conv2dGeom g, i64 group, i64 n0, i64 nb, const T* x, T* cols,
//                     i64 col_row_stride, i64 col_sample_stride)
//       one thread per cols element: K*nb*OHW threads, e.g. block 256, grid ceil(K*nb*OHW/256)
//       (grid-stride, so a capped grid works). x is the whole (N, C, H, W) input.
//   conv2d_bwd_col2im_<t>(Conv2dGeom g, i64 group, i64 n0, i64 nb, const T* cols, T* dx,
//                     i64 col_row_stride, i64 col_sample_stride)
//       the adjoint of im2col, as a GATHER: one thread per input element of the group's channels of
//       samples n0..n0+nb, (nb*(C/G)*H*W threads); each sums the cols entries that were copied from
//       it, in increasing (a, b) order (the CPU col2im's order), starting from 0, and OVERWRITES
//       dx[n, g*C/G + c, u, v]. No atomics. dx is the whole (N, C, H, W) gradient.
//   conv2d_fwd_bias_<t>(i64 n, i64 o, i64 ohw, const T* bias, T* y)
//       y[n, o, q] += bias[o] over y (N, O, OHW); one thread per element of y.
//   conv2d_bwd_bias_<t>(i64 n, i64 o, i64 ohw, const T* dy, T* db)
//       db[o] = sum_{n, q} dy[n, o, q]. BLOCK = 256 THREADS EXACTLY, one block per channel
//       (grid = min(O, 65535); a smaller grid loops over the channels). Thread t sums the elements
//       t, t+256, ... of the channel (flat index n*OHW + q) in increasing order; then a fixed tree
//       over the 256 partial sums (static shared memory, 256*sizeof(T)). Writes db (not +=).
//   conv2d_fwd_flip_<t>(i64 total, i64 kh, i64 kw, const T* w, T* out)
//       out[.., a, b] = w[.., kH-1-a, kW-1-b] for a (..., kH, kW) tensor of `total` elements;
//       one thread per element; out must not alias w.

struct Conv2dGeom {
  i64 n, c, h, w;
  i64 o, groups;
  i64 kh, kw;
  i64 oh, ow;
  i64 sh, sw;
  i64 ph, pw;
  i64 dh, dw;
};

// gg_block_sum (a fixed-tree block sum over exactly GG_RED_THREADS = 256 threads) is in common.cuh.

// cols[r, n, q] = x[n0 + n, group*C/G + c, i*s0 - p0 + a*d0, j*s1 - p1 + b*d1]   (0 outside x)
template <typename T>
__device__ void im2col(const Conv2dGeom g, i64 group, i64 n0, i64 nb, const T *x, T *cols,
                       i64 row_stride, i64 sample_stride) {
  const i64 cg = g.c / g.groups;
  const i64 ohw = g.oh * g.ow;
  const i64 k = cg * g.kh * g.kw;
  GG_FOR(e, k * nb * ohw) {
    const i64 q = e % ohw;          // output position (i, j)
    const i64 r = (e / ohw) % k;    // row (c, a, b)
    const i64 n = e / (ohw * k);    // sample within the chunk
    const i64 i = q / g.ow, j = q % g.ow;
    const i64 c = r / (g.kh * g.kw), a = (r / g.kw) % g.kh, b = r % g.kw;
    const i64 u = i * g.sh - g.ph + a * g.dh;
    const i64 v = j * g.sw - g.pw + b * g.dw;
    T val = T(0);
    if (u >= 0 && u < g.h && v >= 0 && v < g.w)
      val = x[(((n0 + n) * g.c + group * cg + c) * g.h + u) * g.w + v];
    cols[r * row_stride + n * sample_stride + q] = val;
  }
}

// dx[n0 + n, group*C/G + c, u, v] = sum over (a, b) ascending of cols[(c*kH + a)*kW + b, n, i*OW + j]
// for the (i, j) with i*s0 - p0 + a*d0 = u and j*s1 - p1 + b*d1 = v, when such (i, j) exist.
template <typename T>
__device__ void col2im(const Conv2dGeom g, i64 group, i64 n0, i64 nb, const T *cols, T *dx,
                       i64 row_stride, i64 sample_stride) {
  const i64 cg = g.c / g.groups;
  const i64 hw = g.h * g.w;
  GG_FOR(e, nb * cg * hw) {
    const i64 v = e % g.w;
    const i64 u = (e / g.w) % g.h;
    const i64 c = (e / hw) % cg;
    const i64 n = e / (hw * cg);
    const T *col_n = cols + n * sample_stride;
    T s = T(0);
    for (i64 a = 0; a < g.kh; ++a) {
      const i64 iu = u + g.ph - a * g.dh; // = i*s0 for the output row i that reads (u) through a
      if (iu < 0) break;                  // decreases with a
      if (iu % g.sh != 0) continue;
      const i64 i = iu / g.sh;
      if (i >= g.oh) continue;
      for (i64 b = 0; b < g.kw; ++b) {
        const i64 jv = v + g.pw - b * g.dw;
        if (jv < 0) break;
        if (jv % g.sw != 0) continue;
        const i64 j = jv / g.sw;
        if (j >= g.ow) continue;
        const i64 r = (c * g.kh + a) * g.kw + b;
        s += col_n[r * row_stride + i * g.ow + j];
      }
    }
    dx[((n0 + n) * g.c + group * cg + c) * hw + u * g.w + v] = s;
  }
}

// y[n, o, q] += bias[o]
template <typename T> __device__ void fwd_bias(i64 n, i64 o, i64 ohw, const T *bias, T *y) {
  GG_FOR(e, n * o * ohw) { y[e] += bias[(e / ohw) % o]; }
}

// db[o] = sum_{n, q} dy[n, o, q]   (one block of GG_RED_THREADS threads per channel)
template <typename T> __device__ void bwd_bias(i64 n, i64 o, i64 ohw, const T *dy, T *db) {
  const i64 len = n * ohw;
  for (i64 ch = blockIdx.x; ch < o; ch += gridDim.x) {
    T s = T(0);
    for (i64 t = threadIdx.x; t < len; t += GG_RED_THREADS) {
      const i64 nn = t / ohw, q = t % ohw;
      s += dy[(nn * o + ch) * ohw + q];
    }
    s = gg_block_sum<T>(s);
    if (threadIdx.x == 0) db[ch] = s;
  }
}

// out[.., a, b] = w[.., kH-1-a, kW-1-b]
template <typename T> __device__ void flip(i64 total, i64 kh, i64 kw, const T *w, T *out) {
  GG_FOR(e, total) {
    const i64 b = e % kw, a = (e / kw) % kh, base = e - a * kw - b;
    out[e] = w[base + (kh - 1 - a) * kw + (kw - 1 - b)];
  }
}

#define CONV2D_KERNELS(T, t)                                                                      \
  extern "C" __global__ void conv2d_fwd_im2col_##t(const Conv2dGeom g, i64 group, i64 n0, i64 nb,      \
                                               const T *x, T *cols, i64 col_row_stride,           \
                                               i64 col_sample_stride) {                           \
    im2col<T>(g, group, n0, nb, x, cols, col_row_stride, col_sample_stride);                      \
  }                                                                                               \
  extern "C" __global__ void conv2d_bwd_col2im_##t(const Conv2dGeom g, i64 group, i64 n0, i64 nb,      \
                                               const T *cols, T *dx, i64 col_row_stride,          \
                                               i64 col_sample_stride) {                           \
    col2im<T>(g, group, n0, nb, cols, dx, col_row_stride, col_sample_stride);                     \
  }                                                                                               \
  extern "C" __global__ void conv2d_fwd_bias_##t(i64 n, i64 o, i64 ohw, const T *bias, T *y) {   \
    fwd_bias<T>(n, o, ohw, bias, y);                                                              \
  }                                                                                               \
  extern "C" __global__ void conv2d_bwd_bias_##t(i64 n, i64 o, i64 ohw, const T *dy, T *db) {    \
    bwd_bias<T>(n, o, ohw, dy, db);                                                               \
  }                                                                                               \
  extern "C" __global__ void conv2d_fwd_flip_##t(i64 total, i64 kh, i64 kw, const T *w, T *out) {    \
    flip<T>(total, kh, kw, w, out);                                                               \
  }

GG_F32_F64(CONV2D_KERNELS)
