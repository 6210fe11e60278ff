// Emulated run of kernels/bce.cu: binary cross-entropy on logits against the textbook formula
// -w [p y ln sigma(x) + (1 - y) ln(1 - sigma(x))] in long double (moderate logits) and exact
// limits (|x| = 100, 1e4), the gradients against central differences of that formula; a strided
// (transposed) x, weights broadcast through stride-0 layouts, the sum/mean upstream forms
// (g_stride 0, div n), and NaN.
#include "cuda_shim.h"
#include "check.h"
#include "../bce.cu"

// Row-major layout of `shape` with `strides` (0 = broadcast).
static Layout layout(std::vector<i64> shape, std::vector<i64> strides) {
  Layout l{};
  l.ndim = (int)shape.size();
  for (size_t d = 0; d < shape.size(); ++d) l.shape[d] = shape[d], l.strides[d] = strides[d];
  return l;
}

typedef long double ld;
static ld textbook(ld x, ld y, ld w, ld p) {
  const ld s = 1 / (1 + std::exp(-x));
  return -w * (p * y * std::log(s) + (1 - y) * std::log(1 - s));
}

template <typename T> struct Api;
template <> struct Api<float> {
  static constexpr auto fwd = bce_with_logits_fwd_f32;
  static constexpr auto bwd = bce_with_logits_bwd_f32;
};
template <> struct Api<double> {
  static constexpr auto fwd = bce_with_logits_fwd_f64;
  static constexpr auto bwd = bce_with_logits_bwd_f64;
};

template <typename T> void run(const char *tn, double tol) {
  using A = Api<T>;
  const std::string p = std::string(tn) + " bce: ";
  const i64 N = 5, C = 3, n = N * C;
  Rng rng(17);
  // x stored transposed (C, N) and read as (N, C) through strides (1, N).
  std::vector<T> xt = randv<T>(rng, n, 6.0);
  std::vector<T> y(n), w = randv<T>(rng, C), pw(C);
  for (auto &v : y) v = (T)((rng.uniform() + 1) / 2);
  y[0] = 1, y[1] = 0;
  for (auto &v : w) v = (T)(0.5 + std::fabs((double)v));
  for (auto &v : pw) v = (T)(0.5 + (rng.uniform() + 1));
  const Layout lx = layout({N, C}, {1, N}), ly = layout({N, C}, {C, 1});
  const Layout lw = layout({N, C}, {0, 1}), lp = layout({N, C}, {0, 1});
  auto xat = [&](i64 i) { return (ld)xt[(i % C) * N + i / C]; };
  std::vector<T> loss(n), dx(n), dy(n);
  auto g = randv<T>(rng, n);
  LAUNCH(2, 4, A::fwd(xt.data(), lx, y.data(), ly, w.data(), lw, pw.data(), lp, loss.data(), n));
  LAUNCH(2, 4, A::bwd(xt.data(), lx, y.data(), ly, w.data(), lw, pw.data(), lp, g.data(), 1, 1.0, dx.data(), dy.data(), n));
  std::vector<double> lr(n), dxr(n), dyr(n);
  const ld h = 1e-7L;
  for (i64 i = 0; i < n; ++i) {
    const ld xv = xat(i), yv = y[i], wv = w[i % C], pv = pw[i % C];
    lr[i] = (double)textbook(xv, yv, wv, pv);
    dxr[i] = (double)(g[i] * (textbook(xv + h, yv, wv, pv) - textbook(xv - h, yv, wv, pv)) / (2 * h));
    dyr[i] = (double)(g[i] * (textbook(xv, yv + h, wv, pv) - textbook(xv, yv - h, wv, pv)) / (2 * h));
  }
  expect_close(p + "loss (strided x, broadcast w and pos_weight)", loss, lr, tol);
  expect_close(p + "dx vs central differences", dx, dxr, tol + 1e-8);
  expect_close(p + "dy vs central differences", dy, dyr, tol + 1e-8);

  // Mean: one upstream value (g_stride 0) divided by n.
  std::vector<T> dxm(n), dym(n), g1 = {(T)0.75};
  LAUNCH(1, 8, A::bwd(xt.data(), lx, y.data(), ly, w.data(), lw, pw.data(), lp, g1.data(), 0, (double)n, dxm.data(), dym.data(), n));
  std::vector<double> dxmr(n), dymr(n);
  for (i64 i = 0; i < n; ++i) dxmr[i] = (double)dx[i] / (double)g[i] * 0.75 / n, dymr[i] = (double)dy[i] / (double)g[i] * 0.75 / n;
  expect_close(p + "mean form: s = g / n", dxm, dxmr, tol * 10);
  expect_close(p + "mean form: dy", dym, dymr, tol * 10);

  // Large logits (no overflow), unit weights through a one-element stride-0 layout, and NaN.
  std::vector<T> xs = {(T)100, (T)-100, (T)100, (T)-100, (T)1e4, (T)-1e4, (T)NAN};
  std::vector<T> ys = {0, 1, 1, 0, (T)0.5, (T)0.5, 1};
  std::vector<T> one = {1};
  const i64 m = (i64)xs.size();
  const Layout l1 = layout({m}, {1}), l0 = layout({m}, {0});
  std::vector<T> ls(m), dxs(m), dys(m), gs(m, (T)1);
  LAUNCH(1, 4, A::fwd(xs.data(), l1, ys.data(), l1, one.data(), l0, one.data(), l0, ls.data(), m));
  LAUNCH(1, 4, A::bwd(xs.data(), l1, ys.data(), l1, one.data(), l0, one.data(), l0, gs.data(), 1, 1.0, dxs.data(), dys.data(), m));
  // ln(1 + e^-100) = 3.7e-44 (0 in f32); 0.5 * 1e4 for the +-1e4 halves.
  const std::vector<double> lx_ = {100, 100, 3.7200759760208361e-44, 3.7200759760208361e-44, 5000, 5000, NAN};
  const std::vector<double> dx_ = {1, -1, 0, 0, 0.5, -0.5, NAN};
  const std::vector<double> dy_ = {-100, 100, -100, 100, -1e4, 1e4, NAN};
  expect_close(p + "large logits: loss exact, finite; NaN propagates", ls, lx_, tol);
  expect_close(p + "large logits: dx = sigma(x) - y", dxs, dx_, tol);
  expect_close(p + "large logits: dy = -x", dys, dy_, tol);
}

int main() {
  run<double>("f64", 1e-12);
  run<float>("f32", 2e-6);
  return finish("bce");
}
