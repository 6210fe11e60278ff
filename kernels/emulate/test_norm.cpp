// Emulated run of kernels/norm.cu: layer_norm and batch_norm, forward and backward, against
// direct double loops of the formulas (src/ops/layer_norm.rs, src/ops/batch_norm.rs), whose
// gradients are in turn checked by central finite differences of the reference forward; rows and
// channels longer than a block (> 256), grids smaller than the rows (grid-stride), a NaN row,
// evaluation mode, the running-statistics update, and bitwise equality across launch shapes.
#include "cuda_shim.h"
#include "check.h"
#include "../norm.cu"

template <typename T> struct Api;
template <> struct Api<float> {
  static constexpr auto lnf = layer_norm_fwd_f32;
  static constexpr auto lnbx = layer_norm_bwd_x_f32;
  static constexpr auto lnbw = layer_norm_bwd_weight_f32;
  static constexpr auto bns = batch_norm_fwd_stats_f32;
  static constexpr auto bnr = batch_norm_fwd_running_f32;
  static constexpr auto bnf = batch_norm_fwd_f32;
  static constexpr auto bnbw = batch_norm_bwd_weight_f32;
  static constexpr auto bnbx = batch_norm_bwd_x_f32;
};
template <> struct Api<double> {
  static constexpr auto lnf = layer_norm_fwd_f64;
  static constexpr auto lnbx = layer_norm_bwd_x_f64;
  static constexpr auto lnbw = layer_norm_bwd_weight_f64;
  static constexpr auto bns = batch_norm_fwd_stats_f64;
  static constexpr auto bnr = batch_norm_fwd_running_f64;
  static constexpr auto bnf = batch_norm_fwd_f64;
  static constexpr auto bnbw = batch_norm_bwd_weight_f64;
  static constexpr auto bnbx = batch_norm_bwd_x_f64;
};

// ---- layer_norm reference: y and L = sum r * y.
static void ln_ref(const std::vector<double> &x, const std::vector<double> &w, const std::vector<double> &b, i64 rows,
                   i64 d, double eps, std::vector<double> &y, std::vector<double> &mean, std::vector<double> &rstd) {
  y.assign(rows * d, 0), mean.assign(rows, 0), rstd.assign(rows, 0);
  for (i64 r = 0; r < rows; ++r) {
    double mu = 0, var = 0;
    for (i64 j = 0; j < d; ++j) mu += x[r * d + j];
    mu /= (double)d;
    for (i64 j = 0; j < d; ++j) var += (x[r * d + j] - mu) * (x[r * d + j] - mu);
    var /= (double)d;
    const double ri = 1.0 / std::sqrt(var + eps);
    for (i64 j = 0; j < d; ++j) y[r * d + j] = w[j] * (x[r * d + j] - mu) * ri + b[j];
    mean[r] = mu, rstd[r] = ri;
  }
}

template <typename T> std::vector<double> dbl(const std::vector<T> &v) { return std::vector<double>(v.begin(), v.end()); }
template <typename T> std::vector<T> cast(const std::vector<double> &v) { return std::vector<T>(v.begin(), v.end()); }

