// Emulated run of kernels/reduce.cu's sum_fwd, launched as src/device/cuda/reduce.rs launches it:
// the input viewed as (m, k) by `reduction_view` (kept dimensions first, reduced ones last, the
// view's own strides and offset), one block of 256 per output row (grid min(m, 65535), rows
// grid-strided), 256 partial sums in dynamic shared memory. Against long-double sums: reduced
// dimensions around a kept one ((4, 3, 150) over {0, 2}: k = 600, a tail of 88 past two rounds of
// 256), a transposed narrowed view (over either dimension, both), a broadcast (stride 0) input,
// scale 1/k (the mean form loss.rs passes), a 0-d tensor, empty rows (k = 0 gives 0), NaN, inf,
// inf - inf and overflow in a row; f32 and f64; the same bits for grids smaller than m (rows
// grid-strided) as for the host's grid.
#include "cuda_shim.h"
// reduce.cu keeps its partial sums in dynamic shared memory (`extern __shared__`), which the
// shim's `#define __shared__ static` cannot express: while the file is read `__shared__` is empty
// and the block-scope `extern` names gg_smem below, one block's dynamic shared memory (the blocks
// of a launch run one after another). Its `threadIdx.x < s` compares unsigned with int (s > 0).
#undef __shared__
#define __shared__
alignas(16) unsigned char gg_smem[256 * sizeof(double)];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "../reduce.cu"
#pragma GCC diagnostic pop
#undef __shared__
#define __shared__ static
#include "check.h"
#include "layout.h"
#include <algorithm>
#include <type_traits>

typedef long double ld;

// The host's rows_cfg: one block per row, at least one, at most 65535.
static unsigned host_grid(i64 m) { return (unsigned)std::clamp<i64>(m, 1, 65535); }

// A view (shape, strides, offset) reduced over `dims` (sorted): its (m, k) layout as
// reduction_view builds it, and the long-double reference of every output row.
template <typename T> struct Reduction {
  Layout l{};
  i64 m = 1, k = 1;
  std::vector<ld> want;
};
template <typename T> static Reduction<T> reduction(const View<T> &v, const Dims &dims, double scale) {
  Reduction<T> r;
  Dims kept, perm;
  for (size_t d = 0; d < v.shape.size(); ++d)
    if (std::find(dims.begin(), dims.end(), (i64)d) == dims.end()) kept.push_back((i64)d);
  perm = kept;
  perm.insert(perm.end(), dims.begin(), dims.end());
  Dims ps, pst, ks, rs;
  for (i64 d : perm) ps.push_back(v.shape[d]), pst.push_back(v.strides[d]);
  for (i64 d : kept) ks.push_back(v.shape[d]), r.m *= v.shape[d];
  for (i64 d : dims) rs.push_back(v.shape[d]), r.k *= v.shape[d];
  r.l = layout_as(ps, pst, ps, v.offset);
  r.want.assign(r.m, 0);
  for (i64 o = 0; o < r.m; ++o) {
    const Dims ko = unravel(o, ks);
    ld s = 0;
    for (i64 j = 0; j < r.k; ++j) {
      const Dims kj = unravel(j, rs);
      Dims ix(v.shape.size());
      for (size_t a = 0; a < kept.size(); ++a) ix[kept[a]] = ko[a];
      for (size_t a = 0; a < dims.size(); ++a) ix[dims[a]] = kj[a];
      s += (ld)v.at(ix);
    }
    r.want[o] = s * (ld)scale;
  }
  return r;
}

template <typename T> static void sum(const T *x, const Layout &l, std::vector<T> &y, i64 m, i64 k, double scale,
                                      unsigned grid) {
  if constexpr (std::is_same_v<T, float>) LAUNCH(grid, 256, sum_fwd_f32(x, l, y.data(), m, k, scale));
  else LAUNCH(grid, 256, sum_fwd_f64(x, l, y.data(), m, k, scale));
}

