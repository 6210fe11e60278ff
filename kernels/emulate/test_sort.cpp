// Emulated run of kernels/sort.cu: sort ascending and descending, topk largest/smallest, sorted and
// unsorted, on lanes (outer, n, inner) with ties, NaN, -0.0 and 0.0, i64 data, a lane of one, k = 0,
// and the backward scatter, against std::stable_sort with the CPU op's NaN-last comparison
// (descending: the comparison swapped, equal elements in input order).
#include "cuda_shim.h"
#include "check.h"
#include "../sort.cu"
#include <algorithm>
#include <numeric>

// CPU reference: per lane, the stable order of positions; then the first k (and, unsorted, the
// chosen positions in input order).
template <typename T>
static void reference(const std::vector<T> &x, i64 outer, i64 n, i64 inner, i64 k, bool desc, bool sorted,
                      std::vector<T> &y, std::vector<i64> &idx) {
  auto nan_last = [](T a, T b) { // a < b in the NaN-largest order
    bool na = a != a, nb = b != b;
    if (na || nb) return !na && nb;
    return a < b;
  };
  y.assign(outer * k * inner, T(0));
  idx.assign(outer * k * inner, -1);
  for (i64 o = 0; o < outer; ++o)
    for (i64 r = 0; r < inner; ++r) {
      auto at = [&](i64 j) { return x[(o * n + j) * inner + r]; };
      std::vector<i64> p(n);
      std::iota(p.begin(), p.end(), 0);
      std::stable_sort(p.begin(), p.end(), [&](i64 a, i64 b) {
        return desc ? nan_last(at(b), at(a)) : nan_last(at(a), at(b));
      });
      p.resize(k);
      if (!sorted) std::sort(p.begin(), p.end());
      for (i64 j = 0; j < k; ++j) {
        y[(o * k + j) * inner + r] = at(p[j]);
        idx[(o * k + j) * inner + r] = p[j];
      }
    }
}

template <typename T, typename Rank, typename Pick>
static void check(const std::string &name, Rank rank_k, Pick pick_k, const std::vector<T> &x, i64 outer, i64 n,
                  i64 inner, i64 k, bool desc, bool sorted) {
  std::vector<T> yref, y(outer * k * inner, T(-99));
  std::vector<i64> iref, idx(outer * k * inner, -99), rank(outer * n * inner, -1);
  reference(x, outer, n, inner, k, desc, sorted, yref, iref);
  LAUNCH(3, 5, rank_k(x.data(), outer, n, inner, (int)desc, rank.data()));
  LAUNCH(2, 4, pick_k(x.data(), rank.data(), outer, n, inner, k, (int)sorted, y.data(), idx.data()));
  expect_close(name + ": values", y, yref, 0);
  expect_close(name + ": indices", idx, iref, 0);
}

int main() {
  Rng rng(9);
  const double nan = std::nan("");
  // Lanes of 9 with ties, two NaNs, -0.0 and 0.0: (outer 2, n 9, inner 3), the lane strided.
  const i64 outer = 2, n = 9, inner = 3;
  std::vector<double> x(outer * n * inner);
  for (auto &v : x) v = (double)rng.below(4) - 1.5; // many ties
  x[0] = nan, x[4 * inner] = nan, x[2 * inner] = -0.0, x[5 * inner] = 0.0, x[7 * inner] = 0.0;
  x[n * inner + 1] = nan;
  auto r64 = [](auto... a) { sort_fwd_rank_f64(a...); };
  auto p64 = [](auto... a) { sort_fwd_f64(a...); };
  check<double>("sort ascending (NaN last, stable ties, -0 == 0)", r64, p64, x, outer, n, inner, n, false, true);
  check<double>("sort descending (NaN first, ties in input order)", r64, p64, x, outer, n, inner, n, true, true);
  check<double>("topk largest k=4 sorted", r64, p64, x, outer, n, inner, 4, true, true);
  check<double>("topk smallest k=3 sorted", r64, p64, x, outer, n, inner, 3, false, true);
  check<double>("topk largest k=5 unsorted (input order)", r64, p64, x, outer, n, inner, 5, true, false);
  check<double>("topk k=0", r64, p64, x, outer, n, inner, 0, true, true);
  check<double>("sort lanes of one", r64, p64, x, outer * n, 1, inner, 1, false, true);
  {
    std::vector<float> xf(4 * 300);
    for (auto &v : xf) v = (float)rng.below(50) / 8.0f;
    xf[17] = (float)nan;
    check<float>("sort f32 lanes of 300 (many ties)", [](auto... a) { sort_fwd_rank_f32(a...); },
                 [](auto... a) { sort_fwd_f32(a...); }, xf, 4, 300, 1, 300, true, true);
    check<float>("topk f32 smallest k=7 unsorted", [](auto... a) { sort_fwd_rank_f32(a...); },
                 [](auto... a) { sort_fwd_f32(a...); }, xf, 4, 300, 1, 7, false, false);
  }
  {
    std::vector<i64> xi(3 * 8 * 2);
    for (auto &v : xi) v = rng.below(5) - 2;
    check<i64>("sort i64 descending", [](auto... a) { sort_fwd_rank_i64(a...); },
               [](auto... a) { sort_fwd_i64(a...); }, xi, 3, 8, 2, 8, true, true);
    check<i64>("topk i64 smallest k=3", [](auto... a) { sort_fwd_rank_i64(a...); },
               [](auto... a) { sort_fwd_i64(a...); }, xi, 3, 8, 2, 3, false, true);
  }
  // Backward: g (outer, k, inner) written at the source positions in zeros.
  {
    const i64 k = 4;
    std::vector<double> yref;
    std::vector<i64> iref;
    reference(x, outer, n, inner, k, true, false, yref, iref);
    auto g = randv<double>(rng, outer * k * inner);
    std::vector<double> dref(outer * n * inner, 0.0), dx(outer * n * inner, 0.0);
    for (i64 o = 0; o < outer; ++o)
      for (i64 j = 0; j < k; ++j)
        for (i64 r = 0; r < inner; ++r) {
          const i64 e = (o * k + j) * inner + r;
          dref[(o * n + iref[e]) * inner + r] += g[e];
        }
    LAUNCH(2, 3, sort_bwd_f64(g.data(), iref.data(), outer, n, inner, k, dx.data()));
    expect_close("backward: gradient at the source positions, zeros elsewhere", dx, dref, 0);
    // Indices never produced by the forward (-1, n) are skipped: their values go nowhere.
    const i64 s0 = iref[0] * inner, s1 = iref[1] * inner + 1; // lane (0, 0) and (0, 1) sources
    iref[0] = -1, iref[1] = n;
    std::vector<double> dx2(outer * n * inner, 0.0);
    LAUNCH(1, 4, sort_bwd_f64(g.data(), iref.data(), outer, n, inner, k, dx2.data()));
    dref[s0] = 0.0, dref[s1] = 0.0;
    expect_close("backward: out-of-range index skipped, the rest unchanged", dx2, dref, 0);
  }
  return finish("sort");
}
