#!/usr/bin/env python3
"""PyTorch on the same GPU and the same shapes as jmoco's JMH benchmarks (bench/README.md), for
native-tests/run-gpu.sh. Prints one JSON object {name: ms} on its last line (median of timed calls, each
bracketed by torch.cuda.synchronize()). float32 eager, TF32 off for matmul and cuDNN (a fair float32 peer),
except the *_tf32 entries, which allow TF32 for both (the peer of jmoco's `--device cuda:tf32`).

    python3 native-tests/torch_gpu_peer.py [--quick] [--only REGEX]

Names: torch_ema_mul_add, torch_ema_lerp, torch_copy (11,176,512 floats), torch_infonce_fwd_bwd (N 256, C 128,
K 65536, t 0.07: MoCo's einsum / cat / t / cross_entropy / backward), torch_moco_step_resnet18 (the CIFAR demo's
ModelMoCo step as tools/golden/make_moco_fixtures.py holds it, on the device, with MocoStepBench's settings
from bench/peer.py: batch 256, K 4096, m 0.99, t 0.1, 8 BN splits, v2 head, SGD lr 0.06 momentum 0.9 wd 5e-4),
torch_moco_step_resnet18_tf32 and torch_infonce_fwd_bwd_tf32 (the same with TF32), torch_sgemm (1024^3, GemmBench), torch_sgemm_tf32,
torch_conv_forward / torch_conv_backward_data / torch_conv_backward_filter (ConvBench: n 64, c 64, 32x32, k 64,
3x3, stride 1, pad 1; cudnn.benchmark on, as for every entry).
"""
import argparse
import copy
import json
import os
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))
import peer  # noqa: E402  (shapes and settings shared with the CPU peer; its main() is not run on import)

ARENA, EMA_M, INFONCE, S = peer.ARENA, peer.EMA_M, peer.INFONCE, peer.MOCO_STEP
DEV = "cuda"


def median_ms(fn, quick):
    """Median ms of fn() between two synchronisations, after a warm-up."""
    warmup_s, min_reps, min_s = (0.2, 5, 0.5) if quick else (1.0, 20, 2.0)
    start = time.perf_counter()
    while time.perf_counter() - start < warmup_s:
        fn()
    torch.cuda.synchronize()
    samples, start = [], time.perf_counter()
    while len(samples) < min_reps or time.perf_counter() - start < min_s:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def split_batch_norm(splits):
    """MoCo's SplitBatchNorm (training: statistics per group of the batch), from tools/golden/make_fixtures.py."""
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools", "golden"))
    from make_fixtures import SplitBatchNorm
    return lambda c: SplitBatchNorm(c, splits)


def resnet18_backbone(norm):
    """torchvision's ResNet-18 with the CIFAR stem (bench/peer.py), or the same network written out when
    torchvision is not installed."""
    try:
        return peer.cifar_resnet18_backbone(torch, 3, norm)[0]
    except ImportError:
        pass
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = norm(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = norm(cout)
            self.down = None if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), norm(cout))

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + (x if self.down is None else self.down(x)))

    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), norm(64), nn.ReLU()]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


def moco_step():
    """One step of ModelMoCo (make_moco_fixtures.py) on the GPU: momentum update, randperm shuffle, key pass
    without gradient, unshuffle, query pass, logits, cross_entropy, backward, SGD, enqueue, loss.item()."""
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools", "golden"))
    from make_moco_fixtures import reference_sgd
    backbone = resnet18_backbone(split_batch_norm(S["bn_splits"]))
    head = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, S["dim"]))
    enc_q = torch.nn.Sequential(backbone, head).to(DEV)
    enc_k = copy.deepcopy(enc_q)
    for p in enc_k.parameters():
        p.requires_grad = False
    opt = reference_sgd(enc_q, S["lr"], S["momentum"], S["weight_decay"])
    gen = torch.Generator(device=DEV).manual_seed(1)
    queue = F.normalize(torch.randn(S["queue"], S["dim"], generator=gen, device=DEV), dim=1)
    n, t, m = S["batch"], S["t"], S["m"]
    x1, x2 = (torch.rand(n, 3, 32, 32, generator=gen, device=DEV) * 2 - 1 for _ in range(2))
    labels = torch.zeros(n, dtype=torch.long, device=DEV)
    state = {"ptr": 0}

    def step():
        with torch.no_grad():
            for p_q, p_k in zip(enc_q.parameters(), enc_k.parameters()):
                p_k.data = p_k.data * m + p_q.data * (1.0 - m)
        q = F.normalize(enc_q(x1), dim=1)
        with torch.no_grad():
            perm = torch.randperm(n, device=DEV)
            k = F.normalize(enc_k(x2[perm]), dim=1)[torch.argsort(perm)]
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], dim=1) / t
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            queue[state["ptr"]:state["ptr"] + n] = k
            state["ptr"] = (state["ptr"] + n) % S["queue"]
        loss.item()

    return step


