#!/usr/bin/env bash
# The GPU checks of jmoco's CUDA backend, on a machine with an NVIDIA GPU and driver but no Java, Maven or
# network: everything comes from the bundle native-tests/package.sh built. Run from the repository root:
#   OUT=/some/folder native-tests/run-gpu.sh [--dry-run] [BUNDLE]     # BUNDLE: dist/gpu.tar.gz (default) or dist/gpu
# Parts (each under `timeout`, each logged to $WORK/NAME.log; a failed part is reported and the next one runs):
#   nvidia-smi, devices, conformance (JUnit, JMOCO_REQUIRE_CUDA=1), cuda-tests, nccl, train-cuda, train-cpu + curves,
#   jmh-targets, jmh-infonce, jmh-moco, torch-peer, jmh-gemm, jmh-conv, ratios, profile (most important first: a part that
#   would outlive the budget is cut). The whole run is held under TOTAL_S seconds (default 480, planned to end in
#   about 8 minutes, so that a second run fits in one 15-minute loan). Every log, report and JSON goes to a scratch
#   folder (WORK, default $TMPDIR/jmoco-gpu-run); after every part $OUT gets summary.txt and one archive of the
#   scratch folder, logs.tar.gz (no checkpoints): two files, so a run cut short still returns everything so far. --dry-run: only what needs no GPU (bundle check, the runtime's version,
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
WORK=${WORK:-${TMPDIR:-/tmp}/jmoco-gpu-run}
rm -rf "$WORK" && mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
total=${TOTAL_S:-480}
SECONDS=0
summary=$OUT/summary.txt
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
# $OUT holds two files: summary.txt and logs.tar.gz, the scratch folder as it stands (what comes back from the
# GPU machine is a few files, not a tree); refreshed after every part and on exit, checkpoints left out.
pack() {
  cp "$summary" "$WORK/summary.txt"
  tar -czf "$OUT/logs.tar.gz.part" -C "$WORK" --exclude='*.safetensors' . 2>/dev/null \
    && mv -f "$OUT/logs.tar.gz.part" "$OUT/logs.tar.gz"
}
trap pack EXIT

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
# output to $WORK/NAME.log and the console log, through a pipe (a process substitution may still be writing
# when the log is read), its status from PIPESTATUS; then $OUT is refreshed.
part() {
  local name=$1 budget=$2; shift 2
  local left=$((total - SECONDS - 5))
  [ "$budget" -le "$left" ] || budget=$left
  if [ "$budget" -lt 10 ]; then say "$name: SKIPPED (time budget spent)"; failed+=("$name"); pack; return; fi
  echo "=== $name (budget ${budget}s, ${SECONDS}s elapsed) ===" | tee -a "$WORK/console.log"
  local start=$SECONDS rc
  timeout -k 10 "$budget" "$@" 2>&1 | tee "$WORK/$name.log" >> "$WORK/console.log"
  rc=${PIPESTATUS[0]}
  if [ $rc -eq 0 ]; then say "$name: ok ($((SECONDS - start)) s)"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then say "$name: FAILED, timed out after ${budget}s"; failed+=("$name")
  else say "$name: FAILED (exit $rc, $((SECONDS - start)) s; see $name.log)"; failed+=("$name"); fi
  pack
}

part java-version 20 "$JAVA" -version