// Runs the host's launch (and those of `grids`), checks against the reference and bitwise.
template <typename T>
static void check(const std::string &what, const View<T> &v, const Dims &dims, double scale, double tol,
                  std::vector<unsigned> grids = {}) {
  const Reduction<T> r = reduction(v, dims, scale);
  std::vector<T> y(r.m, (T)-7), want(r.m);
  for (i64 o = 0; o < r.m; ++o) want[o] = (T)r.want[o];
  sum<T>(v.p, r.l, y, r.m, r.k, scale, host_grid(r.m));
  expect_close(what, y, want, tol);
  for (unsigned g : grids) {
    std::vector<T> y2(r.m, (T)-9);
    sum<T>(v.p, r.l, y2, r.m, r.k, scale, g);
    expect_same(what + ": bitwise, grid " + std::to_string(host_grid(r.m)) + " vs " + std::to_string(g), y, y2);
  }
}

template <typename T> static void run(const std::string &dt, double tol, Rng &rng) {
  const std::string p = "sum_fwd_" + dt + ": ";
  {
    std::vector<T> x = randv<T>(rng, 4 * 3 * 150, 2.0);
    check(p + "(4, 3, 150) over dims {0, 2} (k = 600)", view(x, {4, 3, 150}), {0, 2}, 1.0, tol, {1, 2});
    check(p + "(4, 3, 150) over dims {1, 2}, scale 1/450 (mean form)", view(x, {4, 3, 150}), {1, 2}, 1.0 / 450, tol);
  }
  {
    // A (30, 4) buffer read transposed as (4, 30), narrowed to columns 5..14: strides (1, 4), offset 20.
    std::vector<T> buf = randv<T>(rng, 120, 3.0);
    const View<T> v{buf.data(), {4, 9}, {1, 4}, 20};
    check(p + "transposed narrowed (4, 9) over dim 1", v, {1}, 1.0, tol, {3});
    check(p + "transposed narrowed (4, 9) over dim 0", v, {0}, 1.0, tol);
    check(p + "transposed narrowed (4, 9) over both, scale 1/36", v, {0, 1}, 1.0 / 36, tol);
  }
  {
    // (5) broadcast to (3, 5) (stride 0, as a broadcast_to view), then summed over dim 0.
    std::vector<T> row = randv<T>(rng, 5);
    check(p + "(5) broadcast to (3, 5) over dim 0", View<T>{row.data(), {3, 5}, {0, 1}, 0}, {0}, 1.0, tol, {2});
  }
  {
    // A 0-d tensor (dims {}: m = k = 1) at an offset, scaled.
    std::vector<T> x = {(T)1, (T)2.5, (T)4};
    check(p + "0-d at offset 1, scale -2", View<T>{x.data(), {}, {}, 1}, {}, -2.0, 0);
  }
  {
    // Empty rows: (3, 0) over dim 1 (m = 3 launched, k = 0) gives zeros.
    std::vector<T> none;
    check(p + "(3, 0) over dim 1: empty rows give 0", View<T>{none.data(), {3, 0}, {0, 1}, 0}, {1}, 1.0, 0);
  }
  {
    // Non-finite rows of (4, 300): a NaN at the last element (the tail), +inf, inf and -inf,
    // and finite values whose sum overflows.
    std::vector<T> x = randv<T>(rng, 1200);
    const T inf = (T)INFINITY, big = std::is_same_v<T, float> ? (T)3e38 : (T)1e308;
    x[299] = (T)NAN, x[300 + 5] = inf, x[600 + 7] = inf, x[600 + 263] = -inf;
    x[900 + 1] = big, x[900 + 2] = big, x[900 + 260] = big;
    std::vector<T> y(4);
    sum<T>(x.data(), contiguous_as({4, 300}, {4, 300}), y, 4, 300, 1.0, host_grid(4));
    expect_close(p + "rows with a NaN (last element), +inf, inf and -inf, an overflow: NaN, inf, NaN, inf", y,
                 std::vector<double>{NAN, INFINITY, NAN, INFINITY}, 0);
  }
}

int main() {
  Rng rng(41);
  run<double>("f64", 1e-15, rng);
  // f32 accumulates up to 600 terms |x| <= 2 in f32: errors of a few 1e-6 (the bound is ~1e-4).
  run<float>("f32", 1e-5, rng);
  return finish("reduce");
}
