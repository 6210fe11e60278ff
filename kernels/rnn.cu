#include "common.cuh"
// Elman RNN with tanh (nn.RNN(nonlinearity="tanh")): the fused pointwise step, forward and backward.
//
// Formulas (src/ops/rnn/mod.rs), one layer, batch in rows (x_t is N x I, h_t is N x H):
//   a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh,        h_t = tanh(a_t)
//   backward, t = T..1, with hbar_t = dy_t + (what step t+1 sent back; h_n's gradient at t = T):
//   abar_t = hbar_t * (1 - h_t^2),    hbar_{t-1} = abar_t W_hh   (W_hh is (H, H))
//   dW_ih = sum_t abar_t^T x_t,  dW_hh = sum_t abar_t^T h_{t-1},  db_ih = db_hh = sum_{t,n} abar_t,
//   dx_t = abar_t W_ih,  dh0 = abar_1 W_hh.
//
// How the host composes a layer (the GEMMs are the matmul kernel's, each in a fixed order):
//   forward:  P = X W_ih^T + (b_ih + b_hh)   for all steps at once ((N*T) x H; rows = sequence
//             elements), then for s = 0..T-1:  P_s += h_{s-1} W_hh^T  (beta = 1 into step s of P;
//             h_{-1} = h0), then rnn_tanh_fwd(s) writes y_s = h_s.
//   backward: dh = gradient of h_n (N x H); for s = T-1..0: rnn_tanh_bwd(s) (dA_s from dh + dy_s;
//             dh set to 0), then dW_hh += dA_s^T h_{s-1} (beta = 1, steps in this order) and
//             dh += dA_s W_hh (beta = 1). After the loop dh is dh0; then dW_ih = dA^T X,
//             db_ih = db_hh = column sums of dA over its N*T rows, dX = dA W_ih.
//
// Layout of a sequence buffer of width W (P and dA: W = H here; y, dy: W = H): element
// (batch b, step s, column c) is at  (b*T + s)*W + c  when time_major = 0 (batch first, the CPU
// layout: (N, T, W)), and at  (s*N + b)*W + c  when time_major = 1 ((T, N, W): each step is a
// contiguous N x W matrix). States h0, dh are (N, H) contiguous.
//
// Kernels (one thread per (b, j) of the step: N*H threads, grid-stride, e.g. block 256,
// grid ceil(N*H/256)):
//   rnn_tanh_fwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major, const T* p, T* y)
//       y[b, s, j] = tanh(p[b, s, j])
//   rnn_tanh_bwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major, const T* y, const T* dy,
//                    T* dh, T* da)
//       g = dh[b, j] + dy[b, s, j];  da[b, s, j] = g * (1 - y[b, s, j]^2);  dh[b, j] = 0

// Offset of (b, s, c) in a sequence buffer of width wd (see the header).
__device__ __forceinline__ i64 seq_at(i64 b, i64 s, i64 c, i64 wd, i64 n, i64 t, int time_major) {
  return (time_major ? s * n + b : b * t + s) * wd + c;
}

template <typename T> __device__ void fwd(i64 n, i64 t, i64 h, i64 s, int tm, const T *p, T *y) {
  GG_FOR(e, n * h) {
    const i64 at = seq_at(e / h, s, e % h, h, n, t, tm);
    y[at] = gg_tanh<T>(p[at]);
  }
}

template <typename T>
__device__ void bwd(i64 n, i64 t, i64 h, i64 s, int tm, const T *y, const T *dy, T *dh, T *da) {
  GG_FOR(e, n * h) {
    const i64 at = seq_at(e / h, s, e % h, h, n, t, tm);
    const T g = dh[e] + dy[at];
    const T hs = y[at];
    da[at] = g * (T(1) - hs * hs);
    dh[e] = T(0);
  }
}

#define RNN_KERNELS(T, t_)                                                                        \
  extern "C" __global__ void rnn_tanh_fwd_##t_(i64 n, i64 t, i64 h, i64 s, int time_major,       \
                                               const T *p, T *y) {                                \
    fwd<T>(n, t, h, s, time_major, p, y);                                                         \
  }                                                                                               \
  extern "C" __global__ void rnn_tanh_bwd_##t_(i64 n, i64 t, i64 h, i64 s, int time_major,       \
                                               const T *y, const T *dy, T *dh, T *da) {           \
    bwd<T>(n, t, h, s, time_major, y, dy, dh, da);                                                \
  }

GG_F32_F64(RNN_KERNELS)
