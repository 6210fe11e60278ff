// Emulated run of kernels/softmax.cu, launched as src/device/cuda/softmax.rs launches it (a
// contiguous (outer, c, inner) tensor, one block of 256 per lane, grid min(lanes, 65535)).
// logsumexp_fwd against a long-double reference of src/ops/softmax.rs's lane_logsumexp (max shift
// skipped when the max is not finite): a middle dimension (inner > 1), lanes longer than a block
// (> 256), large values (no overflow), a lane of -inf (-inf), a lane with +inf (+inf), a NaN (NaN),
// an empty lane (-inf), and a smaller grid.
// softmax_fwd / log_softmax_fwd against the long-double definition y_j = e^{x_j - m} / sum_l
// e^{x_l - m} (log: x_j - m - ln sum): lanes of 300 along a middle dimension, lanes shifted by
// +1000 and -1000 (stable), lanes of -inf (NaN, as the CPU op), with +inf or NaN (NaN), a -inf among
// finite values (0, log -inf), lanes of one (1, log 0; a 0-d tensor is one such lane). softmax_bwd /
// log_softmax_bwd (g, the forward's y) against central differences of sum_j g_j y_j(x) (f64) and
// the Jacobian product sum_j g_j dy_j/dx_i in long double (both dtypes, the special lanes too).
// Fwd and bwd give the same bits on a grid smaller than the lane count (lanes grid-strided).
#include "cuda_shim.h"
#include "check.h"
#include "../softmax.cu"

typedef long double ld;
template <typename T> std::vector<double> lse_ref(const std::vector<T> &x, i64 outer, i64 c, i64 inner) {
  std::vector<double> y(outer * inner);
  for (i64 o = 0; o < outer; ++o)
    for (i64 i = 0; i < inner; ++i) {
      ld m = -INFINITY;
      for (i64 j = 0; j < c; ++j) m = std::max(m, (ld)x[(o * c + j) * inner + i]);
      const ld shift = std::isfinite(m) ? m : 0;
      ld s = 0;
      for (i64 j = 0; j < c; ++j) s += std::exp((ld)x[(o * c + j) * inner + i] - shift);
      y[o * inner + i] = (double)(shift + std::log(s));
    }
  return y;
}

template <typename T> void run(const char *tn, void (*k)(const T *, T *, i64, i64, i64), double tol) {
  const std::string p = std::string(tn) + " logsumexp: ";
  {
    const i64 outer = 3, c = 300, inner = 4;
    Rng rng(31);
    auto x = randv<T>(rng, outer * c * inner, 5.0);
    for (i64 j = 0; j < c; ++j) x[(1 * c + j) * inner + 2] += (T)1000; // large values, one lane
    std::vector<T> y(outer * inner), y2(outer * inner);
    LAUNCH(5, 256, k(x.data(), y.data(), outer, c, inner));
    LAUNCH(12, 256, k(x.data(), y2.data(), outer, c, inner));
    expect_close(p + "(3, 300, 4) along the middle dimension, values near 1000", y, lse_ref(x, outer, c, inner), tol);
    expect_same(p + "bitwise across grids", y, y2);
  }
  {
    const T inf = (T)INFINITY;
    // Lanes of 3 along the last dimension.
    std::vector<T> x = {-inf, -inf, -inf, 1, inf, 2, 1, (T)NAN, 2, -inf, 0, (T)-1};
    std::vector<T> y(4);
    LAUNCH(2, 256, k(x.data(), y.data(), 4, 3, 1));
    const std::vector<double> want = {-INFINITY, INFINITY, NAN, (double)lse_ref(x, 4, 3, 1)[3]};
    expect_close(p + "lanes of -inf, +inf, NaN, and one -inf among finite values", y, want, tol);
    std::vector<T> e(2, (T)7);
    LAUNCH(1, 256, k(x.data(), e.data(), 2, 0, 1));
    expect_close(p + "empty lanes give -inf", e, std::vector<double>{-INFINITY, -INFINITY}, 0);
  }
}

