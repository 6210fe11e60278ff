// Emulated run of kernels/elementwise.cu, launched as src/device/cuda/elementwise.rs launches it
// (block 256, grid ceil(n / 256), every operand read through its `Layout`). Each unary forward on
// a transposed, narrowed view (strides (1, 50), offset 3; 215 elements, a partial block) vs a
// long-double reference of the CPU op's definition (src/ops/unary.rs, activation.rs, binary.rs),
// NaN, ±inf, ±0, ±1000 and 1e-30 planted among the inputs (relu of NaN is NaN on both, as in
// PyTorch); each backward kernel (g broadcast with stride 0; the saved x strided,
// or the saved y) vs central differences of that reference, and at kinks, bounds and non-finite
// saved values vs hand-written derivatives; add/sub/mul/div (and div_bwd) broadcasting on both
// sides and with a 0-d operand, IEEE specials (x/0, 0/0, inf - inf, NaN, ±0); signed zeros of abs,
// relu and neg; f32 and f64; bitwise equality between the host's grid (2 blocks for 301 elements)
// and a single block (grid-stride loop). n = 0 is never launched (`with_output` skips it).
#include "cuda_shim.h"
#include "check.h"
#include "../elementwise.cu"
#include "layout.h"
#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

typedef long double ld;
template <typename T> using UK = void (*)(const T *, Layout, T *, i64, double, double);
template <typename T> using BK = void (*)(const T *, Layout, const T *, Layout, T *, i64, double, double);

// The host's elementwise_cfg: ceil(n / 256) blocks of 256 (at least one, at most 2^20).
static unsigned host_grid(i64 n) { return (unsigned)std::clamp<i64>((n + 255) / 256, 1, 1 << 20); }

// The test view: a (5, 50) buffer read transposed as (50, 5) and narrowed to rows 3..46.
static const Dims SHAPE = {43, 5};
static const i64 N = 215, BUF = 250;
template <typename T> static View<T> strided(const std::vector<T> &buf) { return View<T>{buf.data(), SHAPE, {1, 50}, 3}; }
// The buffer position of element i of a view.
template <typename T> static i64 pos(const View<T> &v, i64 i) {
  const Dims ix = unravel(i, v.shape);
  i64 o = v.offset;
  for (size_t d = 0; d < ix.size(); ++d) o += ix[d] * v.strides[d];
  return o;
}

static const double INF = INFINITY, NaN = NAN;
static const ld SQRT_2_OVER_PI = std::sqrt(2 / 3.14159265358979323846264338327950288L);

struct Unary {
  std::string name;
  UK<float> f32;
  UK<double> f64;
  double p0, p1;
  ld (*f)(ld, double, double); // the reference forward
  double lo, hi;               // the domain of the random inputs
  BK<float> b32 = nullptr;     // the backward kernel (g, saved), if the host has one
  BK<double> b64 = nullptr;
  bool bwd_reads_y = false;                    // saved = the forward output y, else the input x
  std::vector<std::pair<double, double>> at{}; // hand-picked (saved value, derivative) pairs
};

#define K(name) name##_f32, name##_f64
// The kernel of the enclosing template's T: KP(gelu_fwd) is gelu_fwd_f32 or gelu_fwd_f64.
template <typename T, typename A, typename B> static auto pick(A a, B b) {
  if constexpr (std::is_same_v<T, float>) return a;
  else return b;
}
#define KP(name) pick<T>(name##_f32, name##_f64)

static ld clamp_ref(ld x, double lo, double hi) { return x < lo ? (ld)lo : (x > hi ? (ld)hi : x); }
static ld softplus_ref(ld x, double b, double t) { return b * x > t ? x : std::log1p(std::exp(b * x)) / b; }
static ld sigma(ld z) { return 1 / (1 + std::exp(-z)); }

