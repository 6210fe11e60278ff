// Emulated run of kernels/factorization.cu: mf_predict forward, the CSR row gradients of P, Q and
// the biases (dense and compact), dmu, and the out-of-range flag, against direct loops.
#include "cuda_shim.h"
#include "check.h"
#include "../factorization.cu"
#include <algorithm>
#include <climits>

struct Csr {
  std::vector<i64> rows, row_ptr, pos;
};
static Csr csr(const std::vector<i64> &ids) {
  Csr c;
  for (i64 n = 0; n < (i64)ids.size(); ++n) c.pos.push_back(n);
  std::stable_sort(c.pos.begin(), c.pos.end(), [&](i64 a, i64 b) { return ids[a] < ids[b]; });
  for (size_t q = 0; q < c.pos.size(); ++q)
    if (c.rows.empty() || c.rows.back() != ids[c.pos[q]]) c.rows.push_back(ids[c.pos[q]]), c.row_ptr.push_back((i64)q);
  c.row_ptr.push_back((i64)c.pos.size());
  return c;
}

int main() {
  const i64 U = 5, I = 6, K = 4, N = 9;
  Rng rng(5);
  auto P = randv<double>(rng, U * K), Q = randv<double>(rng, I * K), bu = randv<double>(rng, U), bi = randv<double>(rng, I);
  std::vector<double> mu = {0.25};
  std::vector<i64> user = {0, 3, 3, 1, 0, 4, 3, 1, 0}, item = {5, 0, 2, 2, 5, 1, 0, 3, 4};
  auto g = randv<double>(rng, N);
  std::vector<double> yref(N), dP(U * K, 0.0), dQ(I * K, 0.0), dbu(U, 0.0), dbi(I, 0.0);
  double dmu_ref = 0;
  for (i64 n = 0; n < N; ++n) {
    const i64 u = user[n], i = item[n];
    double dot = 0;
    for (i64 k = 0; k < K; ++k) dot += P[u * K + k] * Q[i * K + k];
    yref[n] = mu[0] + bu[u] + bi[i] + dot;
    for (i64 k = 0; k < K; ++k) dP[u * K + k] += g[n] * Q[i * K + k], dQ[i * K + k] += g[n] * P[u * K + k];
    dbu[u] += g[n], dbi[i] += g[n], dmu_ref += g[n];
  }
  i64 err = LLONG_MAX;
  std::vector<double> y(N);
  LAUNCH(2, 3, mf_predict_fwd_f64(N, K, U, I, user.data(), item.data(), P.data(), Q.data(), bu.data(), bi.data(), mu.data(), y.data(), &err));
  expect_close("forward rhat = mu + b_u + b_i + p.q (same order as the CPU: exact)", y, yref, 0);

  Csr cu = csr(user), ci = csr(item);
  std::vector<double> gP(U * K, 0.0), gQ(I * K, 0.0), gbu(U, 0.0), gbi(I, 0.0);
  LAUNCH(3, 2, mf_predict_bwd_rows_f64((i64)cu.rows.size(), K, U, I, cu.rows.data(), cu.row_ptr.data(), cu.pos.data(), item.data(), g.data(), Q.data(), gP.data(), gbu.data(), 1, &err));
  LAUNCH(1, 7, mf_predict_bwd_rows_f64((i64)ci.rows.size(), K, I, U, ci.rows.data(), ci.row_ptr.data(), ci.pos.data(), user.data(), g.data(), P.data(), gQ.data(), gbi.data(), 1, &err));
  expect_close("dP (user CSR)", gP, dP, 1e-15);
  expect_close("dQ (item CSR)", gQ, dQ, 1e-15);
  expect_close("db_u", gbu, dbu, 1e-15);
  expect_close("db_i", gbi, dbi, 1e-15);
  std::vector<double> cP(cu.rows.size() * K), cbu(cu.rows.size()), refc, refb;
  LAUNCH(2, 2, mf_predict_bwd_rows_f64((i64)cu.rows.size(), K, U, I, cu.rows.data(), cu.row_ptr.data(), cu.pos.data(), item.data(), g.data(), Q.data(), cP.data(), cbu.data(), 0, &err));
  for (i64 r : cu.rows) refc.insert(refc.end(), dP.begin() + r * K, dP.begin() + (r + 1) * K), refb.push_back(dbu[r]);
  expect_close("dP compact rows", cP, refc, 1e-15);
  expect_close("db_u compact rows", cbu, refb, 1e-15);
  std::vector<double> dmu(1, -99);
  LAUNCH(1, 256, mf_predict_bwd_mu_f64(N, g.data(), dmu.data()));
  expect_close("dmu (one block of 256)", dmu, std::vector<double>{dmu_ref}, 1e-15);
  expect_true("no error flagged", err == LLONG_MAX);

  std::vector<i64> bad_item = {5, 0, 2, 2, 6, 1, 0, 3, 4};
  LAUNCH(2, 2, mf_predict_fwd_f64(N, K, U, I, user.data(), bad_item.data(), P.data(), Q.data(), bu.data(), bi.data(), mu.data(), y.data(), &err));
  expect_true("item id out of range: err = pair 4, y = 0", err == 4 && y[4] == 0.0);
  return finish("factorization");
}
