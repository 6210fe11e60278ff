// Elementwise ops: one thread per output element, inputs read through a strided `Layout` (so a
// transposed view or a broadcast operand needs no copy), output contiguous in row-major order.
//
// Unary   `<op>_fwd_<dt>(const T* x, Layout lx, T* y, i64 n, double p0, double p1)`
//           y_i = f(x_i; p0, p1)
// Binary  `<op>_<fwd|bwd>_<dt>(const T* a, Layout la, const T* b, Layout lb, T* y, i64 n,
//                              double p0, double p1)`
//           y_i = f(a_i, b_i; p0, p1); `la`/`lb` carry the output's shape and the operand's
//           strides (0 along broadcast dimensions). The `_bwd` kernels take (g, x) or (g, y): the
//           incoming gradient and the saved forward input or output, exactly as the CPU closures
//           in src/ops/unary.rs and src/ops/activation.rs.
// Launch: block 256, grid min(ceil(n / 256), 2^20) (`elementwise_cfg`); any grid is correct (grid-stride loop).
#include "common.cuh"

#define GG_SQRT_2_OVER_PI 0.7978845608028654
#define GG_GELU_C 0.044715
#define GG_FRAC_1_SQRT_2 0.7071067811865476
#define GG_INV_SQRT_2PI 0.3989422804014327

template <typename T> __device__ __forceinline__ T gg_erf(T x);
template <> __device__ __forceinline__ float gg_erf<float>(float x) { return erff(x); }
template <> __device__ __forceinline__ double gg_erf<double>(double x) { return erf(x); }
template <typename T> __device__ __forceinline__ T gg_pow(T x, T p);
template <> __device__ __forceinline__ float gg_pow<float>(float x, float p) { return powf(x, p); }
template <> __device__ __forceinline__ double gg_pow<double>(double x, double p) { return pow(x, p); }
template <typename T> __device__ __forceinline__ T gg_expm1(T x);
template <> __device__ __forceinline__ float gg_expm1<float>(float x) { return expm1f(x); }
template <> __device__ __forceinline__ double gg_expm1<double>(double x) { return expm1(x); }
template <typename T> __device__ __forceinline__ T gg_log1p(T x);
template <> __device__ __forceinline__ float gg_log1p<float>(float x) { return log1pf(x); }
template <> __device__ __forceinline__ double gg_log1p<double>(double x) { return log1p(x); }
template <typename T> __device__ __forceinline__ T gg_fabs(T x);
template <> __device__ __forceinline__ float gg_fabs<float>(float x) { return fabsf(x); }
template <> __device__ __forceinline__ double gg_fabs<double>(double x) { return fabs(x); }

