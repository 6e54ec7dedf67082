#!/usr/bin/env bash
# Builds everything the GPU machine needs (it has no Java, no Maven, no network) into one folder and one
# tar.gz: a jlink'd Java 25 runtime, jmoco's jar and its dependencies, the test classes with JUnit's console
# launcher, and the JMH benchmarks jar. Runs on the build machine, from anywhere in the repository.
#   native-tests/package.sh [--build-dir target-x] [--out dist/gpu] [--skip-build]
# Result: OUT/ and OUT.tar.gz (default dist/gpu.tar.gz, gitignored); carry the tar.gz to the GPU machine and
# run native-tests/run-gpu.sh dist/gpu.tar.gz there (native-tests/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
JAVA_HOME=$(tools/jdk25)
export JAVA_HOME
build=target out=dist/gpu skip_build=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
# The JUnit console launcher matching the project's JUnit (Jupiter 5.x.y pairs with Platform 1.x.y).
junit=$(sed -n 's:.*<junit.version>5\.\([0-9.]*\)</junit.version>.*:1.\1:p' pom.xml)
console=$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/$junit/junit-platform-console-standalone-$junit.jar
# What the engine (java.desktop: PNG plots), JMH (java.management, jdk.unsupported) and JUnit's console
# (java.sql) need: `jdeps --print-module-deps` over jmoco.jar, target/lib, benchmarks.jar and the console jar;
# jdk.zipfs too, which jdeps does not see: JUnit scans a jar's packages through the "jar" file system.
modules=java.base,java.desktop,java.logging,java.management,java.sql,jdk.incubator.vector,jdk.unsupported,jdk.zipfs

if [ "$skip_build" = 0 ]; then
  echo "package.sh: mvn package (main jar, dependencies, test classes) into $build" >&2
  mvn -q -o -B -DbuildDir="$build" -DskipTests package
  echo "package.sh: mvn package bench/ into bench/$build" >&2
  mvn -q -o -B -f bench/pom.xml -DbuildDir="$build" package
  [ -f "$console" ] || mvn -q -B dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:$junit
fi
for f in "$build/jmoco.jar" "$build/test-classes" "bench/$build/benchmarks.jar" "$console"; do
  [ -e "$f" ] || { echo "package.sh: missing $f (build first, or drop --skip-build)" >&2; exit 1; }
done

rm -rf "$out" "$out.tar.gz"
mkdir -p "$out/lib" "$out/test" "$out/bench"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --compress zip-0 --output "$out/runtime"   # uncompressed modules: the tar.gz compresses them better
# Temurin's libjvm.so keeps its symbols (30 MB); stripped it is about 20 MB.
command -v strip >/dev/null && find "$out/runtime" -name '*.so' -exec strip --strip-unneeded {} +
cp "$build/jmoco.jar" "$out/lib/"
cp "$build"/lib/*.jar "$out/lib/"
"$JAVA_HOME/bin/jar" --create --file "$out/test/jmoco-tests.jar" -C "$build/test-classes" .
cp "$console" "$out/test/junit-platform-console-standalone.jar"
cp "bench/$build/benchmarks.jar" "$out/bench/"
# Natives the GPU machine (Linux x86-64) never loads: other platforms' JOCL libraries, and JCuda's PTX compiler
# (24 MB; jmoco loads nvcc's fatbin, and that compiler rejects nvcc 13's PTX anyway: CONTRIBUTING.md, Known hazards). Twice each:
# in lib/ and inside the shaded benchmarks.jar.
for j in "$out"/lib/jocl-*.jar "$out"/lib/jcuda-natives-*.jar "$out/bench/benchmarks.jar"; do
  drop=$(unzip -Z1 "$j" | grep -E '^lib/.*\.(so|dll|dylib|jnilib)$' | grep -vE 'linux-x86_64\.so$' || true)
  drop+=$'\n'$(unzip -Z1 "$j" | grep -E '^lib/libJNvPTXCompiler' || true)
  drop=$(echo "$drop" | grep . || true)
  [ -z "$drop" ] || echo "$drop" | xargs zip -q -d "$j"
done
# The GPU machine has no data set: the first 1,024 training and 512 test images of Fashion-MNIST (IDX, gzip)
# are enough for run-gpu.sh's short training runs (--limit-train 512).
mkdir -p "$out/data/fashion-mnist"
python3 - "${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" "$out/data/fashion-mnist" <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1:]
for split, n in (("train", 1024), ("t10k", 512)):
    for kind, dims in (("images-idx3-ubyte", 3), ("labels-idx1-ubyte", 1)):
        with gzip.open(f"{src}/{split}-{kind}.gz") as f:
            magic = f.read(4)
            shape = struct.unpack(f">{dims}I", f.read(4 * dims))
            item = 1
            for d in shape[1:]:
                item *= d
            body = f.read(n * item)
        with gzip.open(f"{dst}/{split}-{kind}.gz", "wb") as f:
            f.write(magic + struct.pack(f">{dims}I", n, *shape[1:]) + body)
PY
{
  echo "built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($(git status --porcelain 2>/dev/null | wc -l) changed files)"
  echo "runtime modules: $modules"
  (cd "$out" && find . -type f -name '*.jar' | sort)
} > "$out/MANIFEST.txt"
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
size=$(stat -c %s "$out.tar.gz")
echo "package.sh: $out.tar.gz $((size / 1024 / 1024)) MiB ($size bytes); carry limit 64 MiB"
[ "$size" -lt $((56 * 1024 * 1024)) ] || { echo "package.sh: too big to carry with the tree" >&2; exit 1; }
