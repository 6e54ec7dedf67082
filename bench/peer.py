#!/usr/bin/python3
"""The peers of jmoco's JMH suite: numpy's BLAS and PyTorch timed on the same shapes, on the same threads.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, numpy):

    /usr/bin/python3 bench/peer.py [--threads 2] [--quick] [--only REGEX]

Prints one JSON object {name: milliseconds} on stdout (the median of repeated timings after warm-up) and
everything else (the set-up, which BLAS and allocator each library really loaded) on stderr.

Fairness (DESIGN.md, Known hazards): Debian's torch links the reference BLAS and glibc's malloc unless told
otherwise, which makes it ~2.5x slower here and proves nothing. So the script re-executes itself with
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread (OpenBLAS), LD_PRELOAD=libtcmalloc_minimal.so.4,
OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = --threads, and without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (they pin
an older kernel); then torch.set_num_threads(--threads). The libraries mapped into the process are listed from
/proc/self/maps, so the report shows what ran, not what was asked for.
"""
import argparse
import contextlib
import json
import os
import re
import statistics
import sys
import time

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
CHILD_MARK = "JMOCO_PEER_CONFIGURED"

# The shapes of the JMH suite (bench/src/main/java/dev/jmoco/bench): keep both in step.
GEMM = 1024
CONV = dict(n=64, c=64, h=32, w=32, k=64, r=3, stride=1, pad=1)
INFONCE = dict(n=256, c=128, k=65536, t=0.07)
ARENA = 11_176_512  # ResNet-18's parameter count
EMA_M = 0.999
SGD = dict(lr=0.03, momentum=0.9, weight_decay=1e-4)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def reexec_configured(threads):
    """Re-executes this script once with the fair library set-up; returns only in the configured child."""
    if os.environ.get(CHILD_MARK) == "1":
        return
    env = dict(os.environ)
    for pinned in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if env.pop(pinned, None) is not None:
            log(f"peer: unset {pinned} (it pins an older OpenBLAS kernel)")
    for path in (OPENBLAS_DIR, TCMALLOC):
        if not os.path.exists(path):
            log(f"peer: WARNING {path} missing: the peer runs slower than it could and the comparison is unfair"
                " (apt-get install libopenblas0-pthread libtcmalloc-minimal4)")
    env["LD_LIBRARY_PATH"] = ":".join(p for p in (OPENBLAS_DIR, env.get("LD_LIBRARY_PATH")) if p)
    env["LD_PRELOAD"] = " ".join(p for p in (TCMALLOC, env.get("LD_PRELOAD")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env[CHILD_MARK] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def report_setup(torch, np):
    """Logs what each library was built with and, from /proc/self/maps, what it actually loaded."""
    log(f"peer: python {sys.version.split()[0]}, torch {torch.__version__}, numpy {np.__version__}, "
        f"torch threads {torch.get_num_threads()}")
    for var in ("LD_LIBRARY_PATH", "LD_PRELOAD", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        log(f"peer: {var}={os.environ.get(var, '')}")
    log("peer: torch.__config__.show():\n" + torch.__config__.show())
    log("peer: torch.__config__.parallel_info():\n" + torch.__config__.parallel_info())
    with contextlib.redirect_stdout(sys.stderr):
        log("peer: numpy.show_config():")
        np.show_config()
    try:
        import threadpoolctl
        for pool in threadpoolctl.threadpool_info():
            log(f"peer: threadpoolctl: {pool}")
    except ImportError:
        log("peer: threadpoolctl not installed; see the mapped libraries below")
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps
                       if re.search(r"blas|lapack|mkl|tcmalloc|gomp|omp", line.split()[-1])})
    for lib in libs:
        log(f"peer: mapped {os.path.realpath(lib)}")
    if not any("openblas" in os.path.realpath(lib) for lib in libs):
        log("peer: WARNING OpenBLAS is not loaded: torch and numpy run the reference BLAS")


def median_ms(fn, quick):
    """Median wall time of fn() in ms: warm up, then repeat until enough samples and enough seconds."""
    warmup_s, min_reps, min_s = (0.2, 3, 0.5) if quick else (1.0, 10, 3.0)
    start = time.perf_counter()
    while time.perf_counter() - start < warmup_s:
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < min_reps or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def benchmarks(torch, np):
    """{name: zero-argument callable}; inputs are made here, outside the timed calls."""
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.rand(*shape, generator=gen) * 2 - 1

    suite = {}

    a_np = np.random.default_rng(0).standard_normal((GEMM, GEMM), dtype=np.float32)
    b_np = np.random.default_rng(1).standard_normal((GEMM, GEMM), dtype=np.float32)
    c_np = np.empty((GEMM, GEMM), dtype=np.float32)
    suite["numpy_sgemm"] = lambda: np.matmul(a_np, b_np, out=c_np)

    a, b, c = rand(GEMM, GEMM), rand(GEMM, GEMM), torch.empty(GEMM, GEMM)
    suite["torch_sgemm"] = lambda: torch.mm(a, b, out=c)

    s = CONV
    p = (s["h"] + 2 * s["pad"] - s["r"]) // s["stride"] + 1
    x, w = rand(s["n"], s["c"], s["h"], s["w"]), rand(s["k"], s["c"], s["r"], s["r"])
    dy = rand(s["n"], s["k"], p, p)
    conv_args = ([s["stride"]] * 2, [s["pad"]] * 2, [1, 1], False, [0, 0], 1)
    # The kernels autograd itself calls for Conv2d's backward, asked for one gradient at a time.
    suite["torch_conv_forward"] = lambda: F.conv2d(x, w, stride=s["stride"], padding=s["pad"])
    suite["torch_conv_backward_data"] = lambda: torch.ops.aten.convolution_backward(
        dy, x, w, None, *conv_args, [True, False, False])
    suite["torch_conv_backward_filter"] = lambda: torch.ops.aten.convolution_backward(
        dy, x, w, None, *conv_args, [False, True, False])

    n, ch, kq, t = INFONCE["n"], INFONCE["c"], INFONCE["k"], INFONCE["t"]
    q = F.normalize(torch.randn(n, ch, generator=gen), dim=1).requires_grad_()
    k = F.normalize(torch.randn(n, ch, generator=gen), dim=1)
    queue = F.normalize(torch.randn(ch, kq, generator=gen), dim=0)  # the reference stores the queue [C, K]
    labels = torch.zeros(n, dtype=torch.long)

    def infonce():  # moco/builder.py MoCo.forward + main_moco.py's criterion, k detached
        q.grad = None
        l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", [q, queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1)
        logits /= t
        F.cross_entropy(logits, labels).backward()

    suite["torch_infonce_fwd_bwd"] = infonce

    target, source, dst = rand(ARENA), rand(ARENA), torch.empty(ARENA)
    suite["torch_ema_mul_add"] = lambda: target.mul_(EMA_M).add_(source, alpha=1 - EMA_M)
    suite["torch_ema_lerp"] = lambda: target.lerp_(source, 1 - EMA_M)
    suite["torch_copy"] = lambda: dst.copy_(source)

    param = rand(ARENA)
    param.grad = rand(ARENA)
    sgd = torch.optim.SGD([param], **SGD)
    sgd.step()  # creates the momentum buffer outside the timing
    suite["torch_sgd"] = sgd.step
    return suite


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="short warm-up and fewer repeats")
    parser.add_argument("--only", default="", help="regex: run only the peers whose name matches")
    args = parser.parse_args()
    reexec_configured(args.threads)

    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    report_setup(torch, np)

    results = {}
    with torch.no_grad():
        for name, fn in benchmarks(torch, np).items():
            if not re.search(args.only, name):
                continue
            with torch.enable_grad() if name == "torch_infonce_fwd_bwd" else contextlib.nullcontext():
                results[name] = median_ms(fn, args.quick)
            log(f"peer: {name:28s} {results[name]:10.3f} ms")
    forms = {k: v for k, v in results.items() if k.startswith("torch_ema_")}
    if forms:  # the fairest peer for the EMA is the faster of the two in-place forms
        fastest = min(forms, key=forms.get)
        results["torch_ema"] = forms[fastest]
        log(f"peer: torch_ema = {fastest} (the faster in-place form)")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
