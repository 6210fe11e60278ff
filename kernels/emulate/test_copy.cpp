// Emulated run of kernels/copy.cu, launched as src/device/cuda/copy.rs (and index.rs's cat and
// place_in_corner) launch it: block 256, grid ceil(n / 256). copy_fwd (`contiguous`) of every
// dtype from a transposed narrowed view, a permuted 3-D view with an offset, broadcast views
// (stride 0, as `broadcast_to`) and a 0-d view, bit for bit (NaN, -0 kept); copy_into as
// pad_narrow (a fill of zeros, then the window of a narrowed dimension; strided source), as cat
// (three sources, one transposed, one broadcast; i64 and bool) and as place_in_corner; fill_fwd of
// every dtype (f32 rounding of 0.1, NaN, -0, bool as 0/1); the nine casts on strided inputs
// against hand-written values (f64 -> f32 ties to even, overflow to inf, i64 -> f32 rounded once,
// floats -> i64 truncated toward zero); a grid of one block gives the host grid's bits.
// Not emulated: float -> i64 of NaN, ±inf or out-of-range values (the GPU saturates as Rust's
// `as` does; x86 under g++ gives INT64_MIN). n = 0 is never launched (the host skips it).
#include "cuda_shim.h"
#include "check.h"
#include "../copy.cu"
#include "layout.h"
#include <algorithm>
#include <type_traits>

typedef unsigned char u8;
static unsigned host_grid(i64 n) { return (unsigned)std::clamp<i64>((n + 255) / 256, 1, 1 << 20); }

template <typename T, typename A, typename B, typename C, typename D> static auto pick(A a, B b, C c, D d) {
  if constexpr (std::is_same_v<T, float>) return a;
  else if constexpr (std::is_same_v<T, double>) return b;
  else if constexpr (std::is_same_v<T, i64>) return c;
  else return d;
}
#define KP(name) pick<T>(name##_f32, name##_f64, name##_i64, name##_u8)

// A buffer of n values of T: small integers (every dtype), NaN and -0 planted in the floats.
template <typename T> static std::vector<T> values(Rng &rng, size_t n) {
  std::vector<T> v(n);
  for (auto &e : v) e = std::is_same_v<T, u8> ? (T)rng.below(2) : (T)(rng.below(2001) - 1000);
  if constexpr (std::is_floating_point_v<T>) {
    for (size_t i = 0; i < n; i += 3) v[i] = (T)(rng.uniform() * 100);
    v[5 % n] = (T)NAN, v[6 % n] = (T)-0.0, v[7 % n] = (T)INFINITY;
  }
  return v;
}

template <typename T> static std::vector<T> gather(const View<T> &v) {
  std::vector<T> out(numel(v.shape));
  for (i64 i = 0; i < (i64)out.size(); ++i) out[i] = v.at(unravel(i, v.shape));
  return out;
}

template <typename T> static void check_copy(Rng &rng, const std::string &dt) {
  std::vector<T> buf = values<T>(rng, 250), row = values<T>(rng, 5), col = values<T>(rng, 43);
  struct Case {
    std::string what;
    View<T> v;
  };
  const std::vector<Case> cases = {
      {"transposed (5, 50) narrowed to (43, 5), offset 3", View<T>{buf.data(), {43, 5}, {1, 50}, 3}},
      // (4, 6, 10) permuted to (10, 4, 6), then narrowed to 3 of the 6 from 2
      {"(4, 6, 10) permuted (2, 0, 1), narrowed: (10, 4, 3), offset 20", View<T>{buf.data(), {10, 4, 3}, {1, 60, 10}, 20}},
      {"(5) broadcast to (43, 5) (stride 0)", View<T>{row.data(), {43, 5}, {0, 1}, 0}},
      {"(43, 1) broadcast to (43, 5)", View<T>{col.data(), {43, 5}, {1, 0}, 0}},
      {"0-d view of element 7", View<T>{buf.data(), {}, {}, 7}},
  };
  for (const Case &c : cases) {
    const i64 n = numel(c.v.shape);
    std::vector<T> y(n, (T)3);
    LAUNCH(host_grid(n), 256, KP(copy_fwd)(c.v.p, c.v.as(c.v.shape), y.data(), n));
    expect_same("copy_fwd_" + dt + ": " + c.what + " (bitwise)", y, gather(c.v));
  }
}

