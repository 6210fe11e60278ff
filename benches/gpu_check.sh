#!/usr/bin/env bash
# Run ON the lent GPU machine, in one call (see benches/gpu_prepare.sh for the binary):
#   1. the machine: nvidia-smi, where NVRTC is;
#   2. glassgrad doctor --require-gpu (driver, device, every kernel compiled by NVRTC);
#   3. glassgrad selftest --device cuda (CPU–CUDA agreement, forward and backward, f32 and f64),
#      then again with every GEMM through cuBLAS (GLASSGRAD_GEMM=cublas);
#   4. glassgrad check --device cuda tests/cases (the PyTorch conformance cases on the GPU; ops
#      without a CUDA kernel fail with a device error and are counted, not hidden);
#   5. glassgrad bench --device cuda beside PyTorch on the same case ids (the machine's python3,
#      TF32 off), one table.
# Everything goes to $OUT/log (and stdout); the exit status is the selftest's.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
exec > >(tee "$OUT/log") 2>&1
G=./.gpu/glassgrad
echo "== machine ($(date -u +%FT%TZ))"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
# NVRTC: the CUDA toolkit's, else the one in torch's wheels.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         $(python3 -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13", "lib"))' 2>/dev/null); do
  if ls "$d"/libnvrtc.so* >/dev/null 2>&1; then export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; echo "nvrtc from $d"; break; fi
done
# cuBLAS (the GEMM comparison path): same search.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         $(python3 -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13", "lib"))' 2>/dev/null); do
  if ls "$d"/libcublas.so* >/dev/null 2>&1; then export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; echo "cublas from $d"; break; fi
done
[[ -d /usr/local/cuda/include ]] && export NVRTC_INCLUDE_PATH=/usr/local/cuda/include
echo "== doctor";   $G doctor --require-gpu; doctor=$?
echo "== selftest"; $G selftest --device cuda; selftest=$?
echo "== selftest, GEMMs through cuBLAS"; GLASSGRAD_GEMM=cublas $G selftest --device cuda | tail -n 25
echo "== cases on cuda"; $G check --device cuda tests/cases | tail -n 40
echo "== bench";    $G bench --device cuda --peak-gflops 66900 --samples 20 --torch python3
echo "== exit: doctor $doctor, selftest $selftest"
exit $selftest