template <typename T> void layer_norm(const char *tn, i64 rows, i64 d, unsigned grid, bool nan_row, double tol) {
  using A = Api<T>;
  const std::string p = std::string(tn) + " layer_norm " + std::to_string(rows) + "x" + std::to_string(d) + ": ";
  const double eps = 1e-5;
  Rng rng(5 + d);
  auto x = randv<T>(rng, rows * d, 2.0);
  for (i64 j = 0; j < d; ++j) x[j] += (T)3; // row 0 far from zero mean
  if (nan_row) x[(rows - 1) * d + 1] = (T)NAN;
  auto w = randv<T>(rng, d), b = randv<T>(rng, d), g = randv<T>(rng, rows * d);
  std::vector<T> y(rows * d), mean(rows), rstd(rows), dx(rows * d), dw(d), db(d);
  LAUNCH(grid, 256, A::lnf(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, d, eps));
  LAUNCH(grid, 256, A::lnbx(g.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(), rows, d));
  LAUNCH(2, 4, A::lnbw(g.data(), x.data(), mean.data(), rstd.data(), dw.data(), db.data(), rows, d));

  std::vector<double> yr, mr, rr;
  const auto xd = dbl(x), wd = dbl(w), bd = dbl(b), gd = dbl(g);
  ln_ref(xd, wd, bd, rows, d, eps, yr, mr, rr);
  // Reference gradients: the module docs' formulas.
  std::vector<double> dxr(rows * d), dwr(d, 0), dbr(d, 0);
  for (i64 r = 0; r < rows; ++r) {
    double s1 = 0, s2 = 0;
    for (i64 j = 0; j < d; ++j) {
      const double h = (xd[r * d + j] - mr[r]) * rr[r], gh = gd[r * d + j] * wd[j];
      s1 += gh, s2 += gh * h;
      dwr[j] += gd[r * d + j] * h, dbr[j] += gd[r * d + j];
    }
    for (i64 j = 0; j < d; ++j) {
      const double h = (xd[r * d + j] - mr[r]) * rr[r];
      dxr[r * d + j] = rr[r] * (gd[r * d + j] * wd[j] - s1 / d - h * s2 / d);
    }
  }
  expect_close(p + "y", y, yr, tol);
  expect_close(p + "mean", mean, mr, tol);
  expect_close(p + "rstd", rstd, rr, tol);
  expect_close(p + "dx", dx, dxr, tol);
  expect_close(p + "dw", dw, dwr, tol * 10);
  expect_close(p + "db", db, dbr, tol * 10);
  if (nan_row) {
    bool all_nan = true, others_finite = true;
    for (i64 j = 0; j < d; ++j) all_nan = all_nan && std::isnan((double)y[(rows - 1) * d + j]);
    for (i64 j = 0; j < (rows - 1) * d; ++j) others_finite = others_finite && std::isfinite((double)y[j]);
    expect_true(p + "a NaN makes its row NaN, other rows finite", all_nan && others_finite);
  }
  // Bitwise equality with another grid (grid-stride rows; the tree depends only on d).
  std::vector<T> y2(rows * d), m2(rows), r2(rows), dx2(rows * d), dw2(d), db2(d);
  LAUNCH(1, 256, A::lnf(x.data(), w.data(), b.data(), y2.data(), m2.data(), r2.data(), rows, d, eps));
  LAUNCH(1, 256, A::lnbx(g.data(), x.data(), w.data(), m2.data(), r2.data(), dx2.data(), rows, d));
  LAUNCH(3, 256, A::lnbw(g.data(), x.data(), m2.data(), r2.data(), dw2.data(), db2.data(), rows, d));
  expect_same(p + "y bitwise across grids", y, y2);
  expect_same(p + "dx bitwise across grids", dx, dx2);
  expect_same(p + "dw bitwise across grids", dw, dw2);
}

// The reference formulas' gradients against central differences of L = sum r * layer_norm(x).
void layer_norm_fd() {
  const i64 rows = 3, d = 6;
  Rng rng(41);
  auto x = randv<double>(rng, rows * d), w = randv<double>(rng, d), b = randv<double>(rng, d), g = randv<double>(rng, rows * d);
  auto loss = [&](const std::vector<double> &xx, const std::vector<double> &ww, const std::vector<double> &bb) {
    std::vector<double> y, m, r;
    ln_ref(xx, ww, bb, rows, d, 1e-5, y, m, r);
    double l = 0;
    for (i64 i = 0; i < rows * d; ++i) l += g[i] * y[i];
    return l;
  };
  std::vector<double> y(rows * d), mean(rows), rstd(rows), dx(rows * d), dw(d), db(d);
  LAUNCH(1, 256, layer_norm_fwd_f64(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, d, 1e-5));
  LAUNCH(1, 256, layer_norm_bwd_x_f64(g.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(), rows, d));
  LAUNCH(1, 8, layer_norm_bwd_weight_f64(g.data(), x.data(), mean.data(), rstd.data(), dw.data(), db.data(), rows, d));
  const double h = 1e-6;
  std::vector<double> fx(rows * d), fw(d), fb(d);
  for (i64 i = 0; i < rows * d; ++i) {
    auto a = x, c = x;
    a[i] += h, c[i] -= h;
    fx[i] = (loss(a, w, b) - loss(c, w, b)) / (2 * h);
  }
  for (i64 j = 0; j < d; ++j) {
    auto a = w, c = w;
    a[j] += h, c[j] -= h;
    fw[j] = (loss(x, a, b) - loss(x, c, b)) / (2 * h);
    a = b, c = b;
    a[j] += h, c[j] -= h;
    fb[j] = (loss(x, w, a) - loss(x, w, c)) / (2 * h);
  }
  expect_close("f64 layer_norm dx vs finite differences", dx, fx, 1e-7);
  expect_close("f64 layer_norm dw vs finite differences", dw, fw, 1e-7);
  expect_close("f64 layer_norm db vs finite differences", db, fb, 1e-7);
}

