// Emulated run of kernels/index.cu: gather (strided input, index larger than the input along d,
// repeated indices), index_select as the gather with a broadcast index, index_select's CSR
// backward, scatter_add (strided input, src larger than the index, repeated destinations, i64,
// an empty index), one_hot, out-of-range values never read, and launch-shape independence, each
// against direct loops over coordinates (the CPU op's formulas).
#include "cuda_shim.h"
#include "check.h"
#include "../index.cu"
#include <algorithm>
#include <array>

// A Layout of `shape` with element `strides` and `offset`.
static Layout mk(std::vector<i64> shape, std::vector<i64> strides, i64 offset = 0) {
  Layout l{};
  l.ndim = (int)shape.size();
  for (int k = 0; k < GG_MAX_DIMS; ++k) l.shape[k] = 1, l.strides[k] = 0;
  for (size_t k = 0; k < shape.size(); ++k) l.shape[k] = shape[k], l.strides[k] = strides[k];
  l.offset = offset;
  return l;
}
static std::vector<i64> row_major(const std::vector<i64> &s) {
  std::vector<i64> r(s.size(), 1);
  for (int k = (int)s.size() - 2; k >= 0; --k) r[k] = r[k + 1] * s[k + 1];
  return r;
}
static i64 numel(const std::vector<i64> &s) {
  i64 n = 1;
  for (i64 v : s) n *= v;
  return n;
}
// Row-major coordinates of e in shape s.
static std::vector<i64> coords(i64 e, const std::vector<i64> &s) {
  std::vector<i64> c(s.size());
  for (int k = (int)s.size() - 1; k >= 0; --k) c[k] = e % s[k], e /= s[k];
  return c;
}
static i64 dot(const std::vector<i64> &c, const std::vector<i64> &st, i64 off = 0) {
  for (size_t k = 0; k < c.size(); ++k) off += c[k] * st[k];
  return off;
}

// The host's CSR for scatter_add: keys in the grid `ks` (index shape with x's size along d),
// sources (row-major positions in the index) ascending per key.
static void scatter_csr(const std::vector<i64> &idx, const std::vector<i64> &is, const std::vector<i64> &ks, int d,
                        std::vector<i64> &row_ptr, std::vector<i64> &pos) {
  const i64 nk = numel(ks);
  auto kst = row_major(ks);
  std::vector<std::pair<i64, i64>> kp;
  for (i64 e = 0; e < (i64)idx.size(); ++e) {
    auto c = coords(e, is);
    c[d] = idx[e];
    kp.push_back({dot(c, kst), e});
  }
  std::stable_sort(kp.begin(), kp.end(), [](auto a, auto b) { return a.first < b.first; });
  row_ptr.assign(nk + 1, 0);
  pos.clear();
  for (auto [k, e] : kp) row_ptr[k + 1]++, pos.push_back(e);
  for (i64 k = 0; k < nk; ++k) row_ptr[k + 1] += row_ptr[k];
}

template <typename T, typename Launch>
static void check_scatter(const char *name, Launch launch, const std::vector<i64> &xs, const std::vector<i64> &xst,
                          i64 xoff, const std::vector<i64> &is, const std::vector<i64> &idx, const std::vector<i64> &ss,
                          int d, Rng &rng) {
  i64 xbuf = xoff + 1;
  for (size_t k = 0; k < xs.size(); ++k) xbuf += (xs[k] - 1) * xst[k];
  std::vector<T> x(xbuf), src(numel(ss));
  for (auto &v : x) v = (T)(rng.uniform() * 8);
  for (auto &v : src) v = (T)(rng.uniform() * 8);
  // Reference: y = x (read through its strides), then += src in the index's row-major order.
  std::vector<T> yref(numel(xs));
  auto xsr = row_major(xs), ssr = row_major(ss);
  for (i64 e = 0; e < numel(xs); ++e) yref[e] = x[dot(coords(e, xs), xst, xoff)];
  for (i64 e = 0; e < (i64)idx.size(); ++e) {
    auto c = coords(e, is);
    T s = src[dot(c, ssr)];
    c[d] = idx[e];
    yref[dot(c, xsr)] += s;
  }
  std::vector<i64> ks = is, row_ptr, pos;
  ks[d] = xs[d];
  scatter_csr(idx, is, ks, d, row_ptr, pos);
  std::vector<T> y(numel(xs), (T)-99), y2(numel(xs), (T)-77);
  Layout lx = mk(xs, xst, xoff), ls = mk(is, ssr), lk = mk(ks, row_major(ks));
  const i64 n = numel(xs);
  LAUNCH(3, 4, launch(x.data(), lx, src.data(), ls, lk, row_ptr.data(), pos.data(), y.data(), n));
  LAUNCH(1, 7, launch(x.data(), lx, src.data(), ls, lk, row_ptr.data(), pos.data(), y2.data(), n));
  expect_close(std::string(name) + ": values (same order of additions: exact)", y, yref, 0);
  expect_same(std::string(name) + ": launch shape does not change a bit", y, y2);
}

