// Emulated run of kernels/rnn.cu (see test_recurrent.inc).
#include "cuda_shim.h"
#include "check.h"
#include "../rnn.cu"
#define KIND 0
#define FWD_CALL                                                                                  \
  if constexpr (sizeof(T) == 8) LAUNCH(2, 3, rnn_tanh_fwd_f64(N, TT, H, s, tm, p.data(), y.data())); \
  else LAUNCH(1, 3, rnn_tanh_fwd_f32(N, TT, H, s, tm, p.data(), y.data()))
#define BWD_CALL                                                                                  \
  if constexpr (sizeof(T) == 8) LAUNCH(2, 2, rnn_tanh_bwd_f64(N, TT, H, s, tm, y.data(), dy.data(), dh.data(), da.data())); \
  else LAUNCH(1, 5, rnn_tanh_bwd_f32(N, TT, H, s, tm, y.data(), dy.data(), dh.data(), da.data()))
#include "test_recurrent.inc"
int main() { return run_all("rnn_tanh"); }