// ---- batch_norm reference (double): y for given statistics; batch statistics.
struct BnRef {
  std::vector<double> mean, var;
};
static BnRef bn_batch_stats(const std::vector<double> &x, i64 n, i64 c, i64 s) {
  BnRef r{std::vector<double>(c, 0), std::vector<double>(c, 0)};
  const double m = (double)(n * s);
  for (i64 k = 0; k < c; ++k) {
    for (i64 i = 0; i < n; ++i)
      for (i64 t = 0; t < s; ++t) r.mean[k] += x[(i * c + k) * s + t];
    r.mean[k] /= m;
    for (i64 i = 0; i < n; ++i)
      for (i64 t = 0; t < s; ++t) r.var[k] += (x[(i * c + k) * s + t] - r.mean[k]) * (x[(i * c + k) * s + t] - r.mean[k]);
    r.var[k] /= m;
  }
  return r;
}
static std::vector<double> bn_apply(const std::vector<double> &x, const BnRef &st, const std::vector<double> &gam,
                                    const std::vector<double> &bet, i64 n, i64 c, i64 s, double eps) {
  std::vector<double> y(x.size());
  for (i64 i = 0; i < n; ++i)
    for (i64 k = 0; k < c; ++k)
      for (i64 t = 0; t < s; ++t) {
        const i64 q = (i * c + k) * s + t;
        y[q] = gam[k] * (x[q] - st.mean[k]) / std::sqrt(st.var[k] + eps) + bet[k];
      }
  return y;
}

template <typename T> void batch_norm(const char *tn, i64 n, i64 c, i64 s, unsigned grid, double tol) {
  using A = Api<T>;
  const std::string p =
      std::string(tn) + " batch_norm (" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(s) + "): ";
  const double eps = 1e-5, mom = 0.1, M = (double)(n * s);
  const i64 len = n * c * s;
  Rng rng(9 + s);
  auto x = randv<T>(rng, len, 3.0);
  for (i64 i = 0; i < len; ++i) x[i] += (T)(i % c); // channel offsets
  auto gam = randv<T>(rng, c), bet = randv<T>(rng, c), g = randv<T>(rng, len);
  std::vector<T> rm = randv<T>(rng, c), rv(c);
  for (auto &v : rv) v = (T)(1.0 + 0.5 * rng.uniform());
  const auto xd = dbl(x), gd = dbl(g), gamd = dbl(gam), betd = dbl(bet);

  // Training: statistics, running update, y, gradients.
  std::vector<double> mean(c), var(c), sg(c), sgx(c);
  std::vector<T> rm2(c), rv2(c), y(len), dx(len), dxe(len), ye(len);
  LAUNCH(grid, 256, A::bns(x.data(), mean.data(), var.data(), n, c, s));
  LAUNCH(1, 2, A::bnr(rm.data(), rv.data(), mean.data(), var.data(), rm2.data(), rv2.data(), c, mom, M / (M - 1)));
  LAUNCH(3, 64, A::bnf(x.data(), mean.data(), var.data(), gam.data(), bet.data(), y.data(), n, c, s, eps));
  LAUNCH(grid, 256, A::bnbw(g.data(), x.data(), mean.data(), var.data(), sg.data(), sgx.data(), n, c, s, eps));
  LAUNCH(3, 64, A::bnbx(g.data(), x.data(), mean.data(), var.data(), gam.data(), sg.data(), sgx.data(), dx.data(), n, c, s, eps, 1));

  const BnRef st = bn_batch_stats(xd, n, c, s);
  std::vector<double> rmr(c), rvr(c), sgr(c, 0), sgxr(c, 0), dxr(len);
  for (i64 k = 0; k < c; ++k) {
    rmr[k] = (1 - mom) * (double)rm[k] + mom * st.mean[k];
    rvr[k] = (1 - mom) * (double)rv[k] + mom * st.var[k] * M / (M - 1);
  }
  for (i64 q = 0; q < len; ++q) {
    const i64 k = (q / s) % c;
    const double r = 1 / std::sqrt(st.var[k] + eps);
    sgr[k] += gd[q], sgxr[k] += gd[q] * (xd[q] - st.mean[k]) * r;
  }
  for (i64 q = 0; q < len; ++q) {
    const i64 k = (q / s) % c;
    const double r = 1 / std::sqrt(st.var[k] + eps), h = (xd[q] - st.mean[k]) * r;
    dxr[q] = gamd[k] * r / M * (M * gd[q] - sgr[k] - h * sgxr[k]);
  }
  expect_close(p + "batch mean", mean, st.mean, 1e-13);
  expect_close(p + "batch variance (biased)", var, st.var, 1e-13);
  expect_close(p + "running mean", rm2, rmr, tol);
  expect_close(p + "running var (unbiased)", rv2, rvr, tol);
  expect_close(p + "y (training)", y, bn_apply(xd, st, gamd, betd, n, c, s, eps), tol);
  expect_close(p + "dbeta = sum g", sg, sgr, 1e-12);
  expect_close(p + "dgamma = sum g xhat", sgx, sgxr, 1e-12);
  expect_close(p + "dx (training)", dx, dxr, tol);

  // Evaluation: the running statistics (as the host casts them to double), dx = gamma r g.
  const BnRef run{dbl(rm), dbl(rv)};
  LAUNCH(2, 32, A::bnf(x.data(), run.mean.data(), run.var.data(), gam.data(), bet.data(), ye.data(), n, c, s, eps));
  LAUNCH(2, 32, A::bnbx(g.data(), x.data(), run.mean.data(), run.var.data(), gam.data(), sg.data(), sgx.data(), dxe.data(), n, c, s, eps, 0));
  std::vector<double> dxer(len);
  for (i64 q = 0; q < len; ++q) {
    const i64 k = (q / s) % c;
    dxer[q] = gamd[k] / std::sqrt(run.var[k] + eps) * gd[q];
  }
  expect_close(p + "y (evaluation)", ye, bn_apply(xd, run, gamd, betd, n, c, s, eps), tol);
  expect_close(p + "dx (evaluation)", dxe, dxer, tol);

  // Bitwise equality across grids for the block reductions.
  std::vector<double> mean2(c), var2(c), sg2(c), sgx2(c);
  LAUNCH(1, 256, A::bns(x.data(), mean2.data(), var2.data(), n, c, s));
  LAUNCH(1, 256, A::bnbw(g.data(), x.data(), mean.data(), var.data(), sg2.data(), sgx2.data(), n, c, s, eps));
  expect_same(p + "statistics bitwise across grids", mean, mean2);
  expect_same(p + "gradient sums bitwise across grids", sgx, sgx2);
}

