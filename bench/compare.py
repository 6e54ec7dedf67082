#!/usr/bin/python3
"""jmoco against its peers in one invocation: runs the JMH suite, then bench/peer.py, and prints one table.

    mvn -q -o -f bench/pom.xml package            # compare.py builds nothing
    /usr/bin/python3 bench/compare.py [--quick] [--moco] [-p NAME=VALUES] [--out results.md] [--jar JAR] [REGEX]

REGEX is a JMH benchmark filter (default: the eight op benchmarks below; --moco adds MocoStepBench, a whole
MoCo step for arch small and resnet18, which takes minutes on two cores). The table gives, per op: the shape,
jmoco's time (JMH average, ms/op) and rate from hand-counted totals (GEMM 2mnk FLOPs; a convolution pass
2 n k p q c r s; InfoNCE 4 N K C; EMA 12 bytes per element, copy 8, SGD 20; a MoCo step its batch of images),
its share of the machine's measured peak ("of peak": FLOP rows over the float FMA peak, memory-bound rows
over the copy bandwidth, both measured by dev.jmoco.trace.MachinePeaks with the run's thread count, the same
roofline `jmoco profile` uses),
the peer's time (median, ms) and ratio = peer time / jmoco time (> 1: jmoco is faster). The other op
benchmarks (BatchNormBench, ElementwiseBench, PoolingBench, RowsBench, SoftmaxBench; bytes per call counted
in ROWS) run when a filter names them; they have no peers (n/a). MoCo step rows are
also summarised as images/s of both sides; their peers run only for the archs JMH measured. Then the
project's bars, each PASS or MISS:
SGEMM >= 0.5 x numpy, InfoNCE >= 1.5 x PyTorch, EMA bandwidth >= 0.70 x the best copy bandwidth measured in
the run (jmoco's copy and PyTorch's copy_). Both sides use the same thread count: the peer gets --threads and
the benchmark JVM -XX:ActiveProcessorCount (the CPU backend uses every processor it is shown).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
QUICK_JMH = ["-f", "1", "-wi", "2", "-i", "3", "-w", "1", "-r", "1"]
ARENA = 11_176_512  # ResNet-18's parameter count: the size of the memory-bound benchmarks and their peers
DEFAULT_FILTER = (r"\.(GemmBench\.sgemm|ConvBench\.(forward|backwardData|backwardFilter)|InfoNceBench\.forwardBackward"
                  r"|EmaBench\.ema|CopyBench\.copy|SgdBench\.sgd)$")
MOCO_FILTER = r"\.MocoStepBench\.step$"
MOCO_ARCHS = {"small": "1x28x28", "resnet18": "3x32x32"}  # MocoStepBench's archs and their peers' input shapes


def param(params, name, default):
    return int(float(params.get(name, default)))


def gemm(p):
    m, n, k = (param(p, d, param(p, "size", 1024)) for d in "mnk")
    return f"{m}x{n}x{k}", 2.0 * m * n * k, "flop", (m, n, k) == (1024, 1024, 1024)


def conv(p):
    n, c, h = param(p, "n", 64), param(p, "c", 64), param(p, "hw", 32)
    w, k, r = h, param(p, "k", 64), param(p, "r", 3)
    s = r
    stride, pad = param(p, "stride", 1), param(p, "pad", 1)
    pp, q = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - s) // stride + 1
    shape = f"n{n} c{c} {h}x{w} k{k} {r}x{s}/{stride} p{pad}"
    return shape, 2.0 * n * k * pp * q * c * r * s, "flop", (n, c, h, w, k, r, s, stride, pad) == (64, 64, 32, 32, 64, 3, 3, 1, 1)


def infonce(p):
    n, c, kq, t = param(p, "n", 256), param(p, "c", 128), param(p, "kq", 65536), float(p.get("t", 0.07))
    return f"N{n} C{c} K{kq} t{t:g}", 4.0 * n * kq * c, "flop", (n, c, kq, t) == (256, 128, 65536, 0.07)


def stream(bytes_per_element):
    def count(p):
        size = param(p, "size", ARENA)
        return f"{size:,} floats", float(bytes_per_element) * size, "byte", size == ARENA
    return count


def per_element(bytes_per_element, size, shape):
    """A memory-bound op of a benchmark with its own shape parameters: bytes_per_element times size(params)
    elements; shape(params) labels the row. Their peers are not run (n/a)."""
    def count(p):
        return shape(p), float(bytes_per_element) * size(p), "byte", True
    return count


def elementwise(bytes_per_element, bias=False):
    """ElementwiseBench: size floats ([256, 64, 32, 32] by default), seen as [size / cols, cols] by the bias
    ops."""
    def shape(p):
        size, cols = param(p, "size", 1 << 24), param(p, "cols", 64)
        return f"[{size // cols}, {cols}]" if bias else f"{size:,} floats"
    return per_element(bytes_per_element, lambda p: param(p, "size", 1 << 24), shape)


def max_pool(per_input, per_output):
    """PoolingBench's max pool, 3 x 3 / 2, pad 1, over [n, c, hw, hw]: bytes per input and per output element."""
    def count(p):
        n, c, hw = param(p, "n", 256), param(p, "c", 64), param(p, "hw", 32)
        out = (hw + 2 - 3) // 2 + 1
        return (f"n{n} c{c} {hw}x{hw} 3x3/2 p1", float(per_input) * n * c * hw * hw + per_output * n * c * out * out,
                "byte", True)
    return count