static std::vector<Unary> unary_ops() {
  return {
      {"neg", K(neg_fwd), 0, 0, [](ld x, double, double) -> ld { return -x; }, -3, 3},
      {"abs", K(abs_fwd), 0, 0, [](ld x, double, double) -> ld { return std::fabs(x); }, -3, 3, K(abs_bwd), false,
       {{0.0, 0}, {-0.0, 0}, {NaN, 0}, {INF, 1}, {-INF, -1}}},
      {"exp", K(exp_fwd), 0, 0, [](ld x, double, double) -> ld { return std::exp(x); }, -5, 5},
      {"log", K(log_fwd), 0, 0, [](ld x, double, double) -> ld { return std::log(x); }, 0.05, 5},
      {"tanh", K(tanh_fwd), 0, 0, [](ld x, double, double) -> ld { return std::tanh(x); }, -4, 4, K(tanh_bwd), true,
       {{1, 0}, {-1, 0}, {0, 1}, {NaN, NaN}}},
      {"sigmoid", K(sigmoid_fwd), 0, 0, [](ld x, double, double) -> ld { return sigma(x); }, -8, 8, K(sigmoid_bwd),
       true, {{0, 0}, {1, 0}, {0.5, 0.25}, {NaN, NaN}}},
      {"relu", K(relu_fwd), 0, 0, [](ld x, double, double) -> ld { return (x > 0 || x != x) ? x : 0; }, -3, 3, K(relu_bwd), false,
       {{NaN, 0}, {0.0, 0}, {-0.0, 0}, {INF, 1}, {-INF, 0}}},
      {"sqrt", K(sqrt_fwd), 0, 0, [](ld x, double, double) -> ld { return std::sqrt(x); }, 0.05, 5, K(sqrt_bwd), true,
       {{0, INF}, {INF, 0}, {NaN, NaN}}},
      {"pow^3", K(pow_fwd), 3, 0, [](ld x, double p, double) -> ld { return std::pow(x, (ld)p); }, -2, 2, K(pow_bwd),
       false, {{0, 0}, {NaN, NaN}, {-INF, INF}}},
      {"pow^0.5", K(pow_fwd), 0.5, 0, [](ld x, double p, double) -> ld { return std::pow(x, (ld)p); }, 0.05, 4,
       K(pow_bwd), false, {{0, INF}, {INF, 0}}},
      {"pow^-2", K(pow_fwd), -2, 0, [](ld x, double p, double) -> ld { return std::pow(x, (ld)p); }, 0.2, 3, K(pow_bwd),
       false, {{0, -INF}, {INF, 0}}},
      {"clamp[-0.5,0.75]", K(clamp_fwd), -0.5, 0.75, clamp_ref, -2, 2, K(clamp_bwd), false,
       {{-0.5, 0}, {0.75, 0}, {NaN, 0}, {INF, 0}, {-INF, 0}, {0.74, 1}}},
      {"clamp[,0.25]", K(clamp_fwd), -INF, 0.25, clamp_ref, -2, 2, K(clamp_bwd), false,
       {{-INF, 1}, {0.25, 0}, {-1e30, 1}}},
      {"clamp[-0.25,]", K(clamp_fwd), -0.25, INF, clamp_ref, -2, 2, K(clamp_bwd), false,
       {{INF, 1}, {-0.25, 0}, {1e30, 1}}},
      {"add_scalar", K(add_scalar_fwd), 2.5, 0, [](ld x, double c, double) -> ld { return x + c; }, -3, 3},
      {"mul_scalar", K(mul_scalar_fwd), -1.5, 0, [](ld x, double c, double) -> ld { return x * c; }, -3, 3},
      {"leaky_relu(0.01)", K(leaky_relu_fwd), 0.01, 0, [](ld x, double a, double) -> ld { return x > 0 ? x : x * a; },
       -3, 3, K(leaky_relu_bwd), false, {{0, 0.01}, {NaN, 0.01}, {-INF, 0.01}}},
      {"leaky_relu(0.2)", K(leaky_relu_fwd), 0.2, 0, [](ld x, double a, double) -> ld { return x > 0 ? x : x * a; },
       -3, 3, K(leaky_relu_bwd), false, {{0, 0.2}, {NaN, 0.2}, {-INF, 0.2}, {INF, 1}}},
      {"elu(1)", K(elu_fwd), 1, 0, [](ld x, double a, double) -> ld { return x > 0 ? x : a * std::expm1(x); }, -4, 3,
       K(elu_bwd), false, {{-INF, 0}, {0, 1}, {NaN, NaN}, {1000, 1}, {-1000, 0}}},
      {"elu(0.5)", K(elu_fwd), 0.5, 0, [](ld x, double a, double) -> ld { return x > 0 ? x : a * std::expm1(x); }, -4,
       3, K(elu_bwd), false, {{0, 0.5}, {-INF, 0}}},
      // (1/beta) ln(1 + e^{beta x}); x itself where beta x > threshold (the domains cross it)
      {"softplus(1,20)", K(softplus_fwd), 1, 20, softplus_ref, -10, 25, K(softplus_bwd), false,
       {{INF, 1}, {-INF, 0}, {NaN, NaN}, {20, (double)sigma(20)}, {1000, 1}, {-1000, 0}}},
      {"softplus(2,3)", K(softplus_fwd), 2, 3, softplus_ref, -4, 4, K(softplus_bwd), false,
       {{1.5, (double)sigma(3)}, {INF, 1}, {-INF, 0}}},
      {"silu", K(silu_fwd), 0, 0, [](ld x, double, double) -> ld { return x * sigma(x); }, -8, 8, K(silu_bwd), false,
       {{1000, 1}, {-1000, 0}, {NaN, NaN}, {0, 0.5}}},
      {"gelu", K(gelu_fwd), 0, 0, [](ld x, double, double) -> ld { return x / 2 * (1 + std::erf(x / std::sqrt(2.0L))); },
       -5, 5, K(gelu_bwd), false, {{1000, 1}, {-1000, 0}, {NaN, NaN}, {0, 0.5}}},
      {"gelu(tanh)", K(gelu_fwd), 1, 0,
       [](ld x, double, double) -> ld { return x / 2 * (1 + std::tanh(SQRT_2_OVER_PI * (x + 0.044715L * x * x * x))); },
       -5, 5, K(gelu_bwd), false, {{1000, 1}, {-1000, 0}, {NaN, NaN}, {0, 0.5}}},
  };
}

