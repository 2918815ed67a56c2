#!/usr/bin/env bash
# The device check: the CUDA parity tests and the NVRTC compile test on a real GPU.
#
#   engine/benches/gpu_check.sh build   # here, on the development machine (has Rust)
#   engine/benches/gpu_check.sh run     # on the GPU machine, from the repository root
#
# `build` compiles the test binaries without the embedded weights (they read engine/weights/ at
# run time) and copies them, stripped, into target/gpu-bundle (a few MB), beside whatever
# gpu_bench.sh put there. The GPU machine
# needs no Rust and no internet: only the NVIDIA driver and the CUDA 13 libraries NVRTC and
# cuBLAS, found on LD_LIBRARY_PATH (the toolkit's lib64, or the nvidia-* wheels that PyTorch
# brings). `run` sets REQUIRE_CUDA=1 and REQUIRE_NVRTC=1, so a missing GPU or library is a
# failure rather than a skip, and prints a one-screen summary.
set -uo pipefail
cd "$(dirname "$0")/../.."
bundle=target/gpu-bundle

build() {
  set -e
  # Only this script's files are replaced: gpu_bench.sh puts its own binaries in the same
  # bundle, and both travel together to the GPU machine.
  mkdir -p "$bundle"
  rm -f "$bundle/cuda_parity" "$bundle/cuda_kernels_compile"
  # Without the embedded weights (the tests read engine/weights/), in the target folder
  # gpu_bench.sh uses for its own build without them.
  cargo test --release -p picasso-engine --no-default-features --target-dir target/no-embed \
    --test cuda_parity --test cuda_kernels_compile --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])' |
    while read -r name exe; do
      strip -o "$bundle/$name" "$exe"
    done
  for test in cuda_parity cuda_kernels_compile; do
    [ -x "$bundle/$test" ] || { echo "gpu_check.sh build: $test was not built" >&2; exit 1; }
  done
  ls -la "$bundle"
}

# Seconds since `start` (from `date +%s%N`), with one decimal: shell arithmetic, no `bc`.
elapsed() {
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

# Folders that may hold libnvrtc.so.13 and libcublas.so.13 on a machine with CUDA 13.
library_path() {
  local dirs=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13.0/lib64)
  local site
  site=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)
  for s in $site; do
    for d in "$s"/nvidia/*/lib "$s"/nvidia/cu13/lib; do dirs+=("$d"); done
  done
  local out=""
  for d in "${dirs[@]}"; do [ -d "$d" ] && out="$out:$d"; done
  echo "${out#:}"
}

run() {
  export REQUIRE_CUDA=1 REQUIRE_NVRTC=1
  export LD_LIBRARY_PATH="$(library_path)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "== device"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2
  for lib in libcuda.so.1 libnvrtc.so.13 libcublas.so.13; do
    found=$(ldconfig -p 2>/dev/null | grep -m1 "$lib" | awk '{print $NF}')
    [ -z "$found" ] && for d in ${LD_LIBRARY_PATH//:/ }; do [ -e "$d/$lib" ] && found="$d/$lib" && break; done
    echo "$lib: ${found:-NOT FOUND}"
  done
  status=0
  for test in cuda_kernels_compile cuda_parity; do
    echo "== $test"
    start=$(date +%s%N)
    "$bundle/$test" --test-threads=4 > "$bundle/$test.log" 2>&1
    code=$?
    [ $code -ne 0 ] && status=1
    grep -E '^test |^test result|CUDA parity on|panicked|REQUIRE' "$bundle/$test.log" | grep -v ' ok$' | head -40
    echo "$test: exit $code, $(grep -c ' ok$' "$bundle/$test.log") passed, $(elapsed "$start") s"
  done
  echo "== device check: $([ $status -eq 0 ] && echo PASSED || echo FAILED)"
  return $status
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  libs) library_path ;;
  elapsed) elapsed "$2" ;;
  *) echo "usage: $0 build|run|libs|elapsed START_NS" >&2; exit 2 ;;
esac
