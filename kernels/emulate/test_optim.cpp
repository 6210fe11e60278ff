// Emulated run of kernels/optim.cu: 3 steps of SGD / Adam / AdamW, the host side computing the
// scalars as the header says, against torch.optim's results (printed by optim_torch.py, which
// has the PyTorch code and the parameter/gradient recipe).
#include "cuda_shim.h"
#include "check.h"
#include "../optim.cu"
#include <cmath>

struct Case {
  const char *name;
  std::vector<double> want;
};
static const std::vector<Case> torch_results = {
  // /tmp/torchvenv/bin/python kernels/emulate/optim_torch.py  (PyTorch 2.x, float64)
  {"sgd plain", {-0.7487657141166153, -0.1607372448299626, 0.39119322842283016, 0.6754019903700488, 0.7064074324523949}},
  {"sgd momentum dampening decay", {-0.9408116751763437, -0.361816306864522, 0.3668498496348214, 0.8497266740658361, 0.9173316245607135}},
  {"sgd nesterov maximize", {-0.18399585208247857, -0.17618718748100073, -0.1902719128910794, 0.06251801975338869, 0.6255873286586994}},
  {"adam", {-0.528458754532825, -0.21610634954206712, 0.10464145972690397, 0.42887700264738104, 0.718511905963354}},
  {"adam l2 amsgrad", {-0.5556360856676783, -0.22919773508102556, 0.11026854872852493, 0.4574989817107886, 0.7333076898332537}},
  {"adam beta1=0.3 maximize", {-0.4463178342093924, -0.18781404607846086, 0.07429435715302739, 0.3423831060610872, 0.6816052451481538}},
  {"adamw", {-0.5269304131449158, -0.21547874542996762, 0.10435519123763978, 0.4276485073072359, 0.716384894545787}},
  {"adamw amsgrad", {-0.5758939196161004, -0.2442338350084001, 0.11237602657402074, 0.47894051261951914, 0.7424880737738466}},
};

struct Sgd { double lr, momentum = 0, dampening = 0, wd = 0; bool nesterov = false, maximize = false; };
struct Adam { double lr, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0; bool amsgrad = false, maximize = false, adamw = false; };

template <typename T> void sgd_step(i64 n, T *w, const T *g, T *buf, const Sgd &c, bool first) {
  auto k = [](double v) { return (T)v; }; // scalars rounded to T
  const int mom = c.momentum != 0, dec = c.wd != 0;
  if constexpr (sizeof(T) == 8)
    LAUNCH(2, 2, sgd_step_f64(n, w, g, buf, k(-c.lr), k(c.wd), k(c.momentum), k(1.0 - c.dampening), c.maximize, dec, mom, first, c.nesterov));
  else
    LAUNCH(1, 3, sgd_step_f32(n, w, g, buf, k(-c.lr), k(c.wd), k(c.momentum), k(1.0 - c.dampening), c.maximize, dec, mom, first, c.nesterov));
}

template <typename T> void adam_step(i64 n, T *w, const T *g, T *m, T *v, T *vmax, const Adam &c, int t) {
  auto k = [](double x) { return (T)x; };
  const double bc1 = 1.0 - std::pow(c.b1, t), bc2 = 1.0 - std::pow(c.b2, t);
  const double neg_step = -(c.lr / bc1), bc2_sqrt = std::sqrt(bc2);
  const double wd = c.adamw ? 0.0 : c.wd, keep = c.adamw ? 1.0 - c.lr * c.wd : 1.0;
  if constexpr (sizeof(T) == 8)
    LAUNCH(3, 1, adam_step_f64(n, w, g, m, v, vmax, k(neg_step), k(bc2_sqrt), k(1.0 - c.b1), k(c.b2), k(1.0 - c.b2), k(c.eps), k(wd), k(keep), c.maximize, wd != 0, c.amsgrad, c.adamw));
  else
    LAUNCH(1, 2, adam_step_f32(n, w, g, m, v, vmax, k(neg_step), k(bc2_sqrt), k(1.0 - c.b1), k(c.b2), k(1.0 - c.b2), k(c.eps), k(wd), k(keep), c.maximize, wd != 0, c.amsgrad, c.adamw));
}