// f'(x) by central differences of the long-double reference.
static ld deriv(const Unary &u, ld x) {
  const ld h = 1e-6L * std::max((ld)1, std::fabs(x));
  return (u.f(x + h, u.p0, u.p1) - u.f(x - h, u.p0, u.p1)) / (2 * h);
}

template <typename T> static void check_unary(const Unary &u, Rng &rng, const std::string &dt, double tol, double dtol) {
  const std::string p = u.name + " " + dt + ": ";
  UK<T> fwd;
  BK<T> bwd;
  if constexpr (std::is_same_v<T, float>) fwd = u.f32, bwd = u.b32;
  else fwd = u.f64, bwd = u.b64;
  std::vector<T> clean(BUF);
  for (auto &v : clean) v = (T)(u.lo + (u.hi - u.lo) * (rng.uniform() + 1) / 2);

  // Forward: specials planted at view elements 20..29.
  std::vector<T> buf = clean;
  const View<T> xv = strided(buf);
  const std::vector<double> sp = {NaN, INF, -INF, 0.0, -0.0, 1000, -1000, 1e-30, -2.5, 0.5};
  for (size_t k = 0; k < sp.size(); ++k) buf[pos(xv, 20 + (i64)k)] = (T)sp[k];
  std::vector<T> y(N, (T)-7), want(N);
  for (i64 i = 0; i < N; ++i) want[i] = (T)u.f((ld)xv.at(unravel(i, SHAPE)), u.p0, u.p1);
  LAUNCH(host_grid(N), 256, fwd(buf.data(), xv.as(SHAPE), y.data(), N, u.p0, u.p1));
  expect_close(p + "forward, transposed narrowed (43, 5) view with NaN, ±inf, ±0, ±1000", y, want, tol);
  if (!bwd) return;

  // Backward: g a (5) vector broadcast over the rows (stride 0), as the gradient of a sum arrives;
  // the saved x (the clean strided view) or y = f(x) (contiguous); the hand-picked saved values
  // at elements 0..k-1 with their derivatives, central differences elsewhere.
  std::vector<T> g = randv<T>(rng, 5, 2.0), xs = clean, ys(N), dx(N, (T)-7), dwant(N);
  const View<T> gv = view(g, {5}), sv = strided(xs);
  for (i64 i = 0; i < N; ++i) {
    const Dims ix = unravel(i, SHAPE);
    const ld x = (ld)sv.at(ix);
    ys[i] = (T)u.f(x, u.p0, u.p1);
    dwant[i] = (T)((ld)gv.at(ix) * deriv(u, x));
  }
  for (size_t k = 0; k < u.at.size(); ++k) {
    const auto [s, d] = u.at[k];
    (u.bwd_reads_y ? ys[k] : xs[pos(sv, (i64)k)]) = (T)s;
    dwant[k] = (T)((ld)gv.at(unravel((i64)k, SHAPE)) * (ld)d);
  }
  if (u.bwd_reads_y) LAUNCH(host_grid(N), 256, bwd(g.data(), gv.as(SHAPE), ys.data(), contiguous_as(SHAPE, SHAPE), dx.data(), N, u.p0, u.p1));
  else LAUNCH(host_grid(N), 256, bwd(g.data(), gv.as(SHAPE), xs.data(), sv.as(SHAPE), dx.data(), N, u.p0, u.p1));
  expect_close(p + "backward (g broadcast, saved " + (u.bwd_reads_y ? "y" : "x strided") +
                   ") vs central differences; at kinks, bounds, NaN, ±inf vs hand values",
               dx, dwant, dtol);
}

