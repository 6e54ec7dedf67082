#!/usr/bin/env bash
# Runs test classes of the bundle's test jar, each in its own JVM, for native-tests/run-gpu.sh: a kernel fault
# that poisons the CUDA context (a "sticky" error such as a misaligned access) then fails one class, not every
# class after it in the same JVM.
#   junit-classes.sh BUNDLE REPORTS_DIR PACKAGE_OR_CLASS...
# A PACKAGE (e.g. dev.jmoco.backend.conformance) stands for its top-level classes named *Test; a name ending in
# Test is one class. Exit status: 0 when every class passed, 1 otherwise. PYTHON names the interpreter that
# lists the jar (the bundled runtime has no jar tool). The environment (JMOCO_REQUIRE_*) passes through.
set -uo pipefail
B=$1 reports=$2
shift 2
java=$B/runtime/bin/java
cp="$B/test/jmoco-tests.jar:$(ls "$B"/lib/*.jar | tr '\n' ':')"
classes=$("${PYTHON:-python3}" - "$B/test/jmoco-tests.jar" "$@" <<'PY'
import sys, zipfile
jar, wanted = sys.argv[1], sys.argv[2:]
names = sorted(n[:-6].replace("/", ".") for n in zipfile.ZipFile(jar).namelist()
               if n.endswith("Test.class") and "$" not in n)
for w in wanted:
    hits = [n for n in names if n == w or n.rsplit(".", 1)[0] == w]
    if not hits:
        sys.exit(f"junit-classes.sh: no test class {w} in {jar}")
    print("\n".join(hits))
PY
) || exit 1
failed=()
for c in $classes; do
  echo "--- $c"
  "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:MaxRAMPercentage=50 \
    -jar "$B/test/junit-platform-console-standalone.jar" execute --class-path "$cp" --select-class "$c" \
    --disable-banner --disable-ansi-colors --details=summary --details-theme=ascii --reports-dir "$reports/$c" \
    || failed+=("${c##*.}")
done
echo "junit-classes: $(echo "$classes" | wc -w) classes, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
