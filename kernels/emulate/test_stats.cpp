// Emulated run of kernels/stats.cu: max_dim/min_dim (values, first positions; ties, NaN, rows
// longer than a block, a grid smaller than the rows), argmax of a transposed tensor, the gather
// backward, the full max/min gradient split among ties, var forward (corrections, N - c <= 0,
// empty rows) and backward, against direct loops; f32 against the f64 reference.
#include "cuda_shim.h"
#include "check.h"
#include "../stats.cu"
#include "layout.h"
#include <algorithm>
#include <type_traits>

// The position of the extreme of a row by the standard library: the first NaN if any, else the
// first of the largest (smallest) values (max_element/min_element keep the first of equals).
template <typename T> static i64 ref_arg(const std::vector<T> &row, bool largest) {
  for (size_t j = 0; j < row.size(); ++j)
    if (row[j] != row[j]) return (i64)j;
  auto it = largest ? std::max_element(row.begin(), row.end()) : std::min_element(row.begin(), row.end());
  return (i64)(it - row.begin());
}

// Rows of x (shape `shape`, contiguous) along dimension d: row r = (o, i), element j.
template <typename T> static std::vector<T> lane(const std::vector<T> &x, const Dims &shape, size_t d, i64 r) {
  i64 inner = 1;
  for (size_t e = d + 1; e < shape.size(); ++e) inner *= shape[e];
  i64 o = r / inner, i = r % inner;
  std::vector<T> v(shape[d]);
  for (i64 j = 0; j < shape[d]; ++j) v[j] = x[(o * shape[d] + j) * inner + i];
  return v;
}

// The (m, k) layout of a reduction of contiguous `shape` over dimension d (reduction_view).
static Layout dim_last(const Dims &shape, size_t d) {
  Dims s = row_major(shape), ps, pst;
  for (size_t e = 0; e < shape.size(); ++e)
    if (e != d) ps.push_back(shape[e]), pst.push_back(s[e]);
  ps.push_back(shape[d]), pst.push_back(s[d]);
  return layout_as(ps, pst, ps);
}

template <typename T> static void check_best(const char *dt, const std::vector<T> &x, const Dims &shape, size_t d,
                                             unsigned grid, bool largest) {
  i64 k = shape[d], m = numel(shape) / k;
  std::vector<T> y(m), yw(m);
  std::vector<i64> p(m, -5), pw(m);
  for (i64 r = 0; r < m; ++r) {
    auto row = lane(x, shape, d, r);
    pw[r] = ref_arg(row, largest), yw[r] = row[pw[r]];
  }
  Layout l = dim_last(shape, d);
  if constexpr (sizeof(T) == 4) {
    if (largest) LAUNCH(grid, 256, max_dim_fwd_f32(x.data(), l, y.data(), p.data(), m, k));
    else LAUNCH(grid, 256, min_dim_fwd_f32(x.data(), l, y.data(), p.data(), m, k));
  } else if constexpr (std::is_same_v<T, double>) {
    if (largest) LAUNCH(grid, 256, max_dim_fwd_f64(x.data(), l, y.data(), p.data(), m, k));
    else LAUNCH(grid, 256, min_dim_fwd_f64(x.data(), l, y.data(), p.data(), m, k));
  } else {
    if (largest) LAUNCH(grid, 256, max_dim_fwd_i64(x.data(), l, y.data(), p.data(), m, k));
    else LAUNCH(grid, 256, min_dim_fwd_i64(x.data(), l, y.data(), p.data(), m, k));
  }
  std::string what = std::string(largest ? "max" : "min") + "_dim_fwd_" + dt + " k=" + std::to_string(k) +
                     " m=" + std::to_string(m) + " grid=" + std::to_string(grid);
  expect_close(what + " positions", p, pw, 0);
  expect_close(what + " values", y, yw, 0);
}