if [ "$dry" = 1 ]; then
  part devices 30 "${JMOCO[@]}" devices
  if grep -q '^cuda  *unavailable' "$WORK/devices.log"; then say "devices: cuda listed as unavailable (expected without a driver)"
  else say "devices: FAILED, no 'cuda unavailable' line"; failed+=(devices-cuda); fi
  part conformance-list 60 "${JUNIT[@]}" discover "${SUITE[@]}"
  # Parameterized tests are containers until they run: count the listed test methods.
  tests=$(grep -cE '─ [A-Za-z0-9_]+\(' "$WORK/conformance-list.log")
  classes=$(grep -cE '─ [A-Za-z0-9_]+ConformanceTest$' "$WORK/conformance-list.log")
  if [ "${tests:-0}" -gt 0 ]; then say "conformance: ${tests} test methods in ${classes} classes listed"
  else say "conformance: FAILED, no tests found"; failed+=(conformance-count); fi
  say "dry run: ${#failed[@]} failed${failed:+: ${failed[*]}} (${SECONDS}s)"
  [ ${#failed[@]} -eq 0 ]; exit $?
fi

# --- the driver: without it nothing below can run. Its library is what counts: a container may mount
# libcuda.so.1 without nvidia-smi. (JMOCO_LIBCUDA names a stand-in: native-tests/simulate.sh.)
libcuda=${JMOCO_LIBCUDA:-$(ldconfig -p 2>/dev/null | grep -o '/.*libcuda\.so\.1$' | head -n 1)}
[ -n "$libcuda" ] || libcuda=$(ls /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 /usr/local/nvidia/lib64/libcuda.so.1 2>/dev/null | head -n 1)
if [ -z "$libcuda" ] || [ ! -e "$libcuda" ]; then
  say "no NVIDIA driver: libcuda.so.1 not found"
  exit 3
fi
say "driver: $libcuda"

# --- the Python with torch (its packages hold cuBLAS 13, cuDNN 9, NCCL 2), then those libraries: its
# site-packages first (seconds), /usr/local/cuda*/lib64 next, a search of / (a minute) only for what is still missing
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for p in python3 /usr/bin/python3 /opt/*/bin/python3 /opt/*/*/bin/python3; do
    command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' 2>/dev/null && { PY=$p; break; }
  done
fi
PY=${PY:-python3}
want=(libcudnn.so.9 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13 libnvJitLink.so.13 libnccl.so.2)
names=()
for n in "${want[@]}"; do names+=(${names:+-o} -name "$n*"); done
libdirs=""
add_dirs() { # add_dirs SECONDS DIR...: the folders under DIR... that hold one of the wanted libraries
  local limit=$1 d; shift
  for d in $(timeout "$limit" find "$@" \( -path /proc -o -path /sys -o -path /dev \) -prune -o \( "${names[@]}" \) \
               -printf '%h\n' 2>/dev/null | sort -u); do
    case ":$libdirs:" in *":$d:"*) ;; *) libdirs="$libdirs$d:" ;; esac
  done
}
missing_libs() {
  local n d hit out=()
  for n in "${want[@]}"; do
    hit=""
    IFS=: read -r -a ds <<< "$libdirs"
    for d in "${ds[@]}"; do compgen -G "$d/$n*" >/dev/null && { hit=1; break; }; done
    [ -n "$hit" ] || out+=("$n")
  done
  echo "${out[*]}"
}
site=$("$PY" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)
[ -n "$site" ] && add_dirs 30 $site
cuda_dirs=$(ls -d /usr/local/cuda*/lib64 2>/dev/null)
[ -n "$(missing_libs)" ] && [ -n "$cuda_dirs" ] && add_dirs 20 $cuda_dirs
[ -n "$(missing_libs)" ] && add_dirs 60 "${JMOCO_SEARCH_ROOT:-/}" # (simulate.sh: its scratch folder)
export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:-}"
say "libraries: LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-<none found>}; missing: $(missing_libs)"
# An NVIDIA OpenCL driver here would make every conformance class open an OpenCL backend beside CUDA: this run
# is CUDA's (OpenCL is CI's, on PoCL), so the ICD loader gets an empty vendor folder.
mkdir -p "$WORK/no-opencl-vendors"
export OCL_ICD_VENDORS=$WORK/no-opencl-vendors

if command -v nvidia-smi >/dev/null 2>&1; then part nvidia-smi 20 nvidia-smi
else say "nvidia-smi: not on PATH (the driver library is enough)"; fi
part devices 30 "${JMOCO[@]}" devices
# Every op against the CPU backend on cuda, cuda:kernels and cuda:portable (ConformanceBackends; with the
# InfoNCE-by-rows test, which uses the same targets), then the CUDA package's own tests: cuBLAS/cuDNN/NCCL
# bindings (must load here), the TF32 GEMM, the options; then NCCL's collectives on the GPU (one rank). One JVM
# per class (junit-classes.sh): a sticky CUDA error then costs one class, not the rest.
export PYTHON="$PY"
JMOCO_REQUIRE_CUDA=1 part conformance 150 native-tests/junit-classes.sh "$B" "$WORK/junit" \
  dev.jmoco.backend.conformance dev.jmoco.backend.gpu.InfoNceRowsTest
