// Emulated run of kernels/pool2d.cu against the CPU op's algorithm (src/ops/pool2d.rs): forward
// per output window, backward as a SCATTER in output order (the kernels gather), in double;
// ties (first maximum wins), a NaN, overlapping windows and stride > kernel included.
#include "cuda_shim.h"
#include "check.h"
#include "../pool2d.cu"

template <typename T> struct Api;
template <> struct Api<float> {
  static constexpr auto maxf = max_pool2d_fwd_f32;
  static constexpr auto maxb = max_pool2d_bwd_f32;
  static constexpr auto avgf = avg_pool2d_fwd_f32;
  static constexpr auto avgb = avg_pool2d_bwd_f32;
  static constexpr auto gapf = adaptive_avg_pool2d_fwd_f32;
  static constexpr auto gapb = adaptive_avg_pool2d_bwd_f32;
};
template <> struct Api<double> {
  static constexpr auto maxf = max_pool2d_fwd_f64;
  static constexpr auto maxb = max_pool2d_bwd_f64;
  static constexpr auto avgf = avg_pool2d_fwd_f64;
  static constexpr auto avgb = avg_pool2d_bwd_f64;
  static constexpr auto gapf = adaptive_avg_pool2d_fwd_f64;
  static constexpr auto gapb = adaptive_avg_pool2d_bwd_f64;
};

template <typename T> void run(const char *tn, i64 planes, i64 h, i64 w, i64 kh, i64 kw, i64 sh, i64 sw, i64 ph, i64 pw) {
  using A = Api<T>;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %lldx%lld k(%lld,%lld) s(%lld,%lld) p(%lld,%lld): ", tn, h, w, kh, kw, sh, sw, ph, pw);
  const std::string p = buf;
  Pool2dGeom g{planes, h, w, (h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1, kh, kw, sh, sw, ph, pw};
  const i64 hw = h * w, ohw = g.oh * g.ow;
  Rng rng(11);
  std::vector<T> x(planes * hw);
  for (auto &v : x) v = (T)(double)(rng.below(5) - 2); // small integers: many ties
  x[3] = NAN;                                             // plane 0
  auto dy = randv<T>(rng, planes * ohw);

  // The CPU op's algorithm.
  std::vector<double> ymax(planes * ohw), yavg[2], dxmax(planes * hw, 0.0), dxavg[2];
  std::vector<i64> idx_ref(planes * ohw);
  for (int cip = 0; cip < 2; ++cip) yavg[cip].assign(planes * ohw, 0.0), dxavg[cip].assign(planes * hw, 0.0);
  for (i64 pl = 0; pl < planes; ++pl)
    for (i64 i = 0; i < g.oh; ++i)
      for (i64 j = 0; j < g.ow; ++j) {
        const i64 r = i * sh, c = j * sw;
        const i64 r0 = std::max<i64>(r - ph, 0), r1 = std::min<i64>(r + kh - ph, h);
        const i64 c0 = std::max<i64>(c - pw, 0), c1 = std::min<i64>(c + kw - pw, w);
        const i64 padded = (std::min(r + kh, h + 2 * ph) - r) * (std::min(c + kw, w + 2 * pw) - c);
        double best = -INFINITY, s = 0;
        i64 at = r0 * w + c0;
        bool nan = false;
        for (i64 u = r0; u < r1; ++u) {
          for (i64 v = c0; v < c1; ++v) {
            double val = x[pl * hw + u * w + v];
            s += val;
            if (!nan && (val > best || std::isnan(val))) best = val, at = u * w + v, nan = std::isnan(val);
          }
        }
        const i64 t = pl * ohw + i * g.ow + j;
        ymax[t] = best;
        idx_ref[t] = at;
        dxmax[pl * hw + at] += dy[t];
        for (int cip = 0; cip < 2; ++cip) {
          double d = cip ? padded : (r1 - r0) * (c1 - c0);
          yavg[cip][t] = s / d;
          for (i64 u = r0; u < r1; ++u)
            for (i64 v = c0; v < c1; ++v) dxavg[cip][pl * hw + u * w + v] += dy[t] / d;
        }
      }

  std::vector<T> y(planes * ohw), dx(planes * hw, T(-99)), dx2(planes * hw, T(-99));
  std::vector<i64> idx(planes * ohw, -1);
  LAUNCH(3, 5, A::maxf(g, x.data(), y.data(), idx.data()));
  expect_close(p + "max forward", y, ymax, 0);
  expect_true(p + "max arg-max = first maximum (row-major), NaN wins", idx == idx_ref);
  LAUNCH(2, 7, A::maxb(g, idx.data(), dy.data(), dx.data()));
  expect_close(p + "max backward (gather) = scatter", dx, dxmax, sizeof(T) == 4 ? 1e-6 : 1e-15);
  LAUNCH(1, 1, A::maxb(g, idx.data(), dy.data(), dx2.data()));
  expect_same(p + "max backward bit-identical for grids 2x7 and 1x1", dx, dx2);
  for (int cip = 0; cip < 2; ++cip) {
    const std::string q = p + (cip ? "count_include_pad " : "exclude pad ");
    LAUNCH(4, 3, A::avgf(g, cip, x.data(), y.data()));
    expect_close(q + "avg forward", y, yavg[cip], sizeof(T) == 4 ? 1e-6 : 1e-15);
    LAUNCH(3, 3, A::avgb(g, cip, dy.data(), dx.data()));
    expect_close(q + "avg backward (gather) = scatter", dx, dxavg[cip], sizeof(T) == 4 ? 1e-6 : 1e-15);
  }

  // Global average pool: one block of 256 threads per plane, grid smaller than the planes.
  auto xs = randv<T>(rng, planes * hw);
  std::vector<double> gref(planes, 0.0), gdx(planes * hw);
  for (i64 pl = 0; pl < planes; ++pl) {
    for (i64 e = 0; e < hw; ++e) gref[pl] += xs[pl * hw + e];
    gref[pl] /= (double)hw;
    for (i64 e = 0; e < hw; ++e) gdx[pl * hw + e] = dy[pl] / (double)hw;
  }
  std::vector<T> gy(planes, T(-99)), gd(planes * hw);
  LAUNCH(2, 256, A::gapf(planes, hw, xs.data(), gy.data()));
  expect_close(p + "adaptive avg 1x1 forward", gy, gref, sizeof(T) == 4 ? 1e-6 : 1e-15);
  LAUNCH(3, 4, A::gapb(planes, hw, dy.data(), gd.data()));
  expect_close(p + "adaptive avg 1x1 backward", gd, gdx, sizeof(T) == 4 ? 1e-6 : 1e-15);
}

int main() {
  for (int f = 0; f < 2; ++f) {
    auto go = [&](i64 pl, i64 h, i64 w, i64 kh, i64 kw, i64 sh, i64 sw, i64 ph, i64 pw) {
      if (f) run<float>("f32", pl, h, w, kh, kw, sh, sw, ph, pw);
      else run<double>("f64", pl, h, w, kh, kw, sh, sw, ph, pw);
    };
    go(3, 7, 6, 3, 3, 2, 2, 1, 1); // overlapping windows with padding
    go(2, 7, 8, 2, 2, 3, 3, 0, 0); // stride > kernel: some inputs in no window
    go(2, 5, 7, 3, 2, 1, 2, 1, 0); // kernel != stride, rectangular
    go(5, 4, 4, 2, 2, 2, 2, 0, 0); // the usual 2x2/2
  }
  return finish("pool2d");
}