def with_tf32(fn):
    """fn with TF32 allowed for matmul and cuDNN during the call (both off otherwise)."""
    def run():
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            return fn()
        finally:
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    return run


def suite(only):
    out = {}
    src, dst = torch.rand(ARENA, device=DEV), torch.empty(ARENA, device=DEV)
    target = torch.rand(ARENA, device=DEV)
    out["torch_copy"] = lambda: dst.copy_(src)
    out["torch_ema_mul_add"] = lambda: target.mul_(EMA_M).add_(src, alpha=1 - EMA_M)
    out["torch_ema_lerp"] = lambda: target.lerp_(src, 1 - EMA_M)
    n, c, kq, t = INFONCE["n"], INFONCE["c"], INFONCE["k"], INFONCE["t"]
    q = F.normalize(torch.randn(n, c, device=DEV), dim=1).requires_grad_()
    k = F.normalize(torch.randn(n, c, device=DEV), dim=1)
    queue = F.normalize(torch.randn(c, kq, device=DEV), dim=0)  # the reference stores the queue [C, K]
    labels = torch.zeros(n, dtype=torch.long, device=DEV)

    def infonce():  # moco/builder.py MoCo.forward + main_moco.py's criterion, k detached
        q.grad = None
        l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", [q, queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1)
        logits /= t
        F.cross_entropy(logits, labels).backward()

    out["torch_infonce_fwd_bwd"] = infonce
    out["torch_infonce_fwd_bwd_tf32"] = with_tf32(infonce)
    a, b = torch.rand(1024, 1024, device=DEV) * 2 - 1, torch.rand(1024, 1024, device=DEV) * 2 - 1
    out["torch_sgemm"] = lambda: torch.mm(a, b)
    out["torch_sgemm_tf32"] = with_tf32(lambda: torch.mm(a, b))
    x = torch.rand(64, 64, 32, 32, device=DEV) * 2 - 1
    w = torch.rand(64, 64, 3, 3, device=DEV) * 2 - 1
    dy = torch.rand(64, 64, 32, 32, device=DEV) * 2 - 1
    out["torch_conv_forward"] = lambda: F.conv2d(x, w, stride=1, padding=1)
    out["torch_conv_backward_data"] = lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=1, padding=1)
    out["torch_conv_backward_filter"] = lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=1, padding=1)
    if re.search(only, "torch_moco_step_resnet18"):
        out["torch_moco_step_resnet18"] = moco_step()
    if re.search(only, "torch_moco_step_resnet18_tf32"):
        out["torch_moco_step_resnet18_tf32"] = with_tf32(moco_step())
    return {name: fn for name, fn in out.items() if re.search(only, name)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=".")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_gpu_peer: torch.cuda.is_available() is False")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"{torch.cuda.get_device_name(0)}, TF32 off but in *_tf32", file=sys.stderr)
    results = {}
    for name, fn in suite(args.only).items():
        try:
            results[name] = median_ms(fn, args.quick)
            print(f"{name}: {results[name]:.4f} ms", file=sys.stderr)
        except Exception as e:  # one failed peer must not hide the others
            print(f"{name}: FAILED {e!r}", file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
