// Emulated run of logsumexp_fwd of kernels/softmax.cu against a long-double reference of
// src/ops/softmax.rs's lane_logsumexp (max shift skipped when the max is not finite): a middle
// dimension (inner > 1), lanes longer than a block (> 256), large values (no overflow), a lane of
// -inf (-inf), a lane with +inf (+inf), a NaN (NaN), an empty lane (-inf), and a smaller grid.
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

int main() {
  run<double>("f64", logsumexp_fwd_f64, 1e-14);
  run<float>("f32", logsumexp_fwd_f32, 1e-6);
  return finish("softmax");
}
