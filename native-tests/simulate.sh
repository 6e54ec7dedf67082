#!/usr/bin/env bash
# A simulated run of run-gpu.sh, for CI (no GPU there): a stand-in bundle whose java only answers, a stand-in
# driver library (JMOCO_LIBCUDA), a Python that does nothing. It checks what a GPU run's caller gets back:
#   - a run without a driver: exit 3 and the one line "no NVIDIA driver: libcuda.so.1 not found";
#   - a dry run and a whole run: at most 8 files in the output folder, named with letters, digits, '.', '_', '-',
#     summary.txt among them and logs.tar.gz holding every part's log, and no part failed.
#   native-tests/simulate.sh        # exit 0 when every check passes; says which failed otherwise
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
B=$tmp/bundle
mkdir -p "$B"/runtime/bin "$B"/runtime/lib "$B"/lib "$B"/test "$B"/bench "$B"/data/fashion-mnist
for f in lib/jmoco.jar lib/jcuda-12.jar lib/jcuda-natives-12-linux-x86_64.jar test/jmoco-tests.jar \
         test/junit-platform-console-standalone.jar bench/benchmarks.jar \
         data/fashion-mnist/train-images-idx3-ubyte.gz data/fashion-mnist/t10k-labels-idx1-ubyte.gz; do
  : > "$B/$f"
done
cp "$("$root/tools/jdk25")/lib/libjsig.so" "$B/runtime/lib/" # preloaded by the script: a real one
cat > "$B/runtime/bin/java" <<'SH'
#!/usr/bin/env bash
case " $* " in
  *" -version "*) echo 'openjdk version "25" (simulated)' ;;
  *" devices "*) echo "cuda     unavailable (simulated run)" ;;
  *" discover "*) printf '%s\n' '├─ SimulatedConformanceTest' '│  ├─ anOp(String)' ;;
  *) echo "simulated java: $*" ;;
esac
SH
printf '#!/bin/sh\nexit 0\n' > "$tmp/python"
chmod +x "$B/runtime/bin/java" "$tmp/python"
: > "$tmp/libcuda.so.1"

failures=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failures=$((failures + 1)); fi; }
shape() { # shape OUT: at most 8 plain files, well named, summary.txt and logs.tar.gz with every part's log
  local out=$1 n names
  n=$(find "$out" -mindepth 1 | wc -l)
  names=$(find "$out" -mindepth 1 -printf '%f\n' | grep -cvE '^[A-Za-z0-9._-]+$')
  check "$out: $n entries (at most 8)" "[ $n -le 8 ] && [ -z \"\$(find '$out' -mindepth 1 -type d)\" ]"
  check "$out: names of letters, digits, '.', '_', '-'" "[ $names -eq 0 ]"
  check "$out: summary.txt and logs.tar.gz" "[ -s '$out/summary.txt' ] && tar -tzf '$out/logs.tar.gz' >/dev/null"
  tar -tzf "$out/logs.tar.gz" > "$out.list" 2>/dev/null # listed once: grep -q on tar's pipe would cut it (SIGPIPE)
  for part in $(grep -oE '^[a-z0-9-]+: (ok|FAILED)' "$out/summary.txt" | cut -d: -f1); do
    check "$out: $part.log in logs.tar.gz" "grep -qx './$part.log' '$out.list'"
  done
}

cd "$root" || exit 1
OUT=$tmp/none WORK=$tmp/work-none PYTHON=$tmp/python JMOCO_LIBCUDA=$tmp/missing native-tests/run-gpu.sh "$B" \
  > "$tmp/none.log" 2>&1
rc=$?
check "no driver: exit 3 (got $rc)" "[ $rc -eq 3 ]"
check "no driver: its one line" "grep -qx 'no NVIDIA driver: libcuda.so.1 not found' '$tmp/none/summary.txt'"

OUT=$tmp/dry WORK=$tmp/work-dry PYTHON=$tmp/python native-tests/run-gpu.sh --dry-run "$B" > "$tmp/dry.log" 2>&1
rc=$?
check "dry run: exit 0 (got $rc)" "[ $rc -eq 0 ]"
shape "$tmp/dry"

OUT=$tmp/run WORK=$tmp/work-run PYTHON=$tmp/python JMOCO_LIBCUDA=$tmp/libcuda.so.1 JMOCO_SEARCH_ROOT=$tmp TOTAL_S=300 \
  native-tests/run-gpu.sh "$B" > "$tmp/run.log" 2>&1
rc=$?
check "simulated run: exit 0 (got $rc)" "[ $rc -eq 0 ]"
check "simulated run: every part ran" "grep -q '^profile: ok' '$tmp/run/summary.txt'"
check "simulated run: OpenCL kept out" "tar -xzOf '$tmp/run/logs.tar.gz' ./summary.txt >/dev/null && [ -d '$tmp/work-run/no-opencl-vendors' ]"
shape "$tmp/run"
[ $failures -eq 0 ] || { echo "--- summary of the simulated run:"; cat "$tmp/run/summary.txt"; }
echo "simulate: $failures check(s) failed"
[ $failures -eq 0 ]
