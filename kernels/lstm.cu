#include "common.cuh"
// LSTM (nn.LSTM): the fused pointwise cell step, forward and backward. Gates in PyTorch's order
// i, f, g, o: four blocks of H columns in the pre-activations (and of H rows in W_ih, W_hh).
//
// Formulas (src/ops/lstm.rs), one layer, batch in rows:
//   a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh = [a^i a^f a^g a^o]   (N x 4H)
//   i = sigmoid(a^i), f = sigmoid(a^f), g = tanh(a^g), o = sigmoid(a^o)
//   c_t = f * c_{t-1} + i * g,        h_t = o * tanh(c_t)
//   backward, t = T..1, hbar_t = dy_t + (abar_{t+1} W_hh; h_n's gradient at t = T),
//   cbar carried along the cell (c_n's gradient at t = T):
//   cbar_t += hbar_t * o * (1 - tanh^2 c_t)
//   abar^i = cbar_t * g * i(1 - i),   abar^f = cbar_t * c_{t-1} * f(1 - f),
//   abar^g = cbar_t * i * (1 - g^2),  abar^o = hbar_t * tanh(c_t) * o(1 - o)
//   cbar_{t-1} = cbar_t * f,          hbar_{t-1} = abar_t W_hh
//   (sigmoid is common.cuh's gg_sigmoid: the same function as the CPU's 1/(1+e^-v), computed
//   without overflow; tanh(c_t) is recomputed in backward, as on the CPU.)
//
// How the host composes a layer (GEMMs by the matmul kernel):
//   forward:  P = X W_ih^T + (b_ih + b_hh) for all steps ((N*T) x 4H), then for s = 0..T-1:
//             P_s += h_{s-1} W_hh^T (beta = 1; h_{-1} = h0), then lstm_fwd(s), which replaces the
//             pre-activations of step s in P by the activations i, f, g, o (saved for backward)
//             and writes c_s and y_s = h_s.
//   backward: dh = gradient of h_n, dc = gradient of c_n; for s = T-1..0: lstm_bwd(s) (writes
//             dA_s, sets dc to cbar_{s-1} and dh to 0), then dW_hh += dA_s^T h_{s-1} and
//             dh += dA_s W_hh (both beta = 1). After the loop dh = dh0 and dc = dc0; then
//             dW_ih = dA^T X, db_ih = db_hh = column sums of dA, dX = dA W_ih.
//
// Buffers (sequence layout as in rnn.cu: (b, s, c) at (b*T + s)*W + c, or (s*N + b)*W + c when
// time_major = 1):
//   p, acts, da: width 4H (gate k of column j at k*H + j);  c, y, dy: width H;
//   c0, dh, dc: (N, H) contiguous (this layer's).
//
// Kernels (one thread per (b, j): N*H threads, grid-stride, e.g. block 256, grid ceil(N*H/256)):
//   lstm_fwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major, T* p, const T* c0, T* c, T* y)
//       p: pre-activations of step s in, activations i, f, g, o out.
//   lstm_bwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major, const T* acts, const T* c,
//                const T* c0, const T* dy, T* dh, T* dc, T* da)

__device__ __forceinline__ i64 seq_at(i64 b, i64 s, i64 col, i64 wd, i64 n, i64 t, int time_major) {
  return (time_major ? s * n + b : b * t + s) * wd + col;
}

template <typename T>
__device__ void fwd(i64 n, i64 t, i64 h, i64 s, int tm, T *p, const T *c0, T *c, T *y) {
  GG_FOR(e, n * h) {
    const i64 b = e / h, j = e % h;
    T *a = p + seq_at(b, s, 0, 4 * h, n, t, tm);
    const T i_s = gg_sigmoid<T>(a[j]);
    const T f_s = gg_sigmoid<T>(a[h + j]);
    const T g_s = gg_tanh<T>(a[2 * h + j]);
    const T o_s = gg_sigmoid<T>(a[3 * h + j]);
    const T c_prev = s == 0 ? c0[e] : c[seq_at(b, s - 1, j, h, n, t, tm)];
    const T c_s = f_s * c_prev + i_s * g_s;
    c[seq_at(b, s, j, h, n, t, tm)] = c_s;
    y[seq_at(b, s, j, h, n, t, tm)] = o_s * gg_tanh<T>(c_s);
    a[j] = i_s;
    a[h + j] = f_s;
    a[2 * h + j] = g_s;
    a[3 * h + j] = o_s;
  }
}

template <typename T>
__device__ void bwd(i64 n, i64 t, i64 h, i64 s, int tm, const T *acts, const T *c, const T *c0,
                    const T *dy, T *dh, T *dc, T *da) {
  const T one = T(1);
  GG_FOR(e, n * h) {
    const i64 b = e / h, j = e % h;
    const T *act = acts + seq_at(b, s, 0, 4 * h, n, t, tm);
    T *dab = da + seq_at(b, s, 0, 4 * h, n, t, tm);
    const T i_s = act[j], f_s = act[h + j], g_s = act[2 * h + j], o_s = act[3 * h + j];
    const T c_prev = s == 0 ? c0[e] : c[seq_at(b, s - 1, j, h, n, t, tm)];
    const T tc = gg_tanh<T>(c[seq_at(b, s, j, h, n, t, tm)]);
    const T dh_s = dh[e] + dy[seq_at(b, s, j, h, n, t, tm)];
    const T dc_s = dc[e] + dh_s * o_s * (one - tc * tc);
    dab[j] = dc_s * g_s * i_s * (one - i_s);
    dab[h + j] = dc_s * c_prev * f_s * (one - f_s);
    dab[2 * h + j] = dc_s * i_s * (one - g_s * g_s);
    dab[3 * h + j] = dh_s * tc * o_s * (one - o_s);
    dc[e] = dc_s * f_s;
    dh[e] = T(0);
  }
}

#define LSTM_KERNELS(T, t_)                                                                       \
  extern "C" __global__ void lstm_fwd_##t_(i64 n, i64 t, i64 h, i64 s, int time_major, T *p,      \
                                           const T *c0, T *c, T *y) {                             \
    fwd<T>(n, t, h, s, time_major, p, c0, c, y);                                                  \
  }                                                                                               \
  extern "C" __global__ void lstm_bwd_##t_(i64 n, i64 t, i64 h, i64 s, int time_major,            \
                                           const T *acts, const T *c, const T *c0, const T *dy,   \
                                           T *dh, T *dc, T *da) {                                 \
    bwd<T>(n, t, h, s, time_major, acts, c, c0, dy, dh, dc, da);                                  \
  }

GG_F32_F64(LSTM_KERNELS)
