// Small helpers shared by the emulation tests: deterministic random data, comparisons, a tally.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <string>
#include <vector>

typedef long long i64;

inline int gg_failures = 0, gg_checks = 0;

// Launch a kernel call expression as <<<grid, block>>> on the CPU.
#define LAUNCH(grid, block, call) gg_launch((grid), (block), [&] { call; })

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
  double uniform() { // in [-1, 1)
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(s >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
  }
  i64 below(i64 n) { return (i64)((uniform() + 1.0) / 2.0 * (double)n) % n; }
};

template <typename T> std::vector<T> randv(Rng &r, size_t n, double scale = 1.0) {
  std::vector<T> v(n);
  for (auto &x : v) x = (T)(r.uniform() * scale);
  return v;
}

// |got - want| <= tol * (1 + |want|) elementwise (NaN only equals NaN).
template <typename A, typename B>
void expect_close(const std::string &what, const std::vector<A> &got, const std::vector<B> &want, double tol) {
  ++gg_checks;
  if (got.size() != want.size()) {
    std::printf("FAIL %s: size %zu vs %zu\n", what.c_str(), got.size(), want.size());
    ++gg_failures;
    return;
  }
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double g = (double)got[i], w = (double)want[i];
    if (std::isnan(g) || std::isnan(w)) {
      if (std::isnan(g) != std::isnan(w)) {
        worst = INFINITY;
        at = i;
        break;
      }
      continue;
    }
    if (g == w) continue; // also equal infinities
    double e = std::fabs(g - w) / (1.0 + std::fabs(w));
    if (!(e <= worst)) worst = e, at = i;
  }
  if (worst > tol) {
    std::printf("FAIL %s: element %zu got %.17g want %.17g (rel err %.3g > %.3g)\n", what.c_str(), at,
                (double)got[at], (double)want[at], worst, tol);
    ++gg_failures;
  } else {
    std::printf("ok   %s (max rel err %.2g)\n", what.c_str(), worst);
  }
}

// Bit-identical vectors (determinism across launch shapes).
template <typename T> void expect_same(const std::string &what, const std::vector<T> &a, const std::vector<T> &b) {
  ++gg_checks;
  bool same = a.size() == b.size() &&
              (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
  std::printf("%s %s\n", same ? "ok  " : "FAIL", what.c_str());
  if (!same) ++gg_failures;
}

inline void expect_true(const std::string &what, bool ok) {
  ++gg_checks;
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++gg_failures;
}

inline int finish(const char *name) {
  std::printf("%s: %d/%d checks passed\n", name, gg_checks - gg_failures, gg_checks);
  return gg_failures ? 1 : 0;
}