// The long-double softmax (or log_softmax) of every lane of contiguous (outer, c, inner) x:
// m the largest non-NaN value (a NaN, a +inf or a lane of -inf then gives NaN throughout).
template <typename T> static std::vector<ld> sm_ref(const std::vector<T> &x, i64 outer, i64 c, i64 inner, bool log) {
  std::vector<ld> y(x.size());
  for (i64 o = 0; o < outer; ++o)
    for (i64 i = 0; i < inner; ++i) {
      auto at = [&](i64 j) { return (o * c + j) * inner + i; };
      ld m = -INFINITY;
      for (i64 j = 0; j < c; ++j) m = std::max(m, (ld)x[at(j)]);
      ld s = 0;
      for (i64 j = 0; j < c; ++j) s += std::exp((ld)x[at(j)] - m);
      for (i64 j = 0; j < c; ++j) y[at(j)] = log ? (ld)x[at(j)] - m - std::log(s) : std::exp((ld)x[at(j)] - m) / s;
    }
  return y;
}

// dx_i = sum_j g_j dy_j/dx_i with the Jacobian of the reference softmax p: dp_j/dx_i =
// p_j (δ_ij - p_i), d(log p_j)/dx_i = δ_ij - p_i.
template <typename T>
static std::vector<ld> jac_ref(const std::vector<T> &x, const std::vector<T> &g, i64 outer, i64 c, i64 inner, bool log) {
  const std::vector<ld> p = sm_ref(x, outer, c, inner, false);
  std::vector<ld> dx(x.size());
  for (i64 o = 0; o < outer; ++o)
    for (i64 i = 0; i < inner; ++i) {
      auto at = [&](i64 j) { return (o * c + j) * inner + i; };
      for (i64 a = 0; a < c; ++a) {
        ld s = 0;
        for (i64 j = 0; j < c; ++j) {
          const ld d = (a == j ? 1 : 0) - p[at(a)];
          s += (ld)g[at(j)] * (log ? d : p[at(j)] * d);
        }
        dx[at(a)] = s;
      }
    }
  return dx;
}

// dx_i = dL/dx_i, L = sum_j g_j y_j(x) over x_i's lane, by central differences (step 1e-6: the
// ops are shift-invariant, so the step need not grow with |x|).
template <typename T>
static std::vector<ld> fd_ref(const std::vector<T> &x, const std::vector<T> &g, i64 outer, i64 c, i64 inner, bool log) {
  std::vector<ld> dx(x.size());
  std::vector<ld> lane(c);
  const ld h = 1e-6L;
  auto loss = [&](i64 o, i64 i) { // L of lane (o, i) with `lane` as its values
    ld m = -INFINITY, s = 0, l = 0;
    for (i64 j = 0; j < c; ++j) m = std::max(m, lane[j]);
    for (i64 j = 0; j < c; ++j) s += std::exp(lane[j] - m);
    for (i64 j = 0; j < c; ++j)
      l += (ld)g[(o * c + j) * inner + i] * (log ? lane[j] - m - std::log(s) : std::exp(lane[j] - m) / s);
    return l;
  };
  for (i64 o = 0; o < outer; ++o)
    for (i64 i = 0; i < inner; ++i) {
      for (i64 a = 0; a < c; ++a) {
        for (i64 j = 0; j < c; ++j) lane[j] = (ld)x[(o * c + j) * inner + i];
        lane[a] += h;
        const ld up = loss(o, i);
        lane[a] -= 2 * h;
        dx[(o * c + a) * inner + i] = (up - loss(o, i)) / (2 * h);
      }
    }
  return dx;
}

template <typename T> struct SmKernels {
  void (*fwd)(const T *, T *, i64, i64, i64);
  void (*bwd)(const T *, const T *, T *, i64, i64, i64);
};

template <typename T, typename R> static std::vector<T> as_t(const std::vector<R> &v) {
  return std::vector<T>(v.begin(), v.end());
}