int main() {
  Rng rng(5);
  // ---- gather: x (3, 4, 5) as a transposed view of a (5, 4, 3) buffer at offset 2; d = 1;
  // index (2, 6, 4): larger than x along d, smaller elsewhere, repeats.
  {
    const std::vector<i64> xs = {3, 4, 5}, xst = {1, 3, 12}, is = {2, 6, 4};
    const i64 off = 2, d = 1;
    auto x = randv<double>(rng, 2 + 60);
    std::vector<i64> idx(numel(is));
    for (auto &v : idx) v = rng.below(xs[d]);
    std::vector<double> yref(numel(is)), y(numel(is), -9), y2(numel(is), -9);
    for (i64 e = 0; e < numel(is); ++e) {
      auto c = coords(e, is);
      c[d] = idx[e];
      yref[e] = x[dot(c, xst, off)];
    }
    std::vector<i64> st0 = xst;
    st0[d] = 0;
    Layout lx = mk(is, st0, off), li = mk(is, row_major(is));
    LAUNCH(2, 5, gather_fwd_f64(x.data(), lx, xst[d], xs[d], idx.data(), li, y.data(), numel(is)));
    LAUNCH(1, 3, gather_fwd_f64(x.data(), lx, xst[d], xs[d], idx.data(), li, y2.data(), numel(is)));
    expect_close("gather f64: strided x, index larger along d", y, yref, 0);
    expect_same("gather: launch shape does not change a bit", y, y2);
    // i64 and bool (u8) data through the same kernel.
    std::vector<i64> xi(62), yi(numel(is)), yiref(numel(is));
    for (size_t k = 0; k < xi.size(); ++k) xi[k] = (i64)k * 7 - 100;
    for (i64 e = 0; e < numel(is); ++e) {
      auto c = coords(e, is);
      c[d] = idx[e];
      yiref[e] = xi[dot(c, xst, off)];
    }
    LAUNCH(2, 4, gather_fwd_i64(xi.data(), lx, xst[d], xs[d], idx.data(), li, yi.data(), numel(is)));
    expect_close("gather i64", yi, yiref, 0);
    // Out of range (never after the host's checks): reads nothing, writes 0.
    std::vector<i64> bad(numel(is), 1);
    bad[0] = -1, bad[5] = 4, bad[7] = 1000000;
    std::vector<float> xf(62, 3.0f), yf(numel(is), -9.0f);
    LAUNCH(1, 8, gather_fwd_f32(xf.data(), lx, xst[d], xs[d], bad.data(), li, yf.data(), numel(is)));
    expect_true("gather: out-of-range index reads as 0", yf[0] == 0 && yf[5] == 0 && yf[7] == 0 && yf[1] == 3.0f);
  }
  // ---- index_select: x (3, 4, 5) contiguous, d = 2, idx = [4, 0, 4, 1] broadcast as (3, 4, 4).
  {
    const std::vector<i64> xs = {3, 4, 5}, idx = {4, 0, 4, 1};
    const int d = 2;
    const std::vector<i64> ys = {3, 4, 4};
    auto x = randv<float>(rng, 60);
    std::vector<float> y(48), yref(48);
    for (i64 e = 0; e < 48; ++e) {
      auto c = coords(e, ys);
      c[d] = idx[c[d]];
      yref[e] = x[dot(c, row_major(xs))];
    }
    auto xst = row_major(xs);
    std::vector<i64> st0 = xst;
    st0[d] = 0;
    Layout lx = mk(ys, st0), li = mk(ys, {0, 0, 1});
    LAUNCH(2, 8, gather_fwd_f32(x.data(), lx, xst[d], xs[d], idx.data(), li, y.data(), 48));
    expect_close("index_select f32 (gather with a broadcast index)", y, yref, 0);
    std::vector<unsigned char> xb(60), yb(48), ybref(48);
    for (size_t k = 0; k < 60; ++k) xb[k] = (unsigned char)(k % 3 == 0);
    for (i64 e = 0; e < 48; ++e) {
      auto c = coords(e, ys);
      c[d] = idx[c[d]];
      ybref[e] = xb[dot(c, xst)];
    }
    LAUNCH(1, 5, gather_fwd_u8(xb.data(), lx, xst[d], xs[d], idx.data(), li, yb.data(), 48));
    expect_close("index_select bool (u8)", yb, ybref, 0);
  }
  // ---- index_select backward: (outer 3, n 6, inner 4), m = 7 with repeats and untouched rows.
  {
    const i64 outer = 3, n = 6, inner = 4;
    const std::vector<i64> idx = {2, 5, 2, 0, 5, 2, 3};
    const i64 m = (i64)idx.size();
    auto g = randv<double>(rng, outer * m * inner);
    std::vector<double> ref(outer * n * inner, 0.0), dx(outer * n * inner, -9);
    for (i64 k = 0; k < m; ++k)
      for (i64 o = 0; o < outer; ++o)
        for (i64 r = 0; r < inner; ++r) ref[(o * n + idx[k]) * inner + r] += g[(o * m + k) * inner + r];
    std::vector<i64> row_ptr(n + 1, 0), pos;
    for (i64 i = 0; i < n; ++i) {
      for (i64 k = 0; k < m; ++k)
        if (idx[k] == i) pos.push_back(k);
      row_ptr[i + 1] = (i64)pos.size();
    }
    LAUNCH(3, 5, index_select_bwd_f64(outer, n, inner, row_ptr.data(), pos.data(), g.data(), m, dx.data()));
    expect_close("index_select backward: slices summed in index order, untouched rows 0", dx, ref, 0);
  }
  // ---- scatter_add: x (4, 3, 5) strided (a (5, 3, 4) buffer transposed, offset 1), d = 0,
  // index (6, 2, 4) (larger than x along d, smaller elsewhere), src (7, 3, 5) (only the corner).
  {
    std::vector<i64> idx(6 * 2 * 4);
    for (auto &v : idx) v = rng.below(4);
    idx[0] = idx[8] = idx[16] = 2; // repeated destination in one lane
    check_scatter<double>("scatter_add f64 strided, repeats, src corner",
                          [](auto... a) { scatter_add_fwd_f64(a...); }, {4, 3, 5}, {1, 4, 12}, 1, {6, 2, 4}, idx,
                          {7, 3, 5}, 0, rng);
    check_scatter<float>("scatter_add f32 along the last dim",
                         [](auto... a) { scatter_add_fwd_f32(a...); }, {3, 4, 5}, {20, 5, 1}, 0, {3, 4, 9},
                         [&] {
                           std::vector<i64> v(3 * 4 * 9);
                           for (auto &e : v) e = rng.below(5);
                           return v;
                         }(),
                         {3, 4, 9}, 2, rng);
    check_scatter<i64>("scatter_add i64 middle dim",
                       [](auto... a) { scatter_add_fwd_i64(a...); }, {2, 5, 3}, {15, 3, 1}, 0, {2, 7, 2},
                       [&] {
                         std::vector<i64> v(2 * 7 * 2);
                         for (auto &e : v) e = rng.below(5);
                         return v;
                       }(),
                       {2, 7, 3}, 1, rng);
    check_scatter<double>("scatter_add with an empty index (y = x)",
                          [](auto... a) { scatter_add_fwd_f64(a...); }, {3, 4}, {4, 1}, 0, {0, 4}, {}, {0, 4}, 0,
                          rng);
    // gather's backward: scatter_add of g into zeros, with 1-D shapes.
    check_scatter<double>("scatter_add 1-D (gather backward shape)",
                          [](auto... a) { scatter_add_fwd_f64(a...); }, {5}, {1}, 0, {9},
                          {4, 4, 0, 1, 4, 0, 3, 3, 4}, {9}, 0, rng);
  }
  // ---- one_hot
  {
    const std::vector<i64> idx = {2, 0, 3, 3, 1}, bad = {1, -1, 4};
    const i64 c = 4;
    std::vector<float> y(5 * c), ref(5 * c, 0.0f);
    for (size_t r = 0; r < idx.size(); ++r) ref[r * c + idx[r]] = 1.0f;
    LAUNCH(2, 3, one_hot_fwd_f32(idx.data(), 5, c, y.data()));
    expect_close("one_hot f32", y, ref, 0);
    std::vector<unsigned char> yb(3 * c, 9);
    LAUNCH(1, 4, one_hot_fwd_u8(bad.data(), 3, c, yb.data()));
    expect_true("one_hot: out-of-range rows all zero, no write outside",
                yb[1] == 1 && std::count(yb.begin(), yb.end(), 1) == 1 && std::count(yb.begin(), yb.end(), 0) == 11);
  }
  return finish("index");
}
