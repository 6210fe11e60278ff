#include "common.cuh"
// Optimizer updates: SGD (momentum, dampening, nesterov, weight decay, maximize) and
// Adam / AdamW (AMSGrad, maximize), torch.optim's formulas as in src/optim/{sgd,adam,adamw}.rs.
// One thread per parameter element (grid-stride, e.g. block 256, grid ceil(n/256)); every
// buffer is the parameter's size, contiguous, same dtype T. Updates are in place.
//
// Scalars: the host computes them in f64 exactly as the CPU code does and passes them rounded to
// T (PyTorch's kernels take their scalars that way; the CPU's `T::scalar`). Flags are 32-bit ints
// (0 or 1).
//
// sgd_step_<t>(i64 n, T* w, const T* g, T* buf, T neg_lr, T weight_decay, T momentum,
//              T one_minus_dampening, int maximize, int decay, int use_momentum, int first,
//              int nesterov)
//     neg_lr = -lr; one_minus_dampening = 1 - dampening (in f64, then rounded);
//     decay = (weight_decay != 0); use_momentum = (momentum != 0); first = 1 on the first step
//     with momentum (the momentum buffer does not exist yet: buf is written, not read);
//     buf may be null when use_momentum = 0.
//       d = (maximize ? -g : g) + [decay] weight_decay * w
//       without momentum:  w += neg_lr * d
//       with momentum:     buf = first ? d : buf * momentum + one_minus_dampening * d
//                          d = nesterov ? d + momentum * buf : buf;   w += neg_lr * d
//
// adam_step_<t>(i64 n, T* w, const T* g, T* m, T* v, T* vmax, T neg_step_size, T bc2_sqrt,
//               T one_minus_beta1, T beta2, T one_minus_beta2, T eps, T weight_decay, T keep,
//               int maximize, int decay, int amsgrad, int decoupled)
//     With t the step count after incrementing (1 on the first step), in f64:
//       neg_step_size = -lr / (1 - beta1^t),  bc2_sqrt = sqrt(1 - beta2^t).
//     Adam:  decoupled = 0, weight_decay = the L2 penalty, decay = (weight_decay != 0).
//     AdamW: decoupled = 1, keep = 1 - lr * weight_decay (f64, rounded to T), decay = 0
//            (AdamW is "w *= keep, then Adam with no weight decay": src/optim/adamw.rs).
//     vmax may be null unless amsgrad = 1. m, v, vmax start at 0 (the host zeroes them).
//       w  = [decoupled] w * keep
//       d  = (maximize ? -g : g) + [decay] weight_decay * w
//       m  = lerp(m, d, one_minus_beta1)   (a + s(b - a) for s < 0.5, else b - (b - a)(1 - s))
//       v  = v * beta2 + one_minus_beta2 * d * d
//       vmax = max(vmax, v) (NaN propagates, as torch.maximum)          [amsgrad]
//       w += neg_step_size * m / (sqrt(amsgrad ? vmax : v) / bc2_sqrt + eps)
//
// Row-sparse updates (src/optim/sparse.rs), one thread per (row k < nrows, column c < d); `rows`
// holds nrows distinct ids inside 0..V (checked on the host), so no two threads write one element;
// w is the (V, D) table, g the compact (nrows, D) gradient:
// sparse_sgd_rows_<t>(i64 nrows, i64 d, T* w, const i64* rows, const T* g, T neg_lr, int maximize)
//       w[rows[k], c] += neg_lr * (maximize ? -g[k, c] : g[k, c])
// sparse_adam_rows_<t>(i64 nrows, i64 d, T* w, T* m, T* v, const i64* rows, const T* g,
//                      T neg_step, T one_minus_beta1, T one_minus_beta2, T eps, int maximize)
//     SparseAdam ("lazy" Adam: only the rows in the gradient move); m, v are (V, D), zero at first;
//     neg_step = -lr sqrt(1 - beta2^t) / (1 - beta1^t) in f64, rounded. With e = (rows[k], c):
//       gt = maximize ? -g[k, c] : g[k, c]
//       m[e] += (gt - m[e]) * one_minus_beta1;   v[e] += (gt * gt - v[e]) * one_minus_beta2
//       w[e] += neg_step * (m[e] / (sqrt(v[e]) + eps))
//
// Rounding: with NVRTC's default --fmad=true the compiler may fuse a*b + c into one FMA, so
// results can differ from the CPU in the last bit; compiled with --fmad=false these kernels do
// the CPU's operations in the CPU's order (IEEE division and sqrt are NVRTC's defaults).

template <typename T>
__device__ void sgd(i64 n, T *w, const T *g, T *buf, T neg_lr, T weight_decay, T momentum,
                    T one_minus_dampening, int maximize, int decay, int use_momentum, int first,
                    int nesterov) {
  GG_FOR(e, n) {
    const T we = w[e];
    T d = maximize ? -g[e] : g[e];
    if (decay) d = d + weight_decay * we;
    if (use_momentum) {
      const T b = first ? d : buf[e] * momentum + one_minus_dampening * d;
      buf[e] = b;
      d = nesterov ? d + momentum * b : b;
    }
    w[e] = we + neg_lr * d;
  }
}