template <typename T> static void run_softmax(const char *tn, bool log, SmKernels<T> k, double tol, double btol) {
  const std::string p = std::string(tn) + (log ? " log_softmax: " : " softmax: ");
  {
    // (2, 300, 2): lanes along the middle dimension, longer than a block; lane (0, 1) shifted
    // by +1000, lane (1, 0) by -1000.
    const i64 outer = 2, c = 300, inner = 2, rows = outer * inner;
    Rng rng(log ? 71 : 73);
    auto x = randv<T>(rng, outer * c * inner, 5.0);
    for (i64 j = 0; j < c; ++j) x[(0 * c + j) * inner + 1] += (T)1000, x[(1 * c + j) * inner + 0] -= (T)1000;
    std::vector<T> y(x.size()), y2(x.size());
    LAUNCH(rows, 256, k.fwd(x.data(), y.data(), outer, c, inner));
    LAUNCH(1, 256, k.fwd(x.data(), y2.data(), outer, c, inner));
    expect_close(p + "(2, 300, 2) along the middle dimension, lanes near +1000 and -1000", y,
                 as_t<double>(sm_ref(x, outer, c, inner, log)), tol);
    expect_same(p + "forward bitwise, grid 4 vs 1", y, y2);

    auto g = randv<T>(rng, x.size(), 2.0);
    std::vector<T> dx(x.size()), dx2(x.size());
    LAUNCH(rows, 256, k.bwd(g.data(), y.data(), dx.data(), outer, c, inner));
    LAUNCH(1, 256, k.bwd(g.data(), y.data(), dx2.data(), outer, c, inner));
    expect_close(p + "backward vs the Jacobian product", dx, as_t<double>(jac_ref(x, g, outer, c, inner, log)), btol);
    if (sizeof(T) == 8)
      expect_close(p + "backward vs central differences", dx, as_t<double>(fd_ref(x, g, outer, c, inner, log)), 1e-8);
    expect_same(p + "backward bitwise, grid 4 vs 1", dx, dx2);
  }
  {
    // Lanes of 4 along the last dimension: all -inf, with +inf, with NaN, a -inf among finite
    // values.
    const T inf = (T)INFINITY, nan = (T)NAN;
    std::vector<T> x = {-inf, -inf, -inf, -inf, 1, inf, 2, 0, 1, nan, 2, 0, -inf, 0, -1, 3};
    const i64 outer = 4, c = 4;
    std::vector<T> y(x.size()), dx(x.size());
    LAUNCH(outer, 256, k.fwd(x.data(), y.data(), outer, c, 1));
    const std::vector<ld> want = sm_ref(x, outer, c, 1, log);
    expect_close(p + "lanes of -inf, with +inf, with NaN (all NaN), a -inf among finite values", y,
                 as_t<double>(want), tol);
    bool nan_lanes = true; // the reference's NaN lanes, spelled out
    for (i64 j = 0; j < 12; ++j) nan_lanes = nan_lanes && std::isnan(y[j]);
    expect_true(p + "lanes of -inf, with +inf, with NaN give NaN throughout (as the CPU op)", nan_lanes);
    expect_true(p + "a -inf among finite values gives " + (log ? "-inf" : "0"),
                log ? (std::isinf(y[12]) && y[12] < 0) : y[12] == 0);
    std::vector<T> g = {1, -2, 0.5, 3, 1, -2, 0.5, 3, 1, -2, 0.5, 3, 1, -2, 0.5, 3};
    LAUNCH(outer, 256, k.bwd(g.data(), y.data(), dx.data(), outer, c, 1));
    expect_close(p + "backward of those lanes vs the Jacobian product (NaN lanes NaN)", dx,
                 as_t<double>(jac_ref(x, g, outer, c, 1, log)), btol);
  }
  {
    // Lanes of one, (1, 1, 2) (a 0-d tensor is the lane (1, 1, 1)): y = 1 (log 0), NaN for +inf
    // (inf - inf); the gradient is 0.
    std::vector<T> x = {-1000, (T)INFINITY}, y(2), g = {2, -1}, dx(2);
    LAUNCH(2, 256, k.fwd(x.data(), y.data(), 1, 1, 2));
    LAUNCH(2, 256, k.bwd(g.data(), y.data(), dx.data(), 1, 1, 2));
    const T one = log ? (T)0 : (T)1;
    expect_close(p + "lanes of one (1, 1, 2): " + (log ? "0" : "1") + ", NaN for +inf", y, std::vector<T>{one, (T)NAN}, 0);
    expect_close(p + "lanes of one: zero gradient (NaN for +inf)", dx, std::vector<double>{0, NAN}, 0);
  }
}

int main() {
  run<double>("f64", logsumexp_fwd_f64, 1e-14);
  run<float>("f32", logsumexp_fwd_f32, 1e-6);
  run_softmax<double>("f64", false, {softmax_fwd_f64, softmax_bwd_f64}, 1e-14, 1e-14);
  run_softmax<double>("f64", true, {log_softmax_fwd_f64, log_softmax_bwd_f64}, 1e-14, 1e-14);
  run_softmax<float>("f32", false, {softmax_fwd_f32, softmax_bwd_f32}, 1e-6, 1e-6);
  run_softmax<float>("f32", true, {log_softmax_fwd_f32, log_softmax_bwd_f32}, 1e-6, 1e-6);
  return finish("softmax");
}