// The training-mode reference gradient against central differences of L = sum r * batch_norm(x).
void batch_norm_fd() {
  const i64 n = 3, c = 2, s = 4, len = n * c * s;
  const double eps = 1e-5;
  Rng rng(77);
  auto x = randv<double>(rng, len), gam = randv<double>(rng, c), bet = randv<double>(rng, c), g = randv<double>(rng, len);
  auto loss = [&](const std::vector<double> &xx) {
    auto y = bn_apply(xx, bn_batch_stats(xx, n, c, s), gam, bet, n, c, s, eps);
    double l = 0;
    for (i64 i = 0; i < len; ++i) l += g[i] * y[i];
    return l;
  };
  std::vector<double> mean(c), var(c), sg(c), sgx(c), dx(len), fx(len);
  LAUNCH(1, 256, batch_norm_fwd_stats_f64(x.data(), mean.data(), var.data(), n, c, s));
  LAUNCH(1, 256, batch_norm_bwd_weight_f64(g.data(), x.data(), mean.data(), var.data(), sg.data(), sgx.data(), n, c, s, eps));
  LAUNCH(1, 32, batch_norm_bwd_x_f64(g.data(), x.data(), mean.data(), var.data(), gam.data(), sg.data(), sgx.data(), dx.data(), n, c, s, eps, 1));
  const double h = 1e-6;
  for (i64 i = 0; i < len; ++i) {
    auto a = x, b = x;
    a[i] += h, b[i] -= h;
    fx[i] = (loss(a) - loss(b)) / (2 * h);
  }
  expect_close("f64 batch_norm dx (training) vs finite differences", dx, fx, 1e-7);
  // dgamma, dbeta: L is linear in gamma and beta.
  std::vector<double> fg(c), fb(c);
  for (i64 k = 0; k < c; ++k) {
    auto ga = gam, gb = gam, ba = bet, bb = bet;
    ga[k] += h, gb[k] -= h, ba[k] += h, bb[k] -= h;
    auto l = [&](const std::vector<double> &gg, const std::vector<double> &be) {
      auto y = bn_apply(x, bn_batch_stats(x, n, c, s), gg, be, n, c, s, eps);
      double t = 0;
      for (i64 i = 0; i < len; ++i) t += g[i] * y[i];
      return t;
    };
    fg[k] = (l(ga, bet) - l(gb, bet)) / (2 * h);
    fb[k] = (l(gam, ba) - l(gam, bb)) / (2 * h);
  }
  expect_close("f64 batch_norm dgamma vs finite differences", sgx, fg, 1e-7);
  expect_close("f64 batch_norm dbeta vs finite differences", sg, fb, 1e-7);
}

int main() {
  layer_norm<double>("f64", 5, 300, 2, true, 1e-12);
  layer_norm<float>("f32", 5, 300, 2, false, 2e-5);
  layer_norm<double>("f64", 4, 7, 3, false, 1e-12);
  layer_norm<float>("f32", 3, 1, 1, false, 2e-5); // d = 1: y = b, dx = 0
  layer_norm_fd();
  batch_norm<double>("f64", 3, 4, 5, 2, 1e-12);
  batch_norm<float>("f32", 3, 4, 5, 2, 2e-5);
  batch_norm<double>("f64", 2, 3, 200, 1, 1e-12); // M = 400 > 256 per channel
  batch_norm<float>("f32", 6, 5, 1, 2, 2e-5);     // (N, C) input, s = 1
  batch_norm_fd();
  return finish("norm");
}