template <typename T>
__device__ void adam(i64 n, T *w, const T *g, T *m, T *v, T *vmax, T neg_step_size, T bc2_sqrt,
                     T one_minus_beta1, T beta2, T one_minus_beta2, T eps, T weight_decay, T keep,
                     int maximize, int decay, int amsgrad, int decoupled) {
  const T one = T(1), s1 = one_minus_beta1;
  GG_FOR(e, n) {
    T we = w[e];
    if (decoupled) we = we * keep;
    T d = maximize ? -g[e] : g[e];
    if (decay) d = d + weight_decay * we;
    const T me = m[e];
    const T m_new = s1 < T(0.5) ? me + s1 * (d - me) : d - (d - me) * (one - s1);
    const T v_new = v[e] * beta2 + one_minus_beta2 * d * d;
    m[e] = m_new;
    v[e] = v_new;
    T v_hat = v_new;
    if (amsgrad) {
      const T vm = vmax[e];
      v_hat = (vm != vm || v_new > vm || v_new != v_new) ? v_new : vm;
      vmax[e] = v_hat;
    }
    const T denom = gg_sqrt<T>(v_hat) / bc2_sqrt + eps;
    w[e] = we + neg_step_size * m_new / denom;
  }
}

template <typename T>
__device__ void sparse_sgd_rows(i64 nrows, i64 d, T *w, const i64 *rows, const T *g, T neg_lr,
                                int maximize) {
  GG_FOR(e, nrows * d) {
    const i64 k = e / d, c = e % d;
    const T gk = maximize ? -g[e] : g[e];
    const i64 at = rows[k] * d + c;
    w[at] = w[at] + neg_lr * gk;
  }
}

template <typename T>
__device__ void sparse_adam_rows(i64 nrows, i64 d, T *w, T *m, T *v, const i64 *rows, const T *g,
                                 T neg_step, T one_minus_beta1, T one_minus_beta2, T eps,
                                 int maximize) {
  GG_FOR(e, nrows * d) {
    const i64 k = e / d, c = e % d;
    const T gk = maximize ? -g[e] : g[e];
    const i64 at = rows[k] * d + c;
    const T u = (gk - m[at]) * one_minus_beta1;
    const T s = (gk * gk - v[at]) * one_minus_beta2;
    const T m_new = m[at] + u, v_new = v[at] + s;
    m[at] = m_new;
    v[at] = v_new;
    w[at] = w[at] + neg_step * (m_new / (gg_sqrt<T>(v_new) + eps));
  }
}

#define OPTIM_KERNELS(T, t_)                                                                      \
  extern "C" __global__ void sgd_step_##t_(i64 n, T *w, const T *g, T *buf, T neg_lr,             \
                                           T weight_decay, T momentum, T one_minus_dampening,     \
                                           int maximize, int decay, int use_momentum, int first,  \
                                           int nesterov) {                                        \
    sgd<T>(n, w, g, buf, neg_lr, weight_decay, momentum, one_minus_dampening, maximize, decay,    \
           use_momentum, first, nesterov);                                                        \
  }                                                                                               \
  extern "C" __global__ void adam_step_##t_(i64 n, T *w, const T *g, T *m, T *v, T *vmax,         \
                                            T neg_step_size, T bc2_sqrt, T one_minus_beta1,       \
                                            T beta2, T one_minus_beta2, T eps, T weight_decay,    \
                                            T keep, int maximize, int decay, int amsgrad,         \
                                            int decoupled) {                                      \
    adam<T>(n, w, g, m, v, vmax, neg_step_size, bc2_sqrt, one_minus_beta1, beta2,                 \
            one_minus_beta2, eps, weight_decay, keep, maximize, decay, amsgrad, decoupled);       \
  }                                                                                               \
  extern "C" __global__ void sparse_sgd_rows_##t_(i64 nrows, i64 d, T *w, const i64 *rows,        \
                                                  const T *g, T neg_lr, int maximize) {           \
    sparse_sgd_rows<T>(nrows, d, w, rows, g, neg_lr, maximize);                                   \
  }                                                                                               \
  extern "C" __global__ void sparse_adam_rows_##t_(i64 nrows, i64 d, T *w, T *m, T *v,            \
                                                   const i64 *rows, const T *g, T neg_step,       \
                                                   T one_minus_beta1, T one_minus_beta2, T eps,   \
                                                   int maximize) {                                \
    sparse_adam_rows<T>(nrows, d, w, m, v, rows, g, neg_step, one_minus_beta1, one_minus_beta2,   \
                        eps, maximize);                                                           \
  }

GG_F32_F64(OPTIM_KERNELS)