// ---- unary forward formulas: f(x; p0, p1) ----
struct Neg { template <typename T> __device__ T operator()(T x, double, double) const { return -x; } };
// fabs: |-0| = +0, as the CPU op (Rust's abs) and PyTorch give (x < 0 ? -x : x kept -0)
struct Abs { template <typename T> __device__ T operator()(T x, double, double) const { return gg_fabs<T>(x); } };
struct Exp { template <typename T> __device__ T operator()(T x, double, double) const { return gg_exp<T>(x); } };
struct Log { template <typename T> __device__ T operator()(T x, double, double) const { return gg_log<T>(x); } };
struct Tanh { template <typename T> __device__ T operator()(T x, double, double) const { return gg_tanh<T>(x); } };
struct Sigmoid { template <typename T> __device__ T operator()(T x, double, double) const { return gg_sigmoid<T>(x); } };
// NaN stays NaN (x != x), as the CPU op and PyTorch give; -0 becomes +0.
struct Relu { template <typename T> __device__ T operator()(T x, double, double) const { return (x > T(0) || x != x) ? x : T(0); } };
struct Sqrt { template <typename T> __device__ T operator()(T x, double, double) const { return gg_sqrt<T>(x); } };
// x^p0
struct Pow { template <typename T> __device__ T operator()(T x, double p, double) const { return gg_pow<T>(x, T(p)); } };
// min(max(x, lo = p0), hi = p1)
struct Clamp {
  template <typename T> __device__ T operator()(T x, double lo, double hi) const {
    if (x < T(lo)) return T(lo);
    if (x > T(hi)) return T(hi);
    return x;
  }
};
struct AddScalar { template <typename T> __device__ T operator()(T x, double c, double) const { return x + T(c); } };
struct MulScalar { template <typename T> __device__ T operator()(T x, double c, double) const { return x * T(c); } };
// x > 0 ? x : a x, a = p0
struct LeakyRelu { template <typename T> __device__ T operator()(T x, double a, double) const { return x > T(0) ? x : x * T(a); } };
// x > 0 ? x : alpha (e^x - 1), alpha = p0
struct Elu { template <typename T> __device__ T operator()(T x, double alpha, double) const { return x > T(0) ? x : T(alpha) * gg_expm1<T>(x); } };
// (1/beta) ln(1 + e^{beta x}), x where beta x > threshold; beta = p0, threshold = p1
struct Softplus {
  template <typename T> __device__ T operator()(T x, double beta, double threshold) const {
    T z = x * T(beta);
    if (z > T(threshold)) return x;
    T az = z < T(0) ? -z : z;
    return ((z > T(0) ? z : T(0)) + gg_log1p<T>(gg_exp<T>(-az))) / T(beta);
  }
};
struct Silu { template <typename T> __device__ T operator()(T x, double, double) const { return x * gg_sigmoid<T>(x); } };
// p0 = 1: tanh approximation, p0 = 0: exact (erf)
struct Gelu {
  template <typename T> __device__ T operator()(T x, double tanh_approx, double) const {
    if (tanh_approx != 0.0) {
      T u = T(GG_SQRT_2_OVER_PI) * (x + T(GG_GELU_C) * x * x * x);
      return T(0.5) * x * (T(1) + gg_tanh<T>(u));
    }
    return T(0.5) * x * (T(1) + gg_erf<T>(x * T(GG_FRAC_1_SQRT_2)));
  }
};

// ---- binary formulas: f(a, b; p0, p1) ----
struct Add { template <typename T> __device__ T operator()(T a, T b, double, double) const { return a + b; } };
struct Sub { template <typename T> __device__ T operator()(T a, T b, double, double) const { return a - b; } };
struct Mul { template <typename T> __device__ T operator()(T a, T b, double, double) const { return a * b; } };
struct Div { template <typename T> __device__ T operator()(T a, T b, double, double) const { return a / b; } };
// backward rules: a = g (incoming gradient), b = the saved x or y
struct AbsBwd { template <typename T> __device__ T operator()(T g, T x, double, double) const { return x > T(0) ? g : (x < T(0) ? -g : T(0)); } };
struct TanhBwd { template <typename T> __device__ T operator()(T g, T y, double, double) const { return g * (T(1) - y * y); } };
struct SigmoidBwd { template <typename T> __device__ T operator()(T g, T y, double, double) const { return g * y * (T(1) - y); } };
struct ReluBwd { template <typename T> __device__ T operator()(T g, T x, double, double) const { return x > T(0) ? g : T(0); } };
struct SqrtBwd { template <typename T> __device__ T operator()(T g, T y, double, double) const { return g / (T(2) * y); } };
struct PowBwd { template <typename T> __device__ T operator()(T g, T x, double p, double) const { return g * T(p) * gg_pow<T>(x, T(p - 1.0)); } };
// Strictly inside the bounds (zero at a bound, as PyTorch); an infinite bound (an absent one) never cuts.
struct ClampBwd {
  template <typename T> __device__ T operator()(T g, T x, double lo, double hi) const {
    bool above = lo < -1.7976931348623157e308 || x > T(lo);
    bool below = hi > 1.7976931348623157e308 || x < T(hi);
    return (above && below) ? g : T(0);
  }
};
struct LeakyReluBwd { template <typename T> __device__ T operator()(T g, T x, double a, double) const { return x > T(0) ? g : g * T(a); } };
struct EluBwd { template <typename T> __device__ T operator()(T g, T x, double alpha, double) const { return x > T(0) ? g : g * T(alpha) * gg_exp<T>(x); } };
struct SoftplusBwd {
  template <typename T> __device__ T operator()(T g, T x, double beta, double threshold) const {
    T z = x * T(beta);
    return z > T(threshold) ? g : g * gg_sigmoid<T>(z);
  }
};
struct SiluBwd {
  template <typename T> __device__ T operator()(T g, T x, double, double) const {
    T s = gg_sigmoid<T>(x);
    return g * s * (T(1) + x * (T(1) - s));
  }
};
struct GeluBwd {
  template <typename T> __device__ T operator()(T g, T x, double tanh_approx, double) const {
    if (tanh_approx != 0.0) {
      T k = T(GG_SQRT_2_OVER_PI), c = T(GG_GELU_C);
      T t = gg_tanh<T>(k * (x + c * x * x * x));
      return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * k * (T(1) + T(3) * c * x * x));
    }
    T cdf = T(0.5) * (T(1) + gg_erf<T>(x * T(GG_FRAC_1_SQRT_2)));
    T pdf = T(GG_INV_SQRT_2PI) * gg_exp<T>(T(-0.5) * x * x);
    return g * (cdf + x * pdf);
  }
};

