#include "common.cuh"
// GRU (nn.GRU): the fused pointwise cell step, forward and backward. Gates in PyTorch's order
// r, z, n: three blocks of H columns.
//
// Formulas (src/ops/gru.rs), one layer, batch in rows, with
//   p_t = x_t W_ih^T + b_ih  and  q_t = h_{t-1} W_hh^T + b_hh  (N x 3H each, [r z n] blocks):
//   r = sigmoid(p^r + q^r),  z = sigmoid(p^z + q^z),  n = tanh(p^n + r * q^n)
//   h_t = (1 - z) * n + z * h_{t-1}
//   (b_hh is NOT folded into the input projection: the reset gate multiplies b_hn too.)
//   backward, t = T..1, hbar_t = dy_t + (what step t+1 sent back; h_n's gradient at t = T):
//   abar^n = hbar_t (1 - z)(1 - n^2),  abar^z = hbar_t (h_{t-1} - n) z(1 - z),
//   abar^r = abar^n q^n r(1 - r)
//   pbar_t = [abar^r abar^z abar^n],   qbar_t = [abar^r abar^z abar^n * r],
//   hbar_{t-1} = hbar_t * z + qbar_t W_hh
//   dW_ih = sum_t pbar_t^T x_t, dW_hh = sum_t qbar_t^T h_{t-1}, db_ih = sum pbar, db_hh = sum qbar.
//
// How the host composes a layer (GEMMs by the matmul kernel):
//   forward:  P = X W_ih^T + b_ih for all steps ((N*T) x 3H); for s = 0..T-1: Q = h_{s-1} W_hh^T
//             + b_hh into an (N, 3H) scratch (rows preset to b_hh, beta = 1; h_{-1} = h0), then
//             gru_fwd(s), which replaces step s of P by the activations r, z, n and saves
//             q^n_s = Q[:, 2H:3H] (needed by backward) and writes y_s = h_s.
//   backward: dh = gradient of h_n; for s = T-1..0: gru_bwd(s) (writes dP_s and dQ_s; leaves
//             dh = hbar_s * z, the direct part of hbar_{s-1}), then dW_hh += dQ_s^T h_{s-1} and
//             dh += dQ_s W_hh (both beta = 1). After the loop dh = dh0; then dW_ih = dP^T X,
//             db_ih = column sums of dP, db_hh = column sums of dQ, dX = dP W_ih.
//
// Buffers (sequence layout as in rnn.cu: (b, s, c) at (b*T + s)*W + c, or (s*N + b)*W + c when
// time_major = 1):
//   p, acts, dp, dq: width 3H;  qn, y, dy: width H;  q: (N, 3H) contiguous (this step only);
//   h0, dh: (N, H) contiguous (this layer's).
//
// Kernels (one thread per (b, j): N*H threads, grid-stride, e.g. block 256, grid ceil(N*H/256)):
//   gru_fwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major, T* p, const T* q, const T* h0,
//               T* qn, T* y)
//       p: input pre-activations of step s in, activations r, z, n out.
//   gru_bwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major, const T* acts, const T* qn,
//               const T* y, const T* h0, const T* dy, T* dh, T* dp, T* dq)

__device__ __forceinline__ i64 seq_at(i64 b, i64 s, i64 col, i64 wd, i64 n, i64 t, int time_major) {
  return (time_major ? s * n + b : b * t + s) * wd + col;
}

template <typename T>
__device__ void fwd(i64 n, i64 t, i64 h, i64 s, int tm, T *p, const T *q, const T *h0, T *qn, T *y) {
  const T one = T(1);
  GG_FOR(e, n * h) {
    const i64 b = e / h, j = e % h;
    T *a = p + seq_at(b, s, 0, 3 * h, n, t, tm);
    const T *qb = q + b * 3 * h;
    const T r_s = gg_sigmoid<T>(a[j] + qb[j]);
    const T z_s = gg_sigmoid<T>(a[h + j] + qb[h + j]);
    const T n_s = gg_tanh<T>(a[2 * h + j] + r_s * qb[2 * h + j]);
    const T h_prev = s == 0 ? h0[e] : y[seq_at(b, s - 1, j, h, n, t, tm)];
    y[seq_at(b, s, j, h, n, t, tm)] = (one - z_s) * n_s + z_s * h_prev;
    qn[seq_at(b, s, j, h, n, t, tm)] = qb[2 * h + j];
    a[j] = r_s;
    a[h + j] = z_s;
    a[2 * h + j] = n_s;
  }
}

template <typename T>
__device__ void bwd(i64 n, i64 t, i64 h, i64 s, int tm, const T *acts, const T *qn, const T *y,
                    const T *h0, const T *dy, T *dh, T *dp, T *dq) {
  const T one = T(1);
  GG_FOR(e, n * h) {
    const i64 b = e / h, j = e % h;
    const T *act = acts + seq_at(b, s, 0, 3 * h, n, t, tm);
    T *dpb = dp + seq_at(b, s, 0, 3 * h, n, t, tm);
    T *dqb = dq + seq_at(b, s, 0, 3 * h, n, t, tm);
    const T r_s = act[j], z_s = act[h + j], n_s = act[2 * h + j];
    const T h_prev = s == 0 ? h0[e] : y[seq_at(b, s - 1, j, h, n, t, tm)];
    const T dh_s = dh[e] + dy[seq_at(b, s, j, h, n, t, tm)];
    const T da_n = dh_s * (one - z_s) * (one - n_s * n_s);
    const T da_z = dh_s * (h_prev - n_s) * z_s * (one - z_s);
    const T da_r = da_n * qn[seq_at(b, s, j, h, n, t, tm)] * r_s * (one - r_s);
    dpb[j] = da_r;
    dpb[h + j] = da_z;
    dpb[2 * h + j] = da_n;
    dqb[j] = da_r;
    dqb[h + j] = da_z;
    dqb[2 * h + j] = da_n * r_s;
    dh[e] = dh_s * z_s;
  }
}

#define GRU_KERNELS(T, t_)                                                                        \
  extern "C" __global__ void gru_fwd_##t_(i64 n, i64 t, i64 h, i64 s, int time_major, T *p,       \
                                          const T *q, const T *h0, T *qn, T *y) {                 \
    fwd<T>(n, t, h, s, time_major, p, q, h0, qn, y);                                              \
  }                                                                                               \
  extern "C" __global__ void gru_bwd_##t_(i64 n, i64 t, i64 h, i64 s, int time_major,             \
                                          const T *acts, const T *qn, const T *y, const T *h0,    \
                                          const T *dy, T *dh, T *dp, T *dq) {                     \
    bwd<T>(n, t, h, s, time_major, acts, qn, y, h0, dy, dh, dp, dq);                              \
  }

GG_F32_F64(GRU_KERNELS)
