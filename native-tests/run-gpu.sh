#!/usr/bin/env bash
# The GPU checks of jmoco's CUDA backend, on a machine with an NVIDIA GPU and driver but no Java, Maven or
# network: everything comes from the bundle native-tests/package.sh built. Run from the repository root:
#   OUT=/some/folder native-tests/run-gpu.sh [--dry-run] [BUNDLE]     # BUNDLE: dist/gpu.tar.gz (default) or dist/gpu
# Parts (each under `timeout`, each logged to $OUT/NAME.log; a failed part is reported and the next one runs):
#   nvidia-smi, devices, conformance (JUnit, JMOCO_REQUIRE_CUDA=1), cuda-tests, nccl, train-cuda, train-cpu + curves,
#   jmh-targets, jmh-infonce, jmh-moco, torch-peer, jmh-gemm, jmh-conv, ratios, profile (most important first: a part that
#   would outlive the budget is cut). The whole run is held under TOTAL_S seconds (default 520; the device session is
#   15 minutes including start-up). --dry-run: only what needs no GPU (bundle check, the runtime's version,
#   `jmoco devices`, the conformance tests listed, not run). Exit status: 0 when every part passed, 1 when one
#   failed, 2 on a bad bundle, 3 when there is no NVIDIA driver.
set -uo pipefail
dry=0 bundle=dist/gpu.tar.gz
for a in "$@"; do
  case "$a" in
    --dry-run) dry=1 ;;
    -*) echo "run-gpu.sh: unknown option $a" >&2; exit 2 ;;
    *) bundle=$a ;;
  esac
done
OUT=${OUT:-native-tests/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
total=${TOTAL_S:-520}
SECONDS=0
summary=$OUT/summary.txt
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }

