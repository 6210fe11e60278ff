#!/usr/bin/env bash
# Run HERE (the development machine, which has Rust) before a GPU session: builds the one binary
# that benches/gpu_check.sh runs on the lent GPU machine (which has no Rust toolchain), strips it and
# puts it in .gpu/ (ignored by git; name `.gpu` in the device tool's `carry`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --features cuda
mkdir -p .gpu
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
cp target/release/glassgrad .gpu/glassgrad
strip .gpu/glassgrad
echo "glibc needed: $(objdump -T .gpu/glassgrad | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
ls -l .gpu/glassgrad
echo 'then: device run, carry [".gpu"], command: bash benches/gpu_check.sh'
