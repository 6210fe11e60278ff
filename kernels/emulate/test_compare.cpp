// Emulated run of kernels/compare.cu: comparisons (tensor and scalar, every dtype), logical ops,
// where, masked_fill, maximum/minimum forward and backward, on broadcast and transposed layouts
// with ties, NaN and signed zeros, against direct loops over multi-indices.
#include "cuda_shim.h"
#include "check.h"
#include "../compare.cu"
#include "layout.h"

static const char *OPS[6] = {"eq", "ne", "lt", "le", "gt", "ge"};

// The comparison written out per op (IEEE: every ordered comparison with NaN is false).
template <typename T> static bool ref_compare(T a, T b, int op) {
  if (op == 0) return a == b;
  if (op == 1) return !(a == b);
  if (op == 2) return b > a;
  if (op == 3) return b >= a;
  if (op == 4) return b < a;
  return b <= a;
}

// z = the larger (smaller) of a and b, a NaN on either side propagating (a's first), b on a tie.
template <typename T> static T ref_extreme(T a, T b, bool largest) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return b;
  return (largest ? a > b : a < b) ? a : b;
}

// The weight of a's gradient: 1 (a strictly better, or a NaN on either side), ½ (tie), 0.
template <typename T> static T ref_weight(T a, T b, bool largest) {
  if (a != a || b != b) return T(1);
  if (a == b) return T(0.5);
  return (largest ? a > b : a < b) ? T(1) : T(0);
}