def global_avg_pool(per_input):
    return per_element(per_input, lambda p: param(p, "n", 256) * param(p, "gc", 512) * param(p, "ghw", 16),
                       lambda p: f"n{param(p, 'n', 256)} c{param(p, 'gc', 512)} hw{param(p, 'ghw', 16)}")


def rows_op(bytes_per_element, cols=128, queue=False):
    """RowsBench and SoftmaxBench: [rows, cols] (RowsBench's enqueue: into a queue of capacity rows)."""
    return per_element(bytes_per_element, lambda p: param(p, "rows", 256) * param(p, "cols", cols),
                       lambda p: f"[{param(p, 'rows', 256)}, {param(p, 'cols', cols)}]"
                                 + (f" into {param(p, 'capacity', 4096)}" if queue else ""))


def batch_norm(bytes_per_element):
    return per_element(bytes_per_element,
                       lambda p: param(p, "n", 256) * param(p, "c", 64) * param(p, "hw", 1024),
                       lambda p: f"n{param(p, 'n', 256)} c{param(p, 'c', 64)} hw{param(p, 'hw', 1024)}"
                                 f" g{param(p, 'groups', 1)}")


def moco_step(p):
    """MocoStepBench: the work is the batch's images; the peers exist for its archs at batch 256, K 4096."""
    arch, batch, queue = p.get("arch", "small"), param(p, "batch", 256), param(p, "queue", 4096)
    shape = f"{arch} {MOCO_ARCHS.get(arch, '?')} b{batch} K{queue}"
    return shape, float(batch), "image", arch in MOCO_ARCHS and (batch, queue) == (256, 4096)