# Only the classes that need the GPU or its libraries (the others run in CI): cuBLAS, cuDNN, the TF32 GEMM,
# the library bindings, NCCL's binding and its collectives on the GPU (one rank).
JMOCO_REQUIRE_CUDA=1 JMOCO_REQUIRE_CUDA_LIBRARIES=1 part cuda-tests 60 native-tests/junit-classes.sh "$B" \
  "$WORK/junit-cuda" dev.jmoco.backend.cuda.CublasGpuTest dev.jmoco.backend.cuda.CudnnGpuTest \
  dev.jmoco.backend.cuda.Tf32GemmTest dev.jmoco.backend.cuda.libraries.CublasLibraryTest \
  dev.jmoco.backend.cuda.libraries.CudnnLibraryTest dev.jmoco.backend.cuda.libraries.NcclBindingTest \
  dev.jmoco.dist.NcclCollectiveGpuTest

train=(train --dataset fashion-mnist --data-dir "$B/data/fashion-mnist" --limit-train 512 --batch 64
       --queue 256 --epochs 2 --log-every 1 --knn-every 0 --seed 1)
part train-cuda 45 "${JMOCO[@]}" "${train[@]}" --device cuda --out "$WORK/train-cuda"
part train-cpu 45 "${JMOCO[@]}" "${train[@]}" --device cpu --out "$WORK/train-cpu"
part curves 10 "$PY" native-tests/report.py curves "$WORK/train-cpu/metrics.csv" "$WORK/train-cuda/metrics.csv"

# The issue's targets first (EMA against copy bandwidth, InfoNCE per CUDA path, the ResNet-18 MoCo step), then
# each hand-written kernel against cuBLAS/cuDNN (cuda:kernels against cuda, with and without TF32). JMH writes
# its JSON when a call ends, so a call cut by its timeout loses everything it measured: one call per
# configuration, each with its own JSON ($WORK/NAME.json) and budget.
jmh=(-f 1 -wi 1 -i 3 -w 1 -r 1)
BENCH=("$JAVA" -jar "$B/bench/benchmarks.jar")
bench() { # bench NAME BUDGET PATTERN JMH-ARGS...: one JMH call; a failed configuration is named
  local name=$1 budget=$2 pattern=$3; shift 3
  part "$name" "$budget" "${BENCH[@]}" "$pattern" "$@" -rf json -rff "$WORK/$name.json"
  if grep -q '<failure>' "$WORK/$name.log" 2>/dev/null; then say "$name: FAILED (see $name.log)"; failed+=("$name"); fi
}
bench jmh-ema 25 '\.EmaBench\.ema$' -p device=cuda "${jmh[@]}"
bench jmh-copy 25 '\.CopyBench\.copy$' -p device=cuda "${jmh[@]}"
for d in cuda cuda:kernels cuda:portable cuda:tf32; do
  bench "jmh-infonce-${d//:/-}" 20 'InfoNceBench\.forwardBackward$' -p "device=$d" "${jmh[@]}"
done
for d in cuda cuda:kernels cuda:tf32; do
  bench "jmh-moco-${d//:/-}" 35 'MocoStepBench' -p arch=resnet18 -p "device=$d" "${jmh[@]}"
done
part torch-peer 75 bash -c "'$PY' native-tests/torch_gpu_peer.py --quick > '$WORK/torch-peer.json.tmp' && tail -n 1 '$WORK/torch-peer.json.tmp' > '$WORK/torch-peer.json'"
for d in cuda cuda:kernels cuda:tf32 cuda:kernels:tf32; do
  bench "jmh-gemm-${d//:/-}" 15 'GemmBench\.sgemm$' -p "device=$d" "${jmh[@]}"
done
for d in cuda cuda:kernels; do
  bench "jmh-conv-${d//:/-}" 25 'ConvBench\.(forward|backwardData|backwardFilter)$' -p "device=$d" "${jmh[@]}"
done
part ratios 10 "$PY" native-tests/report.py ratios "$WORK"/jmh-*.json "$WORK/torch-peer.json"
# Where the GPU time goes (cuda:profile: CUDA events around every kernel and library call), for the next round
# of optimisation: the InfoNCE routes and the ResNet-18 MoCo step. Tables in profile.log ("# GPU profile").
part profile 40 "${BENCH[@]}" '(InfoNceBench\.forwardBackward|MocoStepBench\.step)$' -p arch=resnet18 \
  -p device=cuda:profile,cuda:portable:profile -f 1 -wi 1 -i 1 -w 1 -r 1

say "run: ${#failed[@]} part(s) failed${failed:+: ${failed[*]}} (${SECONDS}s of ${total}s)"
[ ${#failed[@]} -eq 0 ]