int main() {
  Rng rng(9);
  // (3, 7, 5) along dim 1: coarse values (many ties), NaNs planted in two lanes (one with two).
  Dims s1 = {3, 7, 5};
  std::vector<double> x1(numel(s1));
  for (auto &v : x1) v = (double)rng.below(4);
  x1[(0 * 7 + 4) * 5 + 2] = NAN, x1[(2 * 7 + 1) * 5 + 0] = NAN, x1[(2 * 7 + 5) * 5 + 0] = NAN;
  for (int largest = 1; largest >= 0; --largest) {
    check_best("f64", x1, s1, 1, 15, largest);
    check_best("f64", x1, s1, 1, 4, largest); // rows grid-strided
    check_best("f64", x1, s1, 2, 3, largest);
    check_best("f64", x1, s1, 0, 35, largest);
  }
  // Rows longer than a block: ties spread over threads, the maximum repeated late, a NaN late.
  Dims s2 = {3, 600};
  std::vector<double> x2(numel(s2));
  for (auto &v : x2) v = (double)rng.below(50);
  x2[0 * 600 + 517] = 60, x2[0 * 600 + 300] = 60, x2[0 * 600 + 45] = 60; // first at 45
  x2[1 * 600 + 599] = -5, x2[1 * 600 + 260] = -5;                        // min first at 260
  x2[2 * 600 + 400] = NAN, x2[2 * 600 + 599] = NAN;                      // first NaN at 400
  for (int largest = 1; largest >= 0; --largest) check_best("f64", x2, s2, 1, 2, largest);
  std::vector<float> x2f(x2.begin(), x2.end());
  for (int largest = 1; largest >= 0; --largest) check_best("f32", x2f, s2, 1, 3, largest);
  std::vector<i64> x2i(x2.size());
  for (size_t i = 0; i < x2.size(); ++i) x2i[i] = x2[i] == x2[i] ? (i64)x2[i] : 99;
  for (int largest = 1; largest >= 0; --largest) check_best("i64", x2i, s2, 1, 3, largest);
  {
    // Signed zeros tie: the first position wins, its own zero is returned.
    std::vector<double> z = {-0.0, 0.0, -1.0};
    std::vector<double> y(1);
    std::vector<i64> p(1);
    Dims sz = {3};
    LAUNCH(1, 256, max_dim_fwd_f64(z.data(), dim_last(sz, 0), y.data(), p.data(), 1, 3));
    expect_true("max_dim_fwd_f64: -0 and 0 tie, the first (-0) wins", p[0] == 0 && std::signbit(y[0]));
  }

  // argmax of everything, input a transposed (5, 4) view of a (4, 5) buffer: flattened index of
  // the view's row-major order.
  {
    std::vector<double> buf(20);
    for (auto &v : buf) v = (double)rng.below(6);
    buf[13] = 9, buf[2] = 9; // view (i, j) = buf[j * 5 + i]: 13 -> (3, 2) = 14, 2 -> (2, 0) = 8
    View<double> xt{buf.data(), {5, 4}, {1, 5}, 0};
    std::vector<double> flat(20), y(1);
    for (i64 i = 0; i < 20; ++i) flat[i] = xt.at(unravel(i, {5, 4}));
    std::vector<i64> p(1), pw = {ref_arg(flat, true)};
    LAUNCH(1, 256, max_dim_fwd_f64(buf.data(), xt.as({5, 4}), y.data(), p.data(), 1, 20));
    expect_close("argmax of a transposed view (flattened index)", p, pw, 0);
    expect_true("argmax: the first of two maxima in view order (8)", p[0] == 8);
  }

  // Backward of max_dim: gather vs scatter.
  {
    Dims s = {3, 7, 5};
    i64 m = 15;
    std::vector<double> y(m), g = randv<double>(rng, m), dx(numel(s), -9), want(numel(s), 0.0);
    std::vector<i64> p(m);
    LAUNCH(2, 256, max_dim_fwd_f64(x1.data(), dim_last(s, 1), y.data(), p.data(), m, 7));
    for (i64 o = 0; o < 3; ++o)
      for (i64 i = 0; i < 5; ++i) want[(o * 7 + p[o * 5 + i]) * 5 + i] += g[o * 5 + i];
    LAUNCH(3, 7, max_dim_bwd_f64(p.data(), g.data(), dx.data(), 3, 7, 5));
    expect_close("max_dim_bwd_f64 (gather = scatter)", dx, want, 0);
    std::vector<float> gf(g.begin(), g.end()), dxf(numel(s)), wf(want.begin(), want.end());
    LAUNCH(2, 5, max_dim_bwd_f32(p.data(), gf.data(), dxf.data(), 3, 7, 5));
    expect_close("max_dim_bwd_f32", dxf, wf, 0);
  }

  // Full max/min backward: split among ties, among NaNs when the result is NaN.
  {
    Dims s = {600};
    std::vector<double> x(600);
    for (auto &v : x) v = (double)rng.below(30);
    x[5] = 40, x[333] = 40, x[599] = 40;
    double g = 1.5;
    for (int nan_case = 0; nan_case < 2; ++nan_case) {
      if (nan_case) x[77] = NAN, x[400] = NAN;
      std::vector<double> y(1);
      std::vector<i64> p(1), count(1, -1);
      LAUNCH(1, 256, max_dim_fwd_f64(x.data(), contiguous_as(s, s), y.data(), p.data(), 1, 600));
      LAUNCH(1, 256, spread_count_bwd_f64(x.data(), contiguous_as(s, s), y.data(), 600, count.data()));
      std::vector<double> dx(600), want(600, 0.0);
      i64 hits = 0;
      for (i64 i = 0; i < 600; ++i) hits += nan_case ? x[i] != x[i] : x[i] == 40;
      for (i64 i = 0; i < 600; ++i)
        if (nan_case ? x[i] != x[i] : x[i] == 40) want[i] = g / (double)hits;
      LAUNCH(3, 64, spread_bwd_f64(x.data(), contiguous_as(s, s), y.data(), &g, count.data(), dx.data(), 600));
      expect_true(nan_case ? "spread_count_bwd_f64: 2 NaNs" : "spread_count_bwd_f64: 3 tied maxima",
                  count[0] == (nan_case ? 2 : 3));
      expect_close(nan_case ? "spread_bwd_f64 among NaNs" : "spread_bwd_f64 among ties", dx, want, 0);
    }
    std::vector<float> xf = {2, -1, 2, 0}, yf = {2}, gf = {3}, dxf(4), wf = {1.5f, 0, 1.5f, 0};
    std::vector<i64> count(1);
    LAUNCH(1, 256, spread_count_bwd_f32(xf.data(), contiguous_as({4}, {4}), yf.data(), 4, count.data()));
    LAUNCH(1, 3, spread_bwd_f32(xf.data(), contiguous_as({4}, {4}), yf.data(), gf.data(), count.data(), dxf.data(), 4));
    expect_close("spread_bwd_f32 by hand", dxf, wf, 0);
  }

  // var over dims {0, 2} of a (4, 3, 150) tensor (k = 600 per output), corrections 0 and 1;
  // single-element rows (N - c = 0: 0/0 = NaN), c > N (inf), empty rows (NaN).
  {
    Dims s = {4, 3, 150};
    auto x = randv<double>(rng, numel(s), 3.0);
    for (auto &v : x) v += 10.0; // a large mean: the two-pass form stays accurate
    Dims rs = row_major(s);
    Layout l = layout_as({3, 4, 150}, {rs[1], rs[0], rs[2]}, {3, 4, 150}); // kept dim 1 first
    for (int c = 0; c <= 1; ++c) {
      std::vector<double> var(3), mean(3), vw(3), mw(3);
      for (i64 r = 0; r < 3; ++r) {
        long double sum = 0, q = 0;
        for (i64 a = 0; a < 4; ++a)
          for (i64 b = 0; b < 150; ++b) sum += x[(a * 3 + r) * 150 + b];
        long double mu = sum / 600;
        for (i64 a = 0; a < 4; ++a)
          for (i64 b = 0; b < 150; ++b) q += (x[(a * 3 + r) * 150 + b] - mu) * (x[(a * 3 + r) * 150 + b] - mu);
        mw[r] = (double)mu, vw[r] = (double)(q / (600 - c));
      }
      LAUNCH(2, 256, var_fwd_f64(x.data(), l, var.data(), mean.data(), 3, 600, 600.0 - c));
      expect_close("var_fwd_f64 over dims {0, 2}, correction " + std::to_string(c) + ": var", var, vw, 1e-13);
      expect_close("var_fwd_f64: mean", mean, mw, 1e-14);
      std::vector<float> xf(x.begin(), x.end()), vf(3), mf(3);
      LAUNCH(3, 256, var_fwd_f32(xf.data(), l, vf.data(), mf.data(), 3, 600, 600.0 - c));
      expect_close("var_fwd_f32 vs the f64 reference", vf, vw, 2e-5);
    }
    // Backward: mean and g of shape (1, 3, 1) broadcast to x's shape.
    std::vector<double> var(3), mean(3), g = randv<double>(rng, 3), dx(numel(s)), want(numel(s));
    LAUNCH(1, 256, var_fwd_f64(x.data(), l, var.data(), mean.data(), 3, 600, 599.0));
    for (i64 i = 0; i < numel(s); ++i) {
      i64 r = (i / 150) % 3;
      want[i] = (x[i] - mean[r]) * g[r] * (2.0 / 599.0);
    }
    View<double> mv = view(mean, {1, 3, 1}), gv = view(g, {1, 3, 1});
    LAUNCH(5, 64, var_bwd_f64(x.data(), contiguous_as(s, s), mean.data(), mv.as(s), g.data(), gv.as(s), dx.data(),
                              numel(s), 2.0 / 599.0));
    expect_close("var_bwd_f64 (mean and g broadcast)", dx, want, 1e-15);

    std::vector<double> one = {4.0, 7.0}, v2(2), m2(2);
    LAUNCH(1, 256, var_fwd_f64(one.data(), contiguous_as({2, 1}, {2, 1}), v2.data(), m2.data(), 2, 1, 0.0));
    expect_true("var_fwd_f64: one element, correction 1 -> NaN (0/0)", std::isnan(v2[0]) && m2[1] == 7.0);
    std::vector<double> two = {1.0, 3.0};
    LAUNCH(1, 256, var_fwd_f64(two.data(), contiguous_as({1, 2}, {1, 2}), v2.data(), m2.data(), 1, 2, 0.0));
    expect_true("var_fwd_f64: spread with N <= c -> +inf", std::isinf(v2[0]) && v2[0] > 0 && m2[0] == 2.0);
    LAUNCH(1, 256, var_fwd_f64(two.data(), contiguous_as({2, 0}, {2, 0}), v2.data(), m2.data(), 2, 0, 0.0));
    expect_true("var_fwd_f64: empty rows -> NaN mean and variance", std::isnan(v2[1]) && std::isnan(m2[0]));
  }
  return finish("stats");
}