# JMH benchmark -> (op label, hand count from its params, peers as (label, peer.py key formatted with the
# benchmark's params)).
ROWS = {
    "GemmBench.sgemm": ("SGEMM", gemm, [("numpy", "numpy_sgemm"), ("torch", "torch_sgemm")]),
    "ConvBench.forward": ("conv 3x3 forward", conv, [("torch", "torch_conv_forward")]),
    "ConvBench.backwardData": ("conv 3x3 backward-data", conv, [("torch", "torch_conv_backward_data")]),
    "ConvBench.backwardFilter": ("conv 3x3 backward-filter", conv, [("torch", "torch_conv_backward_filter")]),
    "InfoNceBench.forwardBackward": ("InfoNCE fwd+bwd", infonce, [("torch", "torch_infonce_fwd_bwd")]),
    "EmaBench.ema": ("EMA", stream(12), [("torch", "torch_ema")]),
    "CopyBench.copy": ("copy", stream(8), [("torch", "torch_copy")]),
    "SgdBench.sgd": ("SGD step", stream(20), [("torch", "torch_sgd")]),
    "BatchNormBench.train": ("batch norm train", batch_norm(12), []),
    "BatchNormBench.eval": ("batch norm eval", batch_norm(8), []),
    "BatchNormBench.backward": ("batch norm backward", batch_norm(24), []),
    "ElementwiseBench.relu": ("relu", elementwise(8), []),
    "ElementwiseBench.reluBackward": ("relu backward", elementwise(16), []),
    "ElementwiseBench.add": ("add", elementwise(12), []),
    "ElementwiseBench.addBias": ("addBias", elementwise(8, bias=True), []),
    "ElementwiseBench.biasBackward": ("biasBackward", elementwise(4, bias=True), []),
    "PoolingBench.maxPool": ("maxPool", max_pool(4, 8), []),
    "PoolingBench.maxPoolBackward": ("maxPool backward", max_pool(8, 8), []),
    "PoolingBench.globalAvgPool": ("globalAvgPool", global_avg_pool(4), []),
    "PoolingBench.globalAvgPoolBackward": ("globalAvgPool backward", global_avg_pool(8), []),
    "RowsBench.l2NormalizeRows": ("l2NormalizeRows", rows_op(8), []),
    "RowsBench.l2NormalizeRowsBackward": ("l2NormalizeRows backward", rows_op(16), []),
    "RowsBench.gatherRows": ("gatherRows (permutation)", rows_op(8), []),
    "RowsBench.scatterRows": ("scatterRows accumulate", rows_op(12), []),
    "RowsBench.enqueue": ("enqueue (wraps)", rows_op(8, queue=True), []),
    "SoftmaxBench.softmaxCrossEntropy": ("softmax cross-entropy", rows_op(8, cols=10), []),
    "MocoStepBench.step": ("MoCo step", moco_step, [("torch", "torch_moco_step_{arch}")]),
}


# The settings the bars are judged at: the CPU backend on its automatic GEMM path.
DEFAULT_SETTINGS = {"device": "cpu", "gemm": "auto", "operands": "resident"}


def find_java():
    """The java of a JDK 25 or later, from tools/jdk25 (the launcher's lookup): the benchmarks are compiled for
    25, so an older java would fail every one of them with UnsupportedClassVersionError; stop with its line."""
    found = subprocess.run([os.path.join(os.path.dirname(HERE), "tools", "jdk25")], capture_output=True, text=True)
    if found.returncode != 0:
        sys.exit("compare: " + found.stderr.strip())
    return os.path.join(found.stdout.strip(), "bin", "java")


def run_jmh(args):
    """Runs the JMH jar with JSON output; returns its result list."""
    java = find_java()
    if not os.path.exists(args.jar):
        sys.exit(f"compare: {args.jar} missing: build it first (mvn -q -o -f bench/pom.xml package)")
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_file = f.name
    cmd = [java, "-jar", args.jar, args.filter, "-rf", "json", "-rff", result_file,
           "-jvmArgsPrepend", f"-XX:ActiveProcessorCount={args.threads}"]
    cmd += QUICK_JMH if args.quick else []
    cmd += [arg for setting in args.param for arg in ("-p", setting)]
    print("compare: " + " ".join(cmd), file=sys.stderr, flush=True)
    # An OpenCL driver (PoCL) replaces the JVM's signal handlers unless the JDK's signal-chaining library is
    # preloaded (CONTRIBUTING.md, Known hazards); JMH's forked JVMs inherit the environment.
    env = dict(os.environ)
    jsig = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(shutil.which(java) or java))), "lib",
                        "libjsig.so")
    if os.path.exists(jsig):
        env["LD_PRELOAD"] = " ".join(p for p in (jsig, env.get("LD_PRELOAD")) if p)
    try:
        subprocess.run(cmd, check=True, stdout=sys.stderr, env=env)
        with open(result_file) as f:
            return json.load(f)
    finally:
        os.unlink(result_file)


def peer_filter(jmh):
    """peer.py's --only: every op peer, and the MoCo step peers (seconds each) of the archs that JMH measured
    at the peers' shape."""
    archs = sorted({r["params"]["arch"] for r in jmh
                    if short_name(r) == "MocoStepBench.step" and moco_step(r.get("params", {}))[3]})
    return "^(?!torch_moco_step_)" + (f"|^torch_moco_step_({'|'.join(archs)})$" if archs else "")