// fill_fwd: n = 301 (a second block with 45), the host grid and one block.
template <typename T> static void check_fill(const std::string &dt, const std::string &label, double v, T want) {
  const i64 n = 301;
  std::vector<T> y(n, (T)3), y1(n, (T)5);
  LAUNCH(host_grid(n), 256, KP(fill_fwd)(y.data(), n, v));
  LAUNCH(1, 256, KP(fill_fwd)(y1.data(), n, v));
  expect_close("fill_fwd_" + dt + "(" + label + "): 301 elements", y, std::vector<T>(n, want), 0);
  if constexpr (std::is_floating_point_v<T>) {
    bool signs = true; // -0 kept (equal to 0 above)
    for (T e : y) signs = signs && std::signbit(e) == std::signbit(want);
    expect_true("fill_fwd_" + dt + "(" + label + "): sign bits", signs);
  }
  expect_same("fill_fwd_" + dt + "(" + label + "): grid 2 vs 1 bitwise", y, y1);
}

// pad_narrow: zeros of (4, 9, 5) (fill_fwd), g (4, 4, 5) written at 3..7 along dimension 1; g is
// read through a transposed layout ((5, 4, 4) buffer permuted).
template <typename T> static void check_pad_narrow(Rng &rng, const std::string &dt) {
  const Dims full = {4, 9, 5}, gs = {4, 4, 5}, fs = row_major(full);
  std::vector<T> gbuf = values<T>(rng, 80), out(180, (T)7);
  const View<T> g{gbuf.data(), gs, {1, 4, 16}, 0}; // gbuf as (5, 4, 4) read transposed
  LAUNCH(host_grid(180), 256, KP(fill_fwd)(out.data(), 180, 0.0));
  // The window: out.narrowed(1, 3, 4).layout_as(g.shape): offset 3 * 5, out's strides.
  const Layout ly = layout_as(gs, fs, gs, 3 * fs[1]);
  LAUNCH(host_grid(80), 256, KP(copy_into)(gbuf.data(), g.as(gs), out.data(), ly, 80));
  std::vector<T> want(180, (T)0);
  for (i64 a = 0; a < 4; ++a)
    for (i64 b = 0; b < 4; ++b)
      for (i64 c = 0; c < 5; ++c) want[(a * 9 + 3 + b) * 5 + c] = g.at({a, b, c});
  expect_same("copy_into_" + dt + ": pad_narrow of a transposed g into zeros (4, 9, 5), dim 1, 3..7", out, want);
}

// cat along dimension 1 of (3, 2), (3, 4) transposed, (3, 1) broadcast from 0-d: (3, 7), every
// element written by exactly one copy_into (the output starts as garbage).
template <typename T> static void check_cat(Rng &rng, const std::string &dt) {
  const Dims out_s = {3, 7}, os = row_major(out_s);
  std::vector<T> a = values<T>(rng, 6), b = values<T>(rng, 12), c = values<T>(rng, 1), out(21, (T)99);
  const View<T> va = view(a, {3, 2}), vb{b.data(), {3, 4}, {1, 3}, 0}, vc{c.data(), {3, 1}, {0, 0}, 0};
  i64 off = 0;
  for (const View<T> *v : {&va, &vb, &vc}) {
    const i64 n = numel(v->shape);
    const Layout ly = layout_as(v->shape, os, v->shape, off * os[1]);
    LAUNCH(host_grid(n), 256, KP(copy_into)(v->p, v->as(v->shape), out.data(), ly, n));
    off += v->shape[1];
  }
  std::vector<T> want(21);
  for (i64 r = 0; r < 3; ++r)
    for (i64 j = 0; j < 7; ++j)
      want[r * 7 + j] = j < 2 ? va.at({r, j}) : j < 6 ? vb.at({r, j - 2}) : vc.at({r, 0});
  expect_same("copy_into_" + dt + ": cat along dim 1 of (3, 2), transposed (3, 4), broadcast (3, 1)", out, want);
}

