// Emulated run of kernels/gru.cu (see test_recurrent.inc).
#include "cuda_shim.h"
#include "check.h"
#include "../gru.cu"
#define KIND 2
#define FWD_CALL                                                                                  \
  if constexpr (sizeof(T) == 8) LAUNCH(2, 3, gru_fwd_f64(N, TT, H, s, tm, p.data(), q.data(), pr.h0.data(), extra.data(), y.data())); \
  else LAUNCH(1, 3, gru_fwd_f32(N, TT, H, s, tm, p.data(), q.data(), pr.h0.data(), extra.data(), y.data()))
#define BWD_CALL                                                                                  \
  if constexpr (sizeof(T) == 8) LAUNCH(2, 2, gru_bwd_f64(N, TT, H, s, tm, acts.data(), extra.data(), y.data(), pr.h0.data(), dy.data(), dh.data(), da.data(), dq.data())); \
  else LAUNCH(1, 5, gru_bwd_f32(N, TT, H, s, tm, acts.data(), extra.data(), y.data(), pr.h0.data(), dy.data(), dh.data(), da.data(), dq.data()))
#include "test_recurrent.inc"
int main() { return run_all("gru"); }
