// Emulated run of kernels/lstm.cu (see test_recurrent.inc).
#include "cuda_shim.h"
#include "check.h"
#include "../lstm.cu"
#define KIND 1
#define FWD_CALL                                                                                  \
  if constexpr (sizeof(T) == 8) LAUNCH(2, 3, lstm_fwd_f64(N, TT, H, s, tm, p.data(), pr.c0.data(), extra.data(), y.data())); \
  else LAUNCH(1, 3, lstm_fwd_f32(N, TT, H, s, tm, p.data(), pr.c0.data(), extra.data(), y.data()))
#define BWD_CALL                                                                                  \
  if constexpr (sizeof(T) == 8) LAUNCH(2, 2, lstm_bwd_f64(N, TT, H, s, tm, acts.data(), extra.data(), pr.c0.data(), dy.data(), dh.data(), dc.data(), da.data())); \
  else LAUNCH(1, 5, lstm_bwd_f32(N, TT, H, s, tm, acts.data(), extra.data(), pr.c0.data(), dy.data(), dh.data(), dc.data(), da.data()))
#include "test_recurrent.inc"
int main() { return run_all("lstm"); }