template <typename T> static void check_copy_all(Rng &rng, const std::string &dt) {
  check_copy<T>(rng, dt);
  check_cat<T>(rng, dt);
}

// A cast of `in` read with stride 2 from offset 1 (a strided view), vs hand-written `want`.
template <typename F, typename T>
static void check_cast(const std::string &what, void (*k)(const F *, Layout, T *, i64), const std::vector<F> &in,
                       const std::vector<T> &want) {
  const i64 n = (i64)in.size();
  std::vector<F> buf(2 * n + 1, (F)0);
  for (i64 i = 0; i < n; ++i) buf[1 + 2 * i] = in[i];
  std::vector<T> y(n, (T)3);
  LAUNCH(host_grid(n), 256, k(buf.data(), layout_as({n}, {2}, {n}, 1), y.data(), n));
  expect_close(what, y, want, 0);
  if constexpr (std::is_floating_point_v<T>) {
    bool zeros = true; // signed zeros kept (equal to 0 above)
    for (i64 i = 0; i < n; ++i)
      if (want[i] == 0) zeros = zeros && std::signbit(y[i]) == std::signbit(want[i]);
    expect_true(what + ": signs of zeros", zeros);
  }
}

int main() {
  Rng rng(23);
  check_copy_all<float>(rng, "f32");
  check_copy_all<double>(rng, "f64");
  check_copy_all<i64>(rng, "i64");
  check_copy_all<u8>(rng, "u8");
  check_pad_narrow<float>(rng, "f32");
  check_pad_narrow<double>(rng, "f64");
  {
    // place_in_corner: g (2, 3) at the leading corner of zeros (4, 5): every dimension narrowed
    // from 0 (offset 0, out's strides).
    std::vector<i64> g = {1, 2, 3, 4, 5, 6}, out(20, 9);
    LAUNCH(1, 256, fill_fwd_i64(out.data(), 20, 0.0));
    LAUNCH(1, 256, copy_into_i64(g.data(), contiguous_as({2, 3}, {2, 3}), out.data(), layout_as({2, 3}, {5, 1}, {2, 3}), 6));
    expect_same("copy_into_i64: place_in_corner (2, 3) in (4, 5)", out,
                std::vector<i64>{1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  }
  {
    // A copy of 301 elements: the host grid (2) and one block give the same bits.
    std::vector<double> buf = values<double>(rng, 350), y(301), y1(301);
    const View<double> v{buf.data(), {43, 7}, {1, 50}, 3};
    LAUNCH(host_grid(301), 256, copy_fwd_f64(buf.data(), v.as(v.shape), y.data(), 301));
    LAUNCH(1, 256, copy_fwd_f64(buf.data(), v.as(v.shape), y1.data(), 301));
    expect_same("copy_fwd_f64: 301 elements of a transposed view, grid 2 vs 1", y, y1);
    expect_same("copy_fwd_f64: 301 elements (tail of 45 in block 2) = the view", y, gather(v));
  }

  check_fill<float>("f32", "0.1 rounded to f32", 0.1, 0.1f);
  check_fill<float>("f32", "NaN", NAN, (float)NAN);
  check_fill<double>("f64", "-0", -0.0, -0.0);
  check_fill<double>("f64", "1/3", 1.0 / 3.0, 1.0 / 3.0);
  check_fill<i64>("i64", "-3", -3.0, -3);
  check_fill<i64>("i64", "2^53", 9007199254740992.0, 9007199254740992LL);
  check_fill<u8>("u8", "true", 1.0, 1);
  check_fill<u8>("u8", "false", 0.0, 0);

  const float finf = INFINITY, fnan = NAN;
  const double inf = INFINITY, nan = NAN, e24 = 16777216.0, e53 = 9007199254740992.0;
  check_cast("cast_fwd_f32_f64: exact (NaN, ±inf, -0, subnormal 1e-40f, 0.1f)", cast_fwd_f32_f64,
             std::vector<float>{fnan, finf, -finf, -0.0f, 1e-40f, 0.1f, -3.5f},
             std::vector<double>{nan, inf, -inf, -0.0, (double)1e-40f, (double)0.1f, -3.5});
  check_cast("cast_fwd_f64_f32: nearest, ties to even; overflow to inf, underflow to ±0", cast_fwd_f64_f32,
             std::vector<double>{1 + 0x1p-24, 1 + 3 * 0x1p-24, 1 + 0x1p-24 + 0x1p-50, 1e300, -1e300, 1e-50, -1e-50, nan,
                                 -0.0, 0.1, e24 + 1},
             std::vector<float>{1.0f, 1.0f + 0x1p-22f, 1.0f + 0x1p-23f, finf, -finf, 0.0f, -0.0f, fnan,
                                -0.0f, 0x1.99999ap-4f, 16777216.0f});
  check_cast("cast_fwd_i64_f32: rounded once (2^60 + 2^36 + 1 -> 2^60 + 2^37), ties to even", cast_fwd_i64_f32,
             std::vector<i64>{0, -7, (1LL << 24) + 1, (1LL << 24) + 3, -(1LL << 24) - 1, (1LL << 60) + (1LL << 36) + 1},
             std::vector<float>{0, -7, 16777216.0f, 16777220.0f, -16777216.0f, 0x1p60f + 0x1p37f});
  check_cast("cast_fwd_i64_f64: exact below 2^53, ties to even above", cast_fwd_i64_f64,
             std::vector<i64>{-5, (1LL << 53) - 1, (1LL << 53) + 1, (1LL << 53) + 3, -(1LL << 62)},
             std::vector<double>{-5, e53 - 1, e53, e53 + 4, -0x1p62});
  check_cast("cast_fwd_f32_i64: truncation toward zero", cast_fwd_f32_i64,
             std::vector<float>{2.7f, -2.7f, -0.5f, 0.99999994f, -0.0f, e24, -0x1p40f, 0x1p62f},
             std::vector<i64>{2, -2, 0, 0, 0, 1LL << 24, -(1LL << 40), 1LL << 62});
  check_cast("cast_fwd_f64_i64: truncation toward zero", cast_fwd_f64_i64,
             std::vector<double>{2.999999999, -2.999999999, -1e15 - 0.5, e53 + 2, 0x1p62, -0.25},
             std::vector<i64>{2, -2, -1000000000000000LL, (1LL << 53) + 2, 1LL << 62, 0});
  check_cast("cast_fwd_u8_f32: bool as 0/1", cast_fwd_u8_f32, std::vector<u8>{0, 1, 1, 0}, std::vector<float>{0, 1, 1, 0});
  check_cast("cast_fwd_u8_f64: bool as 0/1", cast_fwd_u8_f64, std::vector<u8>{1, 0, 1}, std::vector<double>{1, 0, 1});
  check_cast("cast_fwd_u8_i64: bool as 0/1", cast_fwd_u8_i64, std::vector<u8>{1, 0, 0, 1}, std::vector<i64>{1, 0, 0, 1});
  {
    // f64 -> f32 of random values on a transposed view vs the C++ conversion (round to nearest).
    Rng r2(3);
    std::vector<double> buf(250);
    for (auto &v : buf) v = r2.uniform() * std::pow(10.0, (double)r2.below(60) - 30);
    const View<double> v{buf.data(), {43, 5}, {1, 50}, 3};
    std::vector<float> y(215), want(215);
    for (i64 i = 0; i < 215; ++i) want[i] = (float)v.at(unravel(i, v.shape));
    LAUNCH(host_grid(215), 256, cast_fwd_f64_f32(buf.data(), v.as(v.shape), y.data(), 215));
    expect_same("cast_fwd_f64_f32: 215 values of 1e-30..1e30 on a transposed view", y, want);
  }
  return finish("copy");
}