# --- the bundle: unpack a tar.gz once, then check that every piece is there ---------------------------------
if [ -f "$bundle" ]; then
  dest=${TMPDIR:-/tmp}/jmoco-gpu-bundle
  rm -rf "$dest" && mkdir -p "$dest" && tar -C "$dest" -xzf "$bundle" || { say "bundle: cannot unpack $bundle"; exit 2; }
  B=$(ls -d "$dest"/*/ | head -n 1)
else
  B=$bundle
fi
B=${B%/}
missing=()
for f in runtime/bin/java runtime/lib/libjsig.so lib/jmoco.jar test/jmoco-tests.jar \
         test/junit-platform-console-standalone.jar bench/benchmarks.jar \
         data/fashion-mnist/train-images-idx3-ubyte.gz data/fashion-mnist/t10k-labels-idx1-ubyte.gz; do
  [ -e "$B/$f" ] || missing+=("$f")
done
ls "$B"/lib/jcuda-*.jar >/dev/null 2>&1 || missing+=("lib/jcuda-*.jar")
ls "$B"/lib/jcuda-natives-*linux-x86_64*.jar >/dev/null 2>&1 || missing+=("lib/jcuda-natives-*-linux-x86_64.jar")
[ ${#missing[@]} -eq 0 ] || { say "bundle: incomplete ($B): missing ${missing[*]}"; exit 2; }
say "bundle: complete ($B; $(head -n 1 "$B/MANIFEST.txt" 2>/dev/null))"

JAVA=$B/runtime/bin/java
JOPTS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
# An OpenCL driver (NVIDIA's ICD may be present) may replace the JVM's signal handlers (CONTRIBUTING.md, Known hazards).
export LD_PRELOAD="$B/runtime/lib/libjsig.so${LD_PRELOAD:+:$LD_PRELOAD}"
# Commands as arrays, not functions: `timeout` runs programs.
JMOCO=("$JAVA" "${JOPTS[@]}" -XX:MaxRAMPercentage=75 -cp "$B/lib/*" dev.jmoco.cli.Main)
JUNIT=("$JAVA" "${JOPTS[@]}" -XX:MaxRAMPercentage=50 -jar "$B/test/junit-platform-console-standalone.jar")
SUITE=(--class-path "$B/test/jmoco-tests.jar:$(ls "$B"/lib/*.jar | tr '\n' ':')"
       --select-package dev.jmoco.backend.conformance --disable-banner --disable-ansi-colors)

failed=()
# part NAME BUDGET_S COMMAND...: runs COMMAND under timeout (the budget, cut to what is left of TOTAL_S),
# output to $OUT/NAME.log and the console.
part() {
  local name=$1 budget=$2; shift 2
  local left=$((total - SECONDS - 5))
  [ "$budget" -le "$left" ] || budget=$left
  if [ "$budget" -lt 10 ]; then say "$name: SKIPPED (time budget spent)"; failed+=("$name"); return; fi
  echo "=== $name (budget ${budget}s, ${SECONDS}s elapsed) ===" | tee -a "$OUT/console.log"
  local start=$SECONDS rc
  timeout -k 10 "$budget" "$@" > >(tee "$OUT/$name.log" >> "$OUT/console.log") 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then say "$name: ok ($((SECONDS - start)) s)"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then say "$name: FAILED, timed out after ${budget}s"; failed+=("$name")
  else say "$name: FAILED (exit $rc, $((SECONDS - start)) s; see $name.log)"; failed+=("$name"); fi
}

part java-version 20 "$JAVA" -version

if [ "$dry" = 1 ]; then
  part devices 30 "${JMOCO[@]}" devices
  if grep -q '^cuda  *unavailable' "$OUT/devices.log"; then say "devices: cuda listed as unavailable (expected without a driver)"
  else say "devices: FAILED, no 'cuda unavailable' line"; failed+=(devices-cuda); fi
  part conformance-list 60 "${JUNIT[@]}" discover "${SUITE[@]}"
  # Parameterized tests are containers until they run: count the listed test methods.
  tests=$(grep -cE '─ [A-Za-z0-9_]+\(' "$OUT/conformance-list.log")
  classes=$(grep -cE '─ [A-Za-z0-9_]+ConformanceTest$' "$OUT/conformance-list.log")
  if [ "${tests:-0}" -gt 0 ]; then say "conformance: ${tests} test methods in ${classes} classes listed"
  else say "conformance: FAILED, no tests found"; failed+=(conformance-count); fi
  say "dry run: ${#failed[@]} failed${failed:+: ${failed[*]}} (${SECONDS}s)"
  [ ${#failed[@]} -eq 0 ]; exit $?
fi

# --- the driver: without it nothing below can run --------------------------------------------------------
libcuda=$(ldconfig -p 2>/dev/null | grep -o '/.*libcuda\.so\.1$' | head -n 1)
[ -n "$libcuda" ] || libcuda=$(ls /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 /usr/local/nvidia/lib64/libcuda.so.1 2>/dev/null | head -n 1)
if ! command -v nvidia-smi >/dev/null 2>&1 || [ -z "$libcuda" ]; then
  say "no NVIDIA driver: nvidia-smi not found / libcuda.so.1 missing"
  exit 3
fi

# --- cuBLAS 13, cuDNN 9 and NCCL 2 from PyTorch's Python packages (bound when found; NCCL under nvidia/nccl/lib)
# (nvrtc and nvJitLink too: cuDNN's runtime-compiled engines load them.)
libdirs=$(timeout 60 find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o \( -name 'libcudnn.so.9*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' \
  -o -name 'libnvrtc.so.13*' -o -name 'libnvJitLink.so.13*' -o -name 'libnccl.so.2*' \) \
  -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:-}"
say "libraries: LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-<none found>}"
PY=${PYTHON:-$(for p in python3 /usr/bin/python3 /opt/conda/bin/python3; do
  command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null && { echo "$p"; break; }; done)}
PY=${PY:-python3}

part nvidia-smi 20 nvidia-smi
part devices 30 "${JMOCO[@]}" devices
# Every op against the CPU backend on cuda, cuda:kernels and cuda:portable (ConformanceBackends; with the
# InfoNCE-by-rows test, which uses the same targets), then the CUDA package's own tests: cuBLAS/cuDNN/NCCL
# bindings (must load here), the TF32 GEMM, the options; then NCCL's collectives on the GPU (one rank). One JVM
# per class (junit-classes.sh): a sticky CUDA error then costs one class, not the rest.
export PYTHON="$PY"
JMOCO_REQUIRE_CUDA=1 part conformance 150 native-tests/junit-classes.sh "$B" "$OUT/junit" \
  dev.jmoco.backend.conformance dev.jmoco.backend.gpu.InfoNceRowsTest
JMOCO_REQUIRE_CUDA=1 JMOCO_REQUIRE_CUDA_LIBRARIES=1 part cuda-tests 60 native-tests/junit-classes.sh "$B" \
  "$OUT/junit-cuda" dev.jmoco.backend.cuda dev.jmoco.backend.cuda.libraries
JMOCO_REQUIRE_CUDA=1 JMOCO_REQUIRE_CUDA_LIBRARIES=1 part nccl 30 native-tests/junit-classes.sh "$B" \
  "$OUT/junit-nccl" dev.jmoco.dist.NcclCollectiveGpuTest

train=(train --dataset fashion-mnist --data-dir "$B/data/fashion-mnist" --limit-train 512 --batch 64
       --queue 256 --epochs 2 --log-every 1 --knn-every 0 --seed 1)
part train-cuda 45 "${JMOCO[@]}" "${train[@]}" --device cuda --out "$OUT/train-cuda"
part train-cpu 45 "${JMOCO[@]}" "${train[@]}" --device cpu --out "$OUT/train-cpu"
part curves 10 "$PY" native-tests/report.py curves "$OUT/train-cpu/metrics.csv" "$OUT/train-cuda/metrics.csv"

# The issue's targets first (EMA against copy bandwidth, InfoNCE per CUDA path, the ResNet-18 MoCo step), then
# each hand-written kernel against cuBLAS/cuDNN (cuda:kernels against cuda, with and without TF32).
# Not -foe: a configuration that fails must not stop the others; jmh_failures then names the part.
jmh=(-f 1 -wi 1 -i 3 -w 1 -r 1)
jmh_failures() {
  if grep -q '<failure>' "$OUT/$1.log" 2>/dev/null; then
    say "$1: FAILED for $(grep -c '<failure>' "$OUT/$1.log") configuration(s) (see $1.log)"; failed+=("$1")
  fi
}
BENCH=("$JAVA" -jar "$B/bench/benchmarks.jar")
part jmh-targets 60 "${BENCH[@]}" '\.(EmaBench\.ema|CopyBench\.copy)$' -p device=cuda "${jmh[@]}" \
  -rf json -rff "$OUT/jmh-targets.json"
jmh_failures jmh-targets
part jmh-infonce 50 "${BENCH[@]}" 'InfoNceBench\.forwardBackward$' -p device=cuda,cuda:kernels,cuda:portable,cuda:tf32 \
  "${jmh[@]}" -rf json -rff "$OUT/jmh-infonce.json"
jmh_failures jmh-infonce
part jmh-moco 90 "${BENCH[@]}" 'MocoStepBench' -p arch=resnet18 -p device=cuda,cuda:kernels,cuda:tf32 \
  "${jmh[@]}" -rf json -rff "$OUT/jmh-moco.json"
jmh_failures jmh-moco
part torch-peer 75 bash -c "'$PY' native-tests/torch_gpu_peer.py --quick > '$OUT/torch-peer.json.tmp' && tail -n 1 '$OUT/torch-peer.json.tmp' > '$OUT/torch-peer.json'"
part jmh-gemm 40 "${BENCH[@]}" 'GemmBench\.sgemm$' -p device=cuda,cuda:kernels,cuda:tf32,cuda:kernels:tf32 \
  "${jmh[@]}" -rf json -rff "$OUT/jmh-gemm.json"
jmh_failures jmh-gemm
part jmh-conv 60 "${BENCH[@]}" 'ConvBench\.(forward|backwardData|backwardFilter)$' -p device=cuda,cuda:kernels \
  "${jmh[@]}" -rf json -rff "$OUT/jmh-conv.json"
jmh_failures jmh-conv
part ratios 10 "$PY" native-tests/report.py ratios "$OUT"/jmh-*.json "$OUT/torch-peer.json"
# Where the GPU time goes (cuda:profile: CUDA events around every kernel and library call), for the next round
# of optimisation: the InfoNCE routes and the ResNet-18 MoCo step. Tables in profile.log ("# GPU profile").
part profile 60 "${BENCH[@]}" '(InfoNceBench\.forwardBackward|MocoStepBench\.step)$' -p arch=resnet18 \
  -p device=cuda:profile,cuda:portable:profile -f 1 -wi 1 -i 1 -w 1 -r 1
jmh_failures profile

say "run: ${#failed[@]} part(s) failed${failed:+: ${failed[*]}} (${SECONDS}s of ${total}s)"
[ ${#failed[@]} -eq 0 ]