struct Binary {
  std::string name;
  BK<float> f32;
  BK<double> f64;
  ld (*f)(ld, ld);
};

template <typename T> static void check_binary(const Binary &b, Rng &rng, const std::string &dt) {
  const std::string p = b.name + " " + dt + ": ";
  BK<T> k;
  if constexpr (std::is_same_v<T, float>) k = b.f32;
  else k = b.f64;
  const double tol = std::numeric_limits<T>::epsilon(); // correctly rounded: within half an ulp
  // Operands of either sign with 0.5 <= |v| <= 2 (div stays moderate); IEEE specials among them.
  auto draw = [&](size_t n) {
    std::vector<T> v(n);
    for (auto &e : v) e = (T)((rng.uniform() < 0 ? -1 : 1) * (0.5 + 0.75 * (rng.uniform() + 1)));
    return v;
  };
  std::vector<T> abuf = draw(BUF), row = draw(5), col = draw(43), s0 = draw(1);
  const View<T> as = strided(abuf), vrow = view(row, {5}), vcol = view(col, {43, 1}), v0 = view(s0, {});
  // Strided a against the row: x/0, 0/0, inf/inf, inf - inf, NaN, ±0 in one column (row[2] = 0).
  row[2] = 0;
  const std::vector<double> sp = {1, -1, 0.0, -0.0, INF, -INF, NaN, 2};
  for (size_t j = 0; j < sp.size(); ++j) abuf[pos(as, 2 + 5 * (i64)j)] = (T)sp[j];
  row[4] = (T)INF, abuf[pos(as, 4)] = (T)INF, abuf[pos(as, 9)] = (T)-INF; // inf ∘ ±inf
  struct Case {
    std::string what;
    View<T> a, bb;
  };
  const std::vector<Case> cases = {
      {"strided (43, 5) with (5) broadcast over rows, IEEE specials", as, vrow},
      {"(43, 1) with (5): both broadcast", vcol, vrow},
      {"0-d with strided (43, 5)", v0, as},
  };
  for (const Case &c : cases) {
    std::vector<T> y(N, (T)-7), want(N);
    for (i64 i = 0; i < N; ++i) {
      const Dims ix = unravel(i, SHAPE);
      want[i] = (T)b.f((ld)c.a.at(ix), (ld)c.bb.at(ix));
    }
    LAUNCH(host_grid(N), 256, k(c.a.p, c.a.as(SHAPE), c.bb.p, c.bb.as(SHAPE), y.data(), N, 0, 0));
    expect_close(p + c.what, y, want, tol);
  }
}

