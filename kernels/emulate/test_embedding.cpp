// Emulated run of kernels/embedding.cu: gather forward, CSR backward (dense and compact) with a
// padding_idx, the out-of-range flag, and the row merge of two row-sparse gradients (union of
// rows, SparseGrad::add) and of one into its dense form, against direct loops.
#include "cuda_shim.h"
#include "check.h"
#include "../embedding.cu"
#include <algorithm>
#include <climits>

int main() {
  const i64 V = 7, D = 5, P = 11, pad = 2;
  Rng rng(3);
  auto w = randv<double>(rng, V * D);
  std::vector<i64> ids = {4, 2, 0, 4, 6, 2, 4, 1, 0, 6, 4};
  auto dy = randv<double>(rng, P * D);
  std::vector<double> y(P * D), yref(P * D);
  for (i64 p = 0; p < P; ++p)
    for (i64 c = 0; c < D; ++c) yref[p * D + c] = w[ids[p] * D + c];
  i64 err = LLONG_MAX;
  LAUNCH(3, 4, embedding_fwd_f64(P, D, V, ids.data(), w.data(), y.data(), &err));
  expect_close("forward gathers rows (the pad row too)", y, yref, 0);
  expect_true("forward: no error flagged", err == LLONG_MAX);

  // The host's CSR: positions without pad, stably sorted by id.
  std::vector<i64> order;
  for (i64 p = 0; p < P; ++p)
    if (ids[p] != pad) order.push_back(p);
  std::stable_sort(order.begin(), order.end(), [&](i64 a, i64 b) { return ids[a] < ids[b]; });
  std::vector<i64> rows, row_ptr;
  for (size_t q = 0; q < order.size(); ++q)
    if (rows.empty() || rows.back() != ids[order[q]]) rows.push_back(ids[order[q]]), row_ptr.push_back((i64)q);
  row_ptr.push_back((i64)order.size());
  const i64 nrows = (i64)rows.size();

  std::vector<double> dref(V * D, 0.0);
  for (i64 p = 0; p < P; ++p)
    if (ids[p] != pad)
      for (i64 c = 0; c < D; ++c) dref[ids[p] * D + c] += dy[p * D + c];
  std::vector<double> dw(V * D, 0.0), vals(nrows * D, -99), cref;
  LAUNCH(2, 3, embedding_bwd_weight_f64(nrows, D, V, pad, rows.data(), row_ptr.data(), order.data(), dy.data(), dw.data(), 1, &err));
  expect_close("backward dense: rows summed, pad row zero", dw, dref, 0);
  LAUNCH(1, 5, embedding_bwd_weight_f64(nrows, D, V, pad, rows.data(), row_ptr.data(), order.data(), dy.data(), vals.data(), 0, &err));
  for (i64 r : rows) cref.insert(cref.end(), dref.begin() + r * D, dref.begin() + (r + 1) * D);
  expect_close("backward compact values (SparseGrad)", vals, cref, 0);
  expect_true("backward: no error flagged", err == LLONG_MAX);

  // Out of range: no read outside the table, smallest bad position reported.
  std::vector<i64> bad = {1, 9, 0, -3, 7};
  std::vector<float> wf(V * D, 1.0f), yf(5 * D, -99.0f);
  LAUNCH(2, 2, embedding_fwd_f32(5, D, V, bad.data(), wf.data(), yf.data(), &err));
  expect_true("out-of-range id: err = first bad position (1)", err == 1);
  expect_true("out-of-range id: its row is zeros", yf[1 * D] == 0.0f && yf[3 * D + 4] == 0.0f && yf[0] == 1.0f);

  // Merge: a has rows {1, 3, 6}, b has rows {0, 3, 4, 6}: union {0, 1, 3, 4, 6}.
  std::vector<i64> ra = {1, 3, 6}, rb = {0, 3, 4, 6};
  auto va = randv<double>(rng, 3 * D), vb = randv<double>(rng, 4 * D);
  std::vector<i64> ia = {-1, 0, 1, -1, 2}, ib = {0, -1, 1, 2, 3};
  std::vector<double> merged(5 * D, -99), mref;
  for (size_t k = 0; k < ia.size(); ++k)
    for (i64 c = 0; c < D; ++c) {
      double s = 0;
      if (ia[k] >= 0 && ib[k] >= 0) s = va[ia[k] * D + c] + vb[ib[k] * D + c];
      else if (ia[k] >= 0) s = va[ia[k] * D + c];
      else s = vb[ib[k] * D + c];
      mref.push_back(s);
    }
  LAUNCH(2, 4, embedding_merge_rows_f64(5, D, ia.data(), ib.data(), va.data(), vb.data(), merged.data()));
  expect_close("merge: shared rows added, the others copied", merged, mref, 0);
  // Dense form of a: ia[v] = k for v = ra[k], ib all -1; untouched rows zero.
  std::vector<i64> iv(V, -1), none(V, -1);
  for (size_t k = 0; k < ra.size(); ++k) iv[ra[k]] = (i64)k;
  std::vector<double> dense(V * D, -99), dense_ref(V * D, 0.0);
  for (size_t k = 0; k < ra.size(); ++k)
    for (i64 c = 0; c < D; ++c) dense_ref[ra[k] * D + c] = va[k * D + c];
  LAUNCH(3, 2, embedding_merge_rows_f64(V, D, iv.data(), none.data(), va.data(), va.data(), dense.data()));
  expect_close("merge into the dense (V, D) form", dense, dense_ref, 0);
  // A negative zero copied alone stays -0 (no 0 + x).
  std::vector<float> nz = {-0.0f}, outz = {1.0f};
  std::vector<i64> i0 = {0}, im = {-1};
  LAUNCH(1, 1, embedding_merge_rows_f32(1, 1, i0.data(), im.data(), nz.data(), nz.data(), outz.data()));
  expect_true("merge copies -0 as -0", std::signbit(outz[0]));
  (void)rb;
  return finish("embedding");
}
