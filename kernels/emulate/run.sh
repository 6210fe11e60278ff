#!/usr/bin/env bash
# CPU emulation tests of the CUDA kernels (not part of CI; no GPU, no CUDA toolkit needed):
# each kernels/<file>.cu is compiled with g++ through cuda_shim.h and its kernels are run on small
# inputs against independent references. Usage: kernels/emulate/run.sh [conv2d pool2d ...]
#   copy           copy_fwd of every dtype from transposed/narrowed/permuted/broadcast/0-d views
#                  (bitwise), copy_into as pad_narrow, cat and place_in_corner, fill_fwd, the nine
#                  casts vs hand values (ties to even, i64 -> f32 rounded once, truncation)
#   elementwise    every unary op vs long-double references on a transposed narrowed view with
#                  NaN/±inf/±0/±1000 (the CPU op's values), every backward vs central differences
#                  and hand values at kinks and bounds, add..div broadcasting (0-d), ±0, bitwise grids
#   reduce         sum_fwd over reduction views (kept dim between reduced ones, k > 256,
#                  transposed, broadcast, 0-d, k = 0, scale), NaN/inf/overflow rows, bitwise grids
#   conv2d         forward/grad-input/grad-weight composed via im2col/col2im + loop GEMMs vs the
#                  direct formulas (groups, stride, padding, dilation, pointwise), bias fwd/bwd
#                  (block reduction), flip, launch-shape independence (bitwise)
#   pool2d         max (values, arg-max with ties and NaN), avg (both count_include_pad),
#                  adaptive 1x1, backward gathers vs the CPU op's scatter; overlapping, gapped
#   embedding      gather, CSR backward dense/compact with padding_idx, out-of-range flag
#   factorization  mf_predict forward, CSR row gradients, dmu, out-of-range flag
#   rnn lstm gru   one layer composed as the headers say (both sequence layouts), every input's
#                  gradient vs central finite differences (f64); f32 vs f64
#   optim          SGD / Adam / AdamW (amsgrad, nesterov, maximize, decay) vs torch.optim values;
#                  the row-sparse SGD / SparseAdam updates vs direct loops
#   matmul         the general strided GEMM, the 32x32-tile and the fast contiguous f32 kernels vs a double
#                  reference (partial tiles, batches, alpha/beta, broadcast), fast = general bitwise
#   norm           layer_norm and batch_norm (training, evaluation, running update) fwd + bwd vs
#                  double loops, their gradients vs central finite differences; NaN row, bitwise
#                  equality across grids
#   bce            BCE with logits vs the textbook formula in long double (strided x, broadcast
#                  weights, |x| up to 1e4, NaN), gradients vs central differences, mean form
#   loss           nll_loss fwd + bwd (class weights, ignored rows, per-row and mean upstream)
#   softmax        logsumexp (middle dimension, lanes > 256, values near 1000, -inf/+inf/NaN lanes,
#                  empty lanes); softmax and log_softmax fwd (lanes near ±1000, -inf/+inf/NaN lanes,
#                  lanes of one) and bwd vs central differences and the Jacobian; bitwise grids
#   compare        eq..ge (tensor, scalar; f32 f64 i64 bool), logical ops, where, masked_fill,
#                  maximum/minimum fwd + bwd weights: broadcast/transposed layouts, ties, NaN, ±0
#   stats          max_dim/min_dim (ties, NaN, rows > 256, grid < rows), argmax of a transposed
#                  view, max_dim gather backward, full max/min spread among ties/NaNs, var fwd
#                  (corrections, N - c <= 0, empty rows) and bwd
#   index          gather (strided, index larger along d), index_select (broadcast index, bool),
#                  index_select CSR backward, scatter_add (strided, src corner, repeats, i64,
#                  empty index; exact and launch-shape independent), one_hot, out-of-range values
#   sort           sort asc/desc and topk largest/smallest, sorted/unsorted, vs std::stable_sort
#                  (ties, NaN, -0.0/0.0, i64, lanes of one, k = 0, n = 300), backward scatter
set -euo pipefail
cd "$(dirname "$0")"
OUT=${TMPDIR:-/tmp}/gg-kernel-emulate
mkdir -p "$OUT"
tests=("$@")
[[ ${#tests[@]} -gt 0 ]] || tests=(copy elementwise reduce matmul conv2d pool2d embedding factorization rnn lstm gru optim norm bce loss softmax compare stats index sort)
fail=0
for t in "${tests[@]}"; do
  g++ -std=c++20 -O1 -Wall -Wextra -Werror -Wno-unknown-pragmas -pthread -o "$OUT/test_$t" "test_$t.cpp"
  if "$OUT/test_$t" > "$OUT/test_$t.log"; then
    tail -1 "$OUT/test_$t.log"
  else
    grep -v '^ok' "$OUT/test_$t.log" || true
    fail=1
  fi
done
exit $fail