template <typename T> void run(const char *tn, double tol) {
  const i64 n = 5;
  std::vector<Sgd> sgds = {{0.1}, {0.1, 0.9, 0.25, 0.01}, {0.05, 0.8, 0, 0, true, true}};
  std::vector<Adam> adams = {{0.01}, {0.02, 0.8, 0.9, 1e-8, 0.1, true}, {0.02, 0.3, 0.99, 1e-8, 0, false, true},
                             {0.01, 0.9, 0.999, 1e-8, 0.1, false, false, true}, {0.03, 0.9, 0.999, 1e-8, 0.2, true, false, true}};
  for (size_t c = 0; c < sgds.size() + adams.size(); ++c) {
    std::vector<T> w(n), g(n), b(n, T(-99)), m(n, 0), v(n, 0), vmax(n, 0);
    for (i64 e = 0; e < n; ++e) w[e] = (T)(0.3 * e - 0.5);
    for (int t = 1; t <= 3; ++t) {
      for (i64 e = 0; e < n; ++e) g[e] = (T)(std::sin((double)(e + t)) * (t + 1) / 2);
      if (c < sgds.size()) sgd_step<T>(n, w.data(), g.data(), b.data(), sgds[c], t == 1);
      else adam_step<T>(n, w.data(), g.data(), m.data(), v.data(), vmax.data(), adams[c - sgds.size()], t);
    }
    expect_close(std::string(tn) + " " + torch_results[c].name + " = torch.optim after 3 steps", w, torch_results[c].want, tol);
  }
}

// Row-sparse SGD and SparseAdam (3 steps on rows {0, 2, 5} of a (6, 4) table, then rows {2, 3})
// against a direct transcription of src/optim/sparse.rs's loops; untouched rows keep their values
// and moments.
void sparse_rows() {
  const i64 V = 6, D = 4;
  Rng rng(9);
  auto w0 = randv<double>(rng, V * D);
  std::vector<std::vector<i64>> steps = {{0, 2, 5}, {2, 3}, {0, 2, 5}};
  for (int maximize = 0; maximize < 2; ++maximize) {
    auto w = w0, wref = w0;
    std::vector<double> m(V * D, 0), v(V * D, 0), mref(V * D, 0), vref(V * D, 0);
    auto ws = w0, wsref = w0;
    const double lr = 0.05, b1 = 0.8, b2 = 0.95, eps = 1e-8;
    for (size_t t = 1; t <= steps.size(); ++t) {
      const auto &rows = steps[t - 1];
      const i64 n = (i64)rows.size();
      auto g = randv<double>(rng, n * D);
      const double step_size = lr * std::sqrt(1.0 - std::pow(b2, (double)t)) / (1.0 - std::pow(b1, (double)t));
      LAUNCH(2, 3, sparse_adam_rows_f64(n, D, w.data(), m.data(), v.data(), rows.data(), g.data(), -step_size, 1.0 - b1, 1.0 - b2, eps, maximize));
      LAUNCH(1, 5, sparse_sgd_rows_f64(n, D, ws.data(), rows.data(), g.data(), -lr, maximize));
      for (i64 k = 0; k < n; ++k)
        for (i64 c = 0; c < D; ++c) {
          const i64 e = rows[k] * D + c;
          const double gk = maximize ? -g[k * D + c] : g[k * D + c];
          const double u = (gk - mref[e]) * (1.0 - b1), s = (gk * gk - vref[e]) * (1.0 - b2);
          mref[e] += u;
          vref[e] += s;
          wref[e] += -step_size * (mref[e] / (std::sqrt(vref[e]) + eps));
          wsref[e] += -lr * gk;
        }
    }
    const std::string tag = maximize ? " (maximize)" : "";
    expect_close("sparse adam rows: table" + tag, w, wref, 0);
    expect_close("sparse adam rows: exp_avg" + tag, m, mref, 0);
    expect_close("sparse adam rows: exp_avg_sq" + tag, v, vref, 0);
    expect_close("sparse sgd rows: table" + tag, ws, wsref, 0);
    expect_true("untouched rows (1, 4) keep their values" + tag,
                w[1 * D] == w0[1 * D] && w[4 * D + 3] == w0[4 * D + 3] && m[4 * D] == 0.0);
  }
}

int main() {
  run<double>("f64", 1e-14);
  run<float>("f32", 2e-6);
  sparse_rows();
  return finish("optim");
}