int main() {
  Rng rng(5);
  const Dims out = {2, 3, 4};
  const i64 n = numel(out);
  // a: a (4, 3, 2) buffer read transposed as (2, 3, 4); b: (3, 1) broadcast; values on a coarse
  // grid so that ties are common, with NaN and ±0 planted.
  std::vector<double> abuf(n), bbuf(3);
  for (auto &v : abuf) v = (double)rng.below(5) - 2.0;
  for (auto &v : bbuf) v = (double)rng.below(5) - 2.0;
  abuf[3] = NAN, abuf[10] = -0.0, bbuf[1] = 0.0, bbuf[2] = NAN;
  View<double> a{abuf.data(), {2, 3, 4}, {1, 2, 6}, 0}, b = view(bbuf, {3, 1});

  for (int op = 0; op < 6; ++op) {
    std::vector<u8> y(n, 7), want(n);
    for (i64 i = 0; i < n; ++i) want[i] = ref_compare(a.at(unravel(i, out)), b.at(unravel(i, out)), op);
    LAUNCH(3, 5, compare_fwd_f64(abuf.data(), a.as(out), bbuf.data(), b.as(out), y.data(), n, op));
    expect_close(std::string("compare_fwd_f64 ") + OPS[op] + " (transposed vs broadcast, NaN, ±0)", y, want, 0);
  }
  {
    std::vector<float> af(abuf.begin(), abuf.end()), bf(bbuf.begin(), bbuf.end());
    View<float> av{af.data(), a.shape, a.strides, 0}, bv = view(bf, {3, 1});
    std::vector<u8> y(n), want(n);
    for (i64 i = 0; i < n; ++i) want[i] = ref_compare(av.at(unravel(i, out)), bv.at(unravel(i, out)), 3);
    LAUNCH(2, 7, compare_fwd_f32(af.data(), av.as(out), bf.data(), bv.as(out), y.data(), n, 3));
    expect_close("compare_fwd_f32 le", y, want, 0);
  }
  {
    std::vector<i64> ai(n), bi(4);
    for (auto &v : ai) v = rng.below(4);
    for (auto &v : bi) v = rng.below(4);
    View<i64> av = view(ai, out), bv = view(bi, {4});
    for (int op = 0; op < 6; ++op) {
      std::vector<u8> y(n), want(n);
      for (i64 i = 0; i < n; ++i) want[i] = ref_compare(av.at(unravel(i, out)), bv.at(unravel(i, out)), op);
      LAUNCH(1, 9, compare_fwd_i64(ai.data(), av.as(out), bi.data(), bv.as(out), y.data(), n, op));
      expect_close(std::string("compare_fwd_i64 ") + OPS[op] + " (broadcast last dim)", y, want, 0);
    }
    std::vector<u8> ab(n), bb(1, 1), y(n), want(n);
    for (i64 i = 0; i < n; ++i) ab[i] = ai[i] & 1;
    for (i64 i = 0; i < n; ++i) want[i] = ab[i] != 1;
    LAUNCH(2, 4, compare_fwd_u8(ab.data(), view(ab, out).as(out), bb.data(), view(bb, {}).as(out), y.data(), n, 1));
    expect_close("compare_fwd_u8 ne against a 0-d bool", y, want, 0);

    // Scalars: i64 exact (v = 2) and promoted to f64 (v = 1.5); bool in f64; f32 rounds v first.
    std::vector<u8> y2(n), w2(n);
    for (i64 i = 0; i < n; ++i) w2[i] = ai[i] >= 2, y2[i] = 9;
    LAUNCH(2, 4, compare_scalar_fwd_i64(ai.data(), view(ai, out).as(out), y2.data(), n, 5, 2.0, 0));
    expect_close("compare_scalar_fwd_i64 ge 2 (exact in i64)", y2, w2, 0);
    for (i64 i = 0; i < n; ++i) w2[i] = (double)ai[i] < 1.5;
    LAUNCH(2, 4, compare_scalar_fwd_i64(ai.data(), view(ai, out).as(out), y2.data(), n, 2, 1.5, 1));
    expect_close("compare_scalar_fwd_i64 lt 1.5 (in f64)", y2, w2, 0);
    for (i64 i = 0; i < n; ++i) w2[i] = ab[i] == 1;
    LAUNCH(2, 4, compare_scalar_fwd_u8(ab.data(), view(ab, out).as(out), y2.data(), n, 0, 1.0, 1));
    expect_close("compare_scalar_fwd_u8 eq 1", y2, w2, 0);
  }
  {
    std::vector<float> xf = {0.1f, 0.2f, NAN, -0.0f, 0.30000001f};
    std::vector<u8> y(5), want = {1, 0, 0, 0, 0};
    LAUNCH(1, 2, compare_scalar_fwd_f32(xf.data(), view(xf, {5}).as({5}), y.data(), 5, 0, 0.1, 0));
    expect_close("compare_scalar_fwd_f32 eq 0.1 (v rounded to f32; NaN false)", y, want, 0);
    want = {0, 1, 1, 1, 1};
    LAUNCH(1, 2, compare_scalar_fwd_f32(xf.data(), view(xf, {5}).as({5}), y.data(), 5, 1, 0.1, 0));
    expect_close("compare_scalar_fwd_f32 ne 0.1 (NaN true)", y, want, 0);
    std::vector<double> xd = {0.0, -0.0, NAN, 1.0};
    std::vector<u8> yd(4), wd = {1, 1, 0, 1};
    LAUNCH(1, 3, compare_scalar_fwd_f64(xd.data(), view(xd, {4}).as({4}), yd.data(), 4, 5, 0.0, 0));
    expect_close("compare_scalar_fwd_f64 ge 0 (-0 = 0, NaN false)", yd, wd, 0);
  }

  // Logical ops, the second operand broadcast.
  {
    std::vector<u8> p(n), q(3), y(n), want(n);
    for (auto &v : p) v = rng.below(2);
    q = {1, 0, 1};
    View<u8> pv = view(p, out), qv = view(q, {3, 1});
    for (i64 i = 0; i < n; ++i) want[i] = !p[i];
    LAUNCH(2, 5, logical_not_fwd_u8(p.data(), pv.as(out), y.data(), n));
    expect_close("logical_not_fwd_u8", y, want, 0);
    for (i64 i = 0; i < n; ++i) want[i] = pv.at(unravel(i, out)) && qv.at(unravel(i, out));
    LAUNCH(2, 5, logical_and_fwd_u8(p.data(), pv.as(out), q.data(), qv.as(out), y.data(), n));
    expect_close("logical_and_fwd_u8 (broadcast)", y, want, 0);
    for (i64 i = 0; i < n; ++i) want[i] = pv.at(unravel(i, out)) || qv.at(unravel(i, out));
    LAUNCH(2, 5, logical_or_fwd_u8(p.data(), pv.as(out), q.data(), qv.as(out), y.data(), n));
    expect_close("logical_or_fwd_u8 (broadcast)", y, want, 0);
  }

  // where: cond (3, 1), x transposed (2, 3, 4), y 0-d.
  {
    std::vector<u8> c = {1, 0, 1};
    std::vector<double> yv = {-7.5}, z(n), want(n);
    View<u8> cv = view(c, {3, 1});
    View<double> y0 = view(yv, {});
    for (i64 i = 0; i < n; ++i) {
      Dims ix = unravel(i, out);
      want[i] = cv.at(ix) ? a.at(ix) : y0.at(ix);
    }
    LAUNCH(3, 3, where_fwd_f64(c.data(), cv.as(out), abuf.data(), a.as(out), yv.data(), y0.as(out), z.data(), n));
    expect_close("where_fwd_f64 (cond broadcast, x transposed, y 0-d)", z, want, 0);
    std::vector<i64> xi(4), yi(n), zi(n), wi(n);
    for (auto &v : xi) v = rng.below(100);
    for (auto &v : yi) v = -rng.below(100);
    View<i64> xv = view(xi, {4}), yvw = view(yi, out);
    for (i64 i = 0; i < n; ++i) {
      Dims ix = unravel(i, out);
      wi[i] = cv.at(ix) ? xv.at(ix) : yvw.at(ix);
    }
    LAUNCH(1, 8, where_fwd_i64(c.data(), cv.as(out), xi.data(), xv.as(out), yi.data(), yvw.as(out), zi.data(), n));
    expect_close("where_fwd_i64", zi, wi, 0);
  }

  // masked_fill: mask (2, 1, 4) broadcast over a (2, 3, 4) f32 tensor.
  {
    std::vector<u8> m(8);
    for (auto &v : m) v = rng.below(2);
    auto x = randv<float>(rng, n);
    std::vector<float> z(n), want(n);
    View<u8> mv = view(m, {2, 1, 4});
    View<float> xv = view(x, out);
    for (i64 i = 0; i < n; ++i) want[i] = mv.at(unravel(i, out)) ? -1e9f : x[i];
    LAUNCH(2, 6, masked_fill_fwd_f32(m.data(), mv.as(out), x.data(), xv.as(out), z.data(), n, -1e9f));
    expect_close("masked_fill_fwd_f32 (mask broadcast)", z, want, 0);
  }

  // maximum / minimum with ties, NaN on either side and ±0; backward weights; both dtypes.
  for (int largest = 1; largest >= 0; --largest) {
    const char *name = largest ? "maximum" : "minimum";
    std::vector<double> z(n), want(n), g = randv<double>(rng, n), da(n), dwant(n), db(n), dbw(n);
    for (i64 i = 0; i < n; ++i) {
      Dims ix = unravel(i, out);
      want[i] = ref_extreme(a.at(ix), b.at(ix), largest);
      dwant[i] = g[i] * ref_weight(a.at(ix), b.at(ix), largest);
      dbw[i] = g[i] * ref_weight(b.at(ix), a.at(ix), largest);
    }
    if (largest) {
      LAUNCH(2, 5, maximum_fwd_f64(abuf.data(), a.as(out), bbuf.data(), b.as(out), z.data(), n));
      LAUNCH(2, 5, maximum_bwd_f64(abuf.data(), a.as(out), bbuf.data(), b.as(out), g.data(), da.data(), n));
      LAUNCH(1, 4, maximum_bwd_f64(bbuf.data(), b.as(out), abuf.data(), a.as(out), g.data(), db.data(), n));
    } else {
      LAUNCH(2, 5, minimum_fwd_f64(abuf.data(), a.as(out), bbuf.data(), b.as(out), z.data(), n));
      LAUNCH(2, 5, minimum_bwd_f64(abuf.data(), a.as(out), bbuf.data(), b.as(out), g.data(), da.data(), n));
      LAUNCH(1, 4, minimum_bwd_f64(bbuf.data(), b.as(out), abuf.data(), a.as(out), g.data(), db.data(), n));
    }
    // Signed zeros: the tie takes b's value, so compare bit patterns through 1/z where z = 0.
    bool zeros_ok = true;
    for (i64 i = 0; i < n; ++i) {
      Dims ix = unravel(i, out);
      if (z[i] == 0 && a.at(ix) == b.at(ix)) zeros_ok &= std::signbit(z[i]) == std::signbit(b.at(ix));
    }
    expect_close(std::string(name) + "_fwd_f64 (NaN propagates, ties)", z, want, 0);
    expect_true(std::string(name) + "_fwd_f64: a tie of ±0 takes b's zero", zeros_ok);
    expect_close(std::string(name) + "_bwd_f64 wrt a (½ on ties, 1 to both at NaN)", da, dwant, 0);
    expect_close(std::string(name) + "_bwd_f64 wrt b", db, dbw, 0);
  }
  {
    std::vector<float> af = {1, 2, NAN, 3, -1}, bf = {1, NAN, 2, 2, 4}, z(5), g = {1, 2, 3, 4, 5}, d(5);
    std::vector<float> want = {1, NAN, NAN, 3, 4}, dw = {0.5f, 2, 3, 4, 0};
    LAUNCH(1, 2, maximum_fwd_f32(af.data(), view(af, {5}).as({5}), bf.data(), view(bf, {5}).as({5}), z.data(), 5));
    LAUNCH(1, 2, maximum_bwd_f32(af.data(), view(af, {5}).as({5}), bf.data(), view(bf, {5}).as({5}), g.data(), d.data(), 5));
    expect_close("maximum_fwd_f32 by hand", z, want, 0);
    expect_close("maximum_bwd_f32 by hand", d, dw, 0);
    std::vector<i64> ai = {3, -2, 5}, bi = {3, 4, -9}, zi(3), wi = {3, -2, -9};
    LAUNCH(1, 2, minimum_fwd_i64(ai.data(), view(ai, {3}).as({3}), bi.data(), view(bi, {3}).as({3}), zi.data(), 3));
    expect_close("minimum_fwd_i64 by hand", zi, wi, 0);
  }
  return finish("compare");
}