template <typename T, typename F>
__device__ void unary_map(const T *x, Layout lx, T *y, i64 n, double p0, double p1) {
  F f;
  GG_FOR(i, n) { y[i] = f(x[gg_offset(lx, i)], p0, p1); }
}

template <typename T, typename F>
__device__ void binary_map(const T *a, Layout la, const T *b, Layout lb, T *y, i64 n, double p0, double p1) {
  F f;
  GG_FOR(i, n) { y[i] = f(a[gg_offset(la, i)], b[gg_offset(lb, i)], p0, p1); }
}

#define GG_UNARY(name, F)                                                                     \
  extern "C" __global__ void name##_f32(const float *x, Layout lx, float *y, i64 n, double p0, double p1) { \
    unary_map<float, F>(x, lx, y, n, p0, p1);                                                \
  }                                                                                           \
  extern "C" __global__ void name##_f64(const double *x, Layout lx, double *y, i64 n, double p0, double p1) { \
    unary_map<double, F>(x, lx, y, n, p0, p1);                                               \
  }

#define GG_BINARY(name, F)                                                                    \
  extern "C" __global__ void name##_f32(const float *a, Layout la, const float *b, Layout lb, float *y, \
                                        i64 n, double p0, double p1) {                        \
    binary_map<float, F>(a, la, b, lb, y, n, p0, p1);                                        \
  }                                                                                           \
  extern "C" __global__ void name##_f64(const double *a, Layout la, const double *b, Layout lb, double *y, \
                                        i64 n, double p0, double p1) {                        \
    binary_map<double, F>(a, la, b, lb, y, n, p0, p1);                                       \
  }

GG_UNARY(neg_fwd, Neg)
GG_UNARY(abs_fwd, Abs)
GG_UNARY(exp_fwd, Exp)
GG_UNARY(log_fwd, Log)
GG_UNARY(tanh_fwd, Tanh)
GG_UNARY(sigmoid_fwd, Sigmoid)
GG_UNARY(relu_fwd, Relu)
GG_UNARY(sqrt_fwd, Sqrt)
GG_UNARY(pow_fwd, Pow)
GG_UNARY(clamp_fwd, Clamp)
GG_UNARY(add_scalar_fwd, AddScalar)
GG_UNARY(mul_scalar_fwd, MulScalar)
GG_UNARY(leaky_relu_fwd, LeakyRelu)
GG_UNARY(elu_fwd, Elu)
GG_UNARY(softplus_fwd, Softplus)
GG_UNARY(silu_fwd, Silu)
GG_UNARY(gelu_fwd, Gelu)

GG_BINARY(add_fwd, Add)
GG_BINARY(sub_fwd, Sub)
GG_BINARY(mul_fwd, Mul)
GG_BINARY(div_fwd, Div)
GG_BINARY(abs_bwd, AbsBwd)
GG_BINARY(tanh_bwd, TanhBwd)
GG_BINARY(sigmoid_bwd, SigmoidBwd)
GG_BINARY(relu_bwd, ReluBwd)
GG_BINARY(sqrt_bwd, SqrtBwd)
GG_BINARY(pow_bwd, PowBwd)
GG_BINARY(clamp_bwd, ClampBwd)
GG_BINARY(leaky_relu_bwd, LeakyReluBwd)
GG_BINARY(elu_bwd, EluBwd)
GG_BINARY(softplus_bwd, SoftplusBwd)
GG_BINARY(silu_bwd, SiluBwd)
GG_BINARY(gelu_bwd, GeluBwd)
GG_BINARY(div_bwd, Div)