// Grid-stride loops: 301 elements (43, 7) of a transposed, narrowed (7, 50) buffer, the host's
// grid (2 blocks) and a single block give the same bits (a unary forward, a backward, a binary).
template <typename T> static void bitwise(Rng &rng, const std::string &dt) {
  const Dims s = {43, 7};
  const i64 n = 301;
  std::vector<T> buf = randv<T>(rng, 350, 3.0), g = randv<T>(rng, 7), y(n), y1(n), d(n), d1(n), z(n), z1(n);
  const View<T> xv{buf.data(), s, {1, 50}, 3}, gv = view(g, {7});
  expect_true(dt + " host grid for 301 elements is 2 blocks", host_grid(n) == 2);
  LAUNCH(host_grid(n), 256, KP(gelu_fwd)(buf.data(), xv.as(s), y.data(), n, 0, 0));
  LAUNCH(1, 256, KP(gelu_fwd)(buf.data(), xv.as(s), y1.data(), n, 0, 0));
  expect_same("gelu_fwd " + dt + ": bitwise, grid 2 vs 1", y, y1);
  LAUNCH(host_grid(n), 256, KP(gelu_bwd)(g.data(), gv.as(s), buf.data(), xv.as(s), d.data(), n, 1, 0));
  LAUNCH(1, 256, KP(gelu_bwd)(g.data(), gv.as(s), buf.data(), xv.as(s), d1.data(), n, 1, 0));
  expect_same("gelu_bwd " + dt + ": bitwise, grid 2 vs 1", d, d1);
  LAUNCH(host_grid(n), 256, KP(div_fwd)(buf.data(), xv.as(s), g.data(), gv.as(s), z.data(), n, 0, 0));
  LAUNCH(1, 256, KP(div_fwd)(buf.data(), xv.as(s), g.data(), gv.as(s), z1.data(), n, 0, 0));
  expect_same("div_fwd " + dt + ": bitwise, grid 2 vs 1", z, z1);
  bool tail = true; // the last element (of the second block) written
  for (i64 i = 0; i < n; ++i) tail = tail && z[i] == (T)((ld)xv.at(unravel(i, s)) / (ld)gv.at(unravel(i, s)));
  expect_true("div_fwd " + dt + ": all 301 elements (tail of 45 in block 2) correct", tail);
}

template <typename T> static void run(const std::string &dt, double tol, double dtol, Rng &rng) {
  for (const Unary &u : unary_ops()) check_unary<T>(u, rng, dt, tol, dtol);
  const std::vector<Binary> bins = {
      {"add_fwd", K(add_fwd), [](ld a, ld b) -> ld { return a + b; }},
      {"sub_fwd", K(sub_fwd), [](ld a, ld b) -> ld { return a - b; }},
      {"mul_fwd", K(mul_fwd), [](ld a, ld b) -> ld { return a * b; }},
      {"div_fwd", K(div_fwd), [](ld a, ld b) -> ld { return a / b; }},
      {"div_bwd", K(div_bwd), [](ld a, ld b) -> ld { return a / b; }},
  };
  for (const Binary &b : bins) check_binary<T>(b, rng, dt);
  // Signed zeros as the CPU op gives them: |-0| = +0 (Rust's abs), relu(-0) = +0, -(+0) = -0.
  std::vector<T> z = {(T)-0.0, (T)0.0}, ya(2), yr(2), yn(2);
  const Dims s = {2};
  LAUNCH(1, 256, KP(abs_fwd)(z.data(), contiguous_as(s, s), ya.data(), 2, 0, 0));
  LAUNCH(1, 256, KP(relu_fwd)(z.data(), contiguous_as(s, s), yr.data(), 2, 0, 0));
  LAUNCH(1, 256, KP(neg_fwd)(z.data(), contiguous_as(s, s), yn.data(), 2, 0, 0));
  expect_true("abs " + dt + ": |-0| = +0, |+0| = +0", !std::signbit(ya[0]) && !std::signbit(ya[1]));
  expect_true("relu " + dt + ": relu(-0) = relu(+0) = +0", !std::signbit(yr[0]) && !std::signbit(yr[1]));
  expect_true("neg " + dt + ": -(+0) = -0, -(-0) = +0", std::signbit(yn[1]) && !std::signbit(yn[0]));
  bitwise<T>(rng, dt);
}

int main() {
  Rng rng(17);
  run<double>("f64", 1e-14, 1e-9, rng);
  run<float>("f32", 1e-6, 1e-6, rng);
  return finish("elementwise");
}
