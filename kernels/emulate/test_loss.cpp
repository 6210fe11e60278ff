// Emulated run of the nll_loss kernels of kernels/loss.cu against direct loops of the formulas
// (src/ops/loss.rs): class weights, ignored rows (target -1), the per-row (g_stride 1) and the
// single upstream value (g_stride 0, scale 1/D) forms, and every dz element written.
#include "cuda_shim.h"
#include "check.h"
#include "../loss.cu"

template <typename T> struct Api;
template <> struct Api<float> {
  static constexpr auto fwd = nll_loss_fwd_f32;
  static constexpr auto bwd = nll_loss_bwd_f32;
};
template <> struct Api<double> {
  static constexpr auto fwd = nll_loss_fwd_f64;
  static constexpr auto bwd = nll_loss_bwd_f64;
};

template <typename T> void run(const char *tn) {
  using A = Api<T>;
  const std::string p = std::string(tn) + " nll_loss: ";
  const i64 n = 7, c = 5;
  Rng rng(23);
  auto z = randv<T>(rng, n * c, 4.0), w = randv<T>(rng, c), g = randv<T>(rng, n);
  for (auto &v : w) v = (T)(0.25 + std::fabs((double)v));
  std::vector<i64> t = {3, -1, 0, 4, 4, -1, 1};
  std::vector<T> loss(n, (T)-99), dz(n * c, (T)-99), dz1(n * c, (T)-99), g1 = {(T)2.5};
  LAUNCH(2, 3, A::fwd(z.data(), t.data(), w.data(), loss.data(), n, c));
  LAUNCH(2, 4, A::bwd(t.data(), w.data(), g.data(), 1, 1.0, dz.data(), n, c));
  double d = 0;
  for (i64 r = 0; r < n; ++r)
    if (t[r] >= 0) d += (double)w[t[r]];
  LAUNCH(1, 8, A::bwd(t.data(), w.data(), g1.data(), 0, 1.0 / d, dz1.data(), n, c));
  std::vector<double> lr(n, 0.0), dzr(n * c, 0.0), dz1r(n * c, 0.0);
  for (i64 r = 0; r < n; ++r) {
    if (t[r] < 0) continue;
    lr[r] = -(double)w[t[r]] * (double)z[r * c + t[r]];
    dzr[r * c + t[r]] = -(double)g[r] * (double)w[t[r]];
    dz1r[r * c + t[r]] = -2.5 / d * (double)w[t[r]];
  }
  const double tol = sizeof(T) == 4 ? 1e-6 : 1e-15;
  expect_close(p + "losses (ignored rows 0)", loss, lr, tol);
  expect_close(p + "dz, per-row upstream", dz, dzr, tol);
  expect_close(p + "dz, one upstream value / D (mean)", dz1, dz1r, tol);
}

int main() {
  run<double>("f64");
  run<float>("f32");
  return finish("loss");
}