def run_peer(args, jmh):
    """Runs bench/peer.py; returns ({name: ms}, its set-up lines worth keeping in the report)."""
    cmd = [args.python, os.path.join(HERE, "peer.py"), "--threads", str(args.threads), "--only", peer_filter(jmh)]
    cmd += ["--quick"] if args.quick else []
    print("compare: " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sys.stderr.write(done.stderr)
    notes = [line for line in done.stderr.splitlines()
             if line.startswith(("peer: python", "peer: mapped", "peer: torch_ema =", "peer: WARNING"))]
    return json.loads(done.stdout), notes


def short_name(result):
    """'dev.jmoco.bench.GemmBench.sgemm' -> 'GemmBench.sgemm'."""
    return ".".join(result["benchmark"].split(".")[-2:])


def rate(amount, unit, ms):
    if unit == "image":
        return f"{amount / (ms * 1e-3):.1f} img/s"
    return f"{amount / (ms * 1e-3) / 1e9:.1f} {'GFLOP/s' if unit == 'flop' else 'GB/s'}"


def variant_of(params):
    """Settings beside the shape (device, CPU GEMM path) that label a row when they are not the defaults."""
    return ", ".join(f"{k}={v}" for k, v in params.items() if DEFAULT_SETTINGS.get(k, v) != v)


def measured_peaks(args):
    """The machine's peaks with the run's threads: {"flop": FLOP/s of float FMA chains, "byte": copy bytes/s,
    "describe": one line}, measured by dev.jmoco.trace.MachinePeaks from the benchmark jar."""
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if "JAVA_HOME" in os.environ else "java"
    cmd = [java, "--add-modules", "jdk.incubator.vector", "-cp", args.jar, "dev.jmoco.trace.MachinePeaks",
           str(args.threads)]
    print("compare: " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_table(jmh, peer, peaks):
    """Markdown rows, plus {key: value} for the bars. "of peak" is a row's rate over the machine's measured peak
    (measured_peaks): memory-bound rows against the copy bandwidth, FLOP rows against the FMA peak."""
    lines = ["| op | shape | jmoco ms | jmoco rate | of peak | peer | peer ms | ratio (peer/jmoco) |",
             "|---|---|---:|---:|---:|---|---:|---:|"]
    bars = {}
    order = list(ROWS)
    for result in sorted(jmh, key=lambda r: order.index(short_name(r)) if short_name(r) in ROWS else len(order)):
        short = short_name(result)
        if short not in ROWS:
            continue
        label, count, peers = ROWS[short]
        metric = result["primaryMetric"]
        if metric["scoreUnit"] != "ms/op":
            sys.exit(f"compare: {short} reports {metric['scoreUnit']}, expected ms/op")
        params = result.get("params", {})
        ms = metric["score"]
        shape, amount, unit, peer_shape = count(params)
        variant = variant_of(params)
        name = f"{label} [{variant}]" if variant else label
        bars[(short, variant)] = (ms, amount)
        of_peak = f"{amount / (ms * 1e-3) / peaks[unit]:.2f}" if unit in peaks else "n/a"
        ms_cell = f"{ms:.3f}" if ms >= 1 else f"{ms:.4g}"  # row ops take microseconds: keep 4 digits
        jmoco = f"| {name} | {shape} | {ms_cell} | {rate(amount, unit, ms)} | {of_peak} |"
        if not peers:
            lines.append(f"{jmoco} - | n/a | n/a |")
        for peer_label, key in peers:
            key = key.format(**params)
            peer_ms = peer.get(key) if peer_shape else None
            peer_cell = f"{peer_ms:.3f}" if peer_ms else ("n/a (other shape)" if not peer_shape else "n/a")
            ratio = f"{peer_ms / ms:.2f}" if peer_ms else "n/a"
            lines.append(f"{jmoco} {peer_label} | {peer_cell} | {ratio} |")
    return lines, bars


def check_bars(bars, peer):
    """The project's three bars at the default settings, each PASS, MISS or n/a (missing measurement)."""
    def verdict(ok):
        return "n/a" if ok is None else ("PASS" if ok else "MISS")

    sgemm = bars.get(("GemmBench.sgemm", ""))
    info = bars.get(("InfoNceBench.forwardBackward", ""))
    ema = bars.get(("EmaBench.ema", ""))
    copy = bars.get(("CopyBench.copy", ""))
    out = []

    if sgemm and "numpy_sgemm" in peer:
        x = peer["numpy_sgemm"] / sgemm[0]
        out.append(f"- SGEMM >= 0.5 x numpy: {x:.2f} x -> {verdict(x >= 0.5)}")
    else:
        out.append(f"- SGEMM >= 0.5 x numpy: {verdict(None)}")
    if info and "torch_infonce_fwd_bwd" in peer:
        x = peer["torch_infonce_fwd_bwd"] / info[0]
        out.append(f"- InfoNCE >= 1.5 x PyTorch: {x:.2f} x -> {verdict(x >= 1.5)}")
    else:
        out.append(f"- InfoNCE >= 1.5 x PyTorch: {verdict(None)}")
    copies = {}
    if copy:
        copies["jmoco copy"] = copy[1] / (copy[0] * 1e-3) / 1e9
    if "torch_copy" in peer:
        copies["torch copy_"] = 8.0 * ARENA / (peer["torch_copy"] * 1e-3) / 1e9
    if ema and copies:
        best = max(copies, key=copies.get)
        ema_gbs = ema[1] / (ema[0] * 1e-3) / 1e9
        x = ema_gbs / copies[best]
        measured = ", ".join(f"{k} {v:.1f} GB/s" for k, v in copies.items())
        out.append(f"- EMA >= 0.70 x copy bandwidth: EMA {ema_gbs:.1f} GB/s against the best copy ({measured}):"
                   f" {x:.2f} x -> {verdict(x >= 0.70)}")
    else:
        out.append(f"- EMA >= 0.70 x copy bandwidth: {verdict(None)}")
    return out


def moco_summary(jmh, peer):
    """Images/s (batch / step time) of a whole MoCo step, jmoco against PyTorch eager, per arch measured."""
    out = []
    for result in jmh:
        if short_name(result) != "MocoStepBench.step":
            continue
        params = result.get("params", {})
        shape, batch, _, peer_shape = moco_step(params)
        variant = variant_of(params)
        ms = result["primaryMetric"]["score"]
        peer_ms = peer.get(f"torch_moco_step_{params.get('arch')}") if peer_shape else None
        line = f"- {shape}{f' [{variant}]' if variant else ''}: jmoco {batch / (ms * 1e-3):.1f} img/s ({ms:.1f} ms)"
        if peer_ms:
            line += (f", PyTorch eager {batch / (peer_ms * 1e-3):.1f} img/s ({peer_ms:.1f} ms):"
                     f" jmoco / PyTorch {peer_ms / ms:.2f} x")
        else:
            line += ", PyTorch n/a" + ("" if peer_shape else " (other shape)")
        out.append(line)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filter", nargs="?", default=DEFAULT_FILTER, help="JMH benchmark regex")
    parser.add_argument("--moco", action="store_true",
                        help="also run MocoStepBench (a whole MoCo step, arch small and resnet18) and its peers")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUES",
                        help="a JMH parameter for the benchmarks that have it, e.g. arch=small (repeatable)")
    parser.add_argument("--jar", default=os.path.join(HERE, "target", "benchmarks.jar"))
    parser.add_argument("--quick", action="store_true", help="short JMH settings and a short peer run")
    parser.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    parser.add_argument("--python", default="/usr/bin/python3", help="the python that has torch (peer.py)")
    parser.add_argument("--out", help="also write the table as markdown to this file")
    args = parser.parse_args()
    if args.moco:
        args.filter = f"(?:{args.filter})|{MOCO_FILTER}"

    jmh = run_jmh(args)
    peer, notes = run_peer(args, jmh)
    peaks = measured_peaks(args)
    lines, bars = build_table(jmh, peer, peaks)
    moco = moco_summary(jmh, peer)
    report = lines + (["", "MoCo step, images/s (batch / step time):"] + moco if moco else [])
    report += ["", "Bars:"] + check_bars(bars, peer) + ["", "Peer set-up:"] + [f"- {n}" for n in notes]
    report += ["", f"Machine: {peaks['describe']}; load average {os.getloadavg()[0]:.2f} at the end"]
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
