// Emulated run of kernels/conv2d.cu: forward, grad-input, grad-weight and the bias through
// im2col/col2im composed as the file's header says, against the direct formulas (in double).
#include "cuda_shim.h"
#include "check.h"
#include "../conv2d.cu"

template <typename T> struct Api;
template <> struct Api<float> {
  static constexpr auto im2col = conv2d_fwd_im2col_f32;
  static constexpr auto col2im = conv2d_bwd_col2im_f32;
  static constexpr auto fbias = conv2d_fwd_bias_f32;
  static constexpr auto bbias = conv2d_bwd_bias_f32;
  static constexpr auto flip = conv2d_fwd_flip_f32;
};
template <> struct Api<double> {
  static constexpr auto im2col = conv2d_fwd_im2col_f64;
  static constexpr auto col2im = conv2d_bwd_col2im_f64;
  static constexpr auto fbias = conv2d_fwd_bias_f64;
  static constexpr auto bbias = conv2d_bwd_bias_f64;
  static constexpr auto flip = conv2d_fwd_flip_f64;
};

template <typename T> void run(const char *tn, Conv2dGeom g, double tol) {
  using A = Api<T>;
  const std::string p = std::string(tn) + " ";
  Rng rng(7);
  const i64 cg = g.c / g.groups, og = g.o / g.groups, k = cg * g.kh * g.kw, ohw = g.oh * g.ow;
  auto x = randv<T>(rng, g.n * g.c * g.h * g.w);
  auto w = randv<T>(rng, g.o * cg * g.kh * g.kw);
  auto bias = randv<T>(rng, g.o);
  auto dy = randv<T>(rng, g.n * g.o * ohw);

  // Direct formulas (double).
  std::vector<double> y_ref(g.n * g.o * ohw), dx_ref(x.size(), 0.0), dw_ref(w.size(), 0.0), db_ref(g.o, 0.0);
  for (i64 n = 0; n < g.n; ++n)
    for (i64 o = 0; o < g.o; ++o)
      for (i64 i = 0; i < g.oh; ++i)
        for (i64 j = 0; j < g.ow; ++j) {
          const i64 grp = o / og, yi = (n * g.o + o) * ohw + i * g.ow + j;
          double s = bias[o];
          for (i64 c = 0; c < cg; ++c)
            for (i64 a = 0; a < g.kh; ++a)
              for (i64 b = 0; b < g.kw; ++b) {
                const i64 u = i * g.sh - g.ph + a * g.dh, v = j * g.sw - g.pw + b * g.dw;
                if (u < 0 || u >= g.h || v < 0 || v >= g.w) continue;
                const i64 xi = ((n * g.c + grp * cg + c) * g.h + u) * g.w + v;
                const i64 wi = ((o * cg + c) * g.kh + a) * g.kw + b;
                s += (double)x[xi] * w[wi];
                dx_ref[xi] += (double)dy[yi] * w[wi];
                dw_ref[wi] += (double)dy[yi] * x[xi];
              }
          y_ref[yi] = s;
          db_ref[o] += dy[yi];
        }

  // Forward: per group, im2col ("per sample" layout) + GEMM, then the bias.
  std::vector<T> cols(g.n * k * ohw), y(g.n * g.o * ohw);
  std::vector<T> dx(x.size(), T(-99)), dw(w.size()), dcols(cols.size());
  for (i64 grp = 0; grp < g.groups; ++grp) {
    LAUNCH(3, 7, A::im2col(g, grp, 0, g.n, x.data(), cols.data(), ohw, k * ohw));
    for (i64 n = 0; n < g.n; ++n)
      for (i64 oo = 0; oo < og; ++oo)
        for (i64 q = 0; q < ohw; ++q) {
          T s = 0;
          for (i64 r = 0; r < k; ++r) s += w[(grp * og + oo) * k + r] * cols[(n * k + r) * ohw + q];
          y[(n * g.o + grp * og + oo) * ohw + q] = s;
        }
    // grad weight (src/device/cuda/conv2d.rs): P[n] = dy[n, g] . cols[n]^T per sample (batched GEMM), then
    // dW_g = ones . P, the samples summed in increasing n
    std::vector<T> parts(g.n * og * k);
    for (i64 n = 0; n < g.n; ++n)
      for (i64 oo = 0; oo < og; ++oo)
        for (i64 r = 0; r < k; ++r) {
          T s = 0;
          for (i64 q = 0; q < ohw; ++q) s += dy[(n * g.o + grp * og + oo) * ohw + q] * cols[(n * k + r) * ohw + q];
          parts[(n * og + oo) * k + r] = s;
        }
    for (i64 col = 0; col < og * k; ++col) {
      T s = 0;
      for (i64 n = 0; n < g.n; ++n) s += T(1) * parts[n * og * k + col];
      dw[grp * og * k + col] = s;
    }
    // grad input: dcols[n] = W_g^T dy[n, g], then col2im
    for (i64 n = 0; n < g.n; ++n)
      for (i64 r = 0; r < k; ++r)
        for (i64 q = 0; q < ohw; ++q) {
          T s = 0;
          for (i64 oo = 0; oo < og; ++oo) s += w[(grp * og + oo) * k + r] * dy[(n * g.o + grp * og + oo) * ohw + q];
          dcols[(n * k + r) * ohw + q] = s;
        }
    LAUNCH(2, 5, A::col2im(g, grp, 0, g.n, dcols.data(), dx.data(), ohw, k * ohw));
  }
  LAUNCH(4, 3, A::fbias(g.n, g.o, ohw, bias.data(), y.data()));
  expect_close(p + "forward = im2col + GEMM + bias", y, y_ref, tol);
  expect_close(p + "grad input = col2im(W^T dy)", dx, dx_ref, tol);
  expect_close(p + "grad weight = sum_n dy cols^T", dw, dw_ref, tol);

  std::vector<T> db(g.o, T(-99));
  LAUNCH(2, 256, A::bbias(g.n, g.o, ohw, dy.data(), db.data()));
  expect_close(p + "grad bias (block reduction, grid < O)", db, db_ref, tol);

  // The "wide" layout and a chunk of one sample give the same columns.
  std::vector<T> wide(k * g.n * ohw), one(k * ohw);
  LAUNCH(1, 1, A::im2col(g, 1 % g.groups, 0, g.n, x.data(), wide.data(), g.n * ohw, ohw));
  LAUNCH(5, 3, A::im2col(g, 1 % g.groups, 1, 1, x.data(), one.data(), ohw, k * ohw));
  std::vector<T> per(g.n * k * ohw), from_wide(g.n * k * ohw);
  LAUNCH(1, 1, A::im2col(g, 1 % g.groups, 0, g.n, x.data(), per.data(), ohw, k * ohw));
  for (i64 n = 0; n < g.n; ++n)
    for (i64 r = 0; r < k; ++r)
      for (i64 q = 0; q < ohw; ++q) from_wide[(n * k + r) * ohw + q] = wide[r * g.n * ohw + n * ohw + q];
  expect_same(p + "im2col wide layout = per-sample layout", from_wide, per);
  expect_same(p + "im2col chunk n0=1 = sample 1", one, std::vector<T>(per.begin() + k * ohw, per.begin() + 2 * k * ohw));

  // col2im: the same bits with any launch shape.
  std::vector<T> dx2(x.size(), T(-99));
  for (i64 grp = 0; grp < g.groups; ++grp) {
    for (i64 n = 0; n < g.n; ++n)
      for (i64 r = 0; r < k; ++r)
        for (i64 q = 0; q < ohw; ++q) {
          T s = 0;
          for (i64 oo = 0; oo < og; ++oo) s += w[(grp * og + oo) * k + r] * dy[(n * g.o + grp * og + oo) * ohw + q];
          dcols[(n * k + r) * ohw + q] = s;
        }
    LAUNCH(1, 1, A::col2im(g, grp, 0, g.n, dcols.data(), dx2.data(), ohw, k * ohw));
  }
  expect_same(p + "col2im bit-identical for grids 2x5 and 1x1", dx, dx2);

  // flip: an involution that reverses (a, b).
  std::vector<T> f1(w.size()), f2(w.size());
  LAUNCH(2, 3, A::flip((i64)w.size(), g.kh, g.kw, w.data(), f1.data()));
  LAUNCH(1, 4, A::flip((i64)w.size(), g.kh, g.kw, f1.data(), f2.data()));
  expect_same(p + "flip twice = identity", f2, w);
  expect_true(p + "flip moves (0,0) to (kH-1,kW-1)", f1[g.kh * g.kw - 1] == w[0]);
}

int main() {
  // N, C, H, W, O, G, kH, kW, OH, OW, stride, padding, dilation
  Conv2dGeom a{2, 4, 5, 6, 6, 2, 3, 2, 3, 6, 2, 1, 1, 1, 1, 2};
  Conv2dGeom b{3, 3, 7, 7, 5, 1, 3, 3, 3, 3, 3, 3, 2, 2, 1, 1}; // stride 3, padding 2
  Conv2dGeom c{2, 2, 4, 4, 3, 1, 1, 1, 4, 4, 1, 1, 0, 0, 1, 1}; // pointwise
  for (auto g : {a, b, c}) {
    // OH/OW from the formula, to catch a wrong table above
    i64 oh = (g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1, ow = (g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
    if (oh != g.oh || ow != g.ow) { std::printf("bad test geometry\n"); return 2; }
    run<double>("f64", g, 1e-12);
    run<float>("f32", g, 2e-5);
  }
  return finish("conv2d");
}
