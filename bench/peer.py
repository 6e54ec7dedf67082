#!/usr/bin/python3
"""The peers of jmoco's JMH suite: numpy's BLAS and PyTorch timed on the same shapes, on the same threads.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, numpy):

    /usr/bin/python3 bench/peer.py [--threads 2] [--quick] [--only REGEX]
    /usr/bin/python3 bench/peer.py --profile small     # torch.profiler's table of the MoCo step instead

Prints one JSON object {name: milliseconds} on stdout (the median of repeated timings after warm-up) and
everything else (the set-up, which BLAS and allocator each library really loaded) on stderr.

Fairness (CONTRIBUTING.md, Known hazards): Debian's torch links the reference BLAS and glibc's malloc unless told
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
# MocoStepBench: the MoCo CIFAR demo's settings with the v2 head; arch -> (channels, side) of its input images
MOCO_STEP = dict(batch=256, queue=4096, dim=128, t=0.1, m=0.99, bn_splits=8, lr=0.06, momentum=0.9,
                 weight_decay=5e-4)
MOCO_ARCHS = {"small": (1, 28), "resnet18": (3, 32)}
GOLDEN_TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "golden")
# peers that run with autograd on (the rest run under torch.no_grad())
GRAD_PEERS = ("torch_infonce_fwd_bwd", "torch_moco_step_")


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


def small_backbone(torch, channels, norm):
    """jmoco's "small" backbone (dev.jmoco.nn.Backbones#small; keep the two in step): conv3x3(32)-BN-ReLU,
    conv3x3(64, stride 2)-BN-ReLU, conv3x3(128, stride 2)-BN-ReLU, max pool to a 2x2 grid (GridMaxPool2d, which
    is AdaptiveMaxPool2d(2)), flatten; 512 features."""
    nn = torch.nn
    layers = []
    for c_in, c_out, stride in ((channels, 32, 1), (32, 64, 2), (64, 128, 2)):
        layers += [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), norm(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.AdaptiveMaxPool2d(2), nn.Flatten(1)), 128 * 2 * 2


def cifar_resnet18_backbone(torch, channels, norm):
    """torchvision's ResNet-18 with the CIFAR stem (3x3 conv1 stride 1, no max pool) and no fc; 512 features."""
    import torchvision
    m = torchvision.models.resnet18(norm_layer=norm)
    m.conv1 = torch.nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    m.maxpool = torch.nn.Identity()
    m.fc = torch.nn.Identity()
    return m, 512


def moco_step(torch, arch):
    """One training step of the MoCo CIFAR demo's ModelMoCo (tools/golden/make_moco_fixtures.py, the model the
    golden tests check jmoco against) on MocoStepBench's shapes: the backbone with SplitBatchNorm (bn_splits
    groups), the v2 head Linear-ReLU-Linear, f_k a copy of f_q without gradient, a random unit queue, SGD with
    jmoco's decay rule; two fixed random batches. Each call: momentum update, torch.randperm shuffle, both
    passes, logits, cross_entropy, backward, SGD step, enqueue, then loss.item() as the demo's loop does."""
    import copy
    import functools
    sys.path.insert(0, GOLDEN_TOOLS)
    from make_fixtures import SplitBatchNorm
    from make_moco_fixtures import ModelMoCo, reference_sgd

    s = MOCO_STEP
    channels, side = MOCO_ARCHS[arch]
    F = torch.nn.functional
    norm = functools.partial(SplitBatchNorm, num_splits=s["bn_splits"])
    make_backbone = small_backbone if arch == "small" else cifar_resnet18_backbone
    backbone, features = make_backbone(torch, channels, norm)
    head = torch.nn.Sequential(torch.nn.Linear(features, features), torch.nn.ReLU(),
                               torch.nn.Linear(features, s["dim"]))
    enc_q = torch.nn.Sequential(backbone, head)
    enc_k = copy.deepcopy(enc_q)
    for p in enc_k.parameters():
        p.requires_grad = False
    gen = torch.Generator().manual_seed(1)
    queue = F.normalize(torch.randn(s["queue"], s["dim"], generator=gen), dim=1)
    model = ModelMoCo(enc_q, enc_k, reference_sgd(enc_q, s["lr"], s["momentum"], s["weight_decay"]), queue, 0,
                      s["t"], s["m"], False, lambda logits, labels: (F.cross_entropy(logits, labels), None))
    n = s["batch"]
    x1, x2 = (torch.rand(n, channels, side, side, generator=gen) * 2 - 1 for _ in range(2))

    def step():
        loss, _ = model.step(x1, x2, lambda draw: torch.randperm(n))
        loss.item()

    return step


def profile_moco_step(torch, arch, steps=3):
    """Where PyTorch's MoCo step spends its time, beside `jmoco profile`: 5 warm steps, then torch.profiler over
    `steps` steps, ops grouped by input shape; the table's times are totals over those steps."""
    from torch.profiler import ProfilerActivity, profile
    step = moco_step(torch, arch)
    for _ in range(5):
        step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    print(f"torch.profiler, {steps} MoCo steps of arch {arch} (divide the times by {steps} for one step):")
    print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=30,
                                                               max_name_column_width=32, max_shapes_column_width=80))


def benchmarks(torch, np, only):
    """{name: zero-argument callable}; inputs are made here, outside the timed calls. The MoCo steps (whole
    models) are built only when `only` selects them."""
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

    for arch in MOCO_ARCHS:
        if re.search(only, f"torch_moco_step_{arch}"):
            suite[f"torch_moco_step_{arch}"] = moco_step(torch, arch)
    return suite


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="short warm-up and fewer repeats")
    parser.add_argument("--only", default="", help="regex: run only the peers whose name matches")
    parser.add_argument("--profile", choices=sorted(MOCO_ARCHS),
                        help="instead: torch.profiler's table of 3 MoCo steps of this arch (ops by input shape)")
    args = parser.parse_args()
    reexec_configured(args.threads)

    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    report_setup(torch, np)
    if args.profile:
        profile_moco_step(torch, args.profile)
        return

    results = {}
    with torch.no_grad():
        for name, fn in benchmarks(torch, np, args.only).items():
            if not re.search(args.only, name):
                continue
            with torch.enable_grad() if name.startswith(GRAD_PEERS) else contextlib.nullcontext():
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
