#!/usr/bin/env python3
"""The two comparisons native-tests/run-gpu.sh prints (standard library only).

    report.py curves CPU_METRICS_CSV CUDA_METRICS_CSV   # loss per logged step, cuda against cpu
    report.py ratios JMH_JSON [JMH_JSON ...] PEER_JSON   # jmoco (JMH, device=cuda) against PyTorch on one GPU

curves: pass when every step's loss agrees within 0.02 + 0.01 x |cpu loss| (float32 sums in another order,
compounded over the run's steps); exit 1 otherwise. ratios: the issue's targets (EMA GB/s over the best copy
GB/s of the run, jmoco's CopyBench or torch copy_; InfoNCE PyTorch ms / jmoco ms per CUDA configuration; MoCo
step images/s jmoco / PyTorch, TF32 against TF32), then each hand-written kernel against cuBLAS/cuDNN and
PyTorch on the same shape.
"""
import csv
import json
import sys

ARENA = 11_176_512
BATCH = 256
FLOPS = {"GemmBench.sgemm": 2 * 1024 ** 3, "InfoNceBench.forwardBackward": 4 * 256 * 65536 * 128}
CONV = 2 * 64 * 64 * 32 * 32 * 64 * 9
TO_MS = {"ms/op": 1.0, "us/op": 1e-3, "s/op": 1e3, "ns/op": 1e-6}


def step_losses(path):
    with open(path) as f:
        return [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(f) if r["kind"] == "step"]


def curves(cpu_csv, cuda_csv):
    cpu, cuda = step_losses(cpu_csv), step_losses(cuda_csv)
    if not cpu or len(cpu) != len(cuda):
        print(f"curves: FAIL, {len(cpu)} cpu steps against {len(cuda)} cuda steps")
        return 1
    worst, bad = 0.0, 0
    print(f"{'step':>5} {'cpu loss':>10} {'cuda loss':>10} {'diff':>9}")
    for (s, a), (_, b) in zip(cpu, cuda):
        d = abs(a - b)
        worst = max(worst, d)
        flag = "" if d <= 0.02 + 0.01 * abs(a) else "  <- outside"
        bad += bool(flag)
        print(f"{s:>5} {a:>10.5f} {b:>10.5f} {d:>9.2e}{flag}")
    print(f"curves: {'PASS' if not bad else 'FAIL'}, {len(cpu)} steps, largest difference {worst:.2e}"
          f" (tolerance 0.02 + 0.01 x |loss|)")
    return 1 if bad else 0


def jmh_ms(paths):
    """{'Class.method[param, ...]': ms} of the CUDA rows; the brackets hold arch and any device other than
    plain cuda (cuda:kernels, cuda:portable, cuda:tf32, ...)."""
    out = {}
    for path in paths:
        try:
            rows = json.load(open(path))
        except (OSError, ValueError) as e:
            print(f"ratios: no JMH results in {path} ({e})")
            continue
        for r in rows:
            params = r.get("params", {})
            device = params.get("device", "cuda")
            if not device.startswith("cuda"):
                continue
            tags = [params["arch"]] if "arch" in params else []
            tags += [device] if device != "cuda" else []
            name = ".".join(r["benchmark"].split(".")[-2:]) + (f"[{', '.join(tags)}]" if tags else "")
            m = r["primaryMetric"]
            out[name] = m["score"] * TO_MS.get(m["scoreUnit"], float("nan"))
    return out


def rate(name, ms):
    """The benchmark's rate in its natural unit, from the FLOP and byte counts of its shape."""
    gbs = lambda bytes_: f"{bytes_ / (ms * 1e-3) / 1e9:.1f} GB/s"
    base = name.split("[")[0]
    if base in FLOPS:
        return f"{FLOPS[base] / (ms * 1e-3) / 1e9:.1f} GFLOP/s"
    if base.startswith("ConvBench."):
        return f"{CONV / (ms * 1e-3) / 1e9:.1f} GFLOP/s"
    if base == "EmaBench.ema":
        return gbs(12 * ARENA)
    if base == "CopyBench.copy":
        return gbs(8 * ARENA)
    if base.startswith("MocoStepBench."):
        return f"{BATCH / (ms * 1e-3):.1f} images/s"
    return ""


def ratios(jmh_paths, peer_path):
    j = jmh_ms(jmh_paths)
    try:
        p = json.load(open(peer_path))
    except (OSError, ValueError) as e:
        print(f"ratios: no PyTorch results in {peer_path} ({e})")
        p = {}
    for name, ms in sorted(j.items()):
        print(f"jmoco  {name:<52} {ms:10.4f} ms  {rate(name, ms)}")
    for name, ms in sorted(p.items()):
        print(f"torch  {name:<52} {ms:10.4f} ms")
    print("\nTargets (issue 5):")
    gbs = lambda bytes_, ms: bytes_ / (ms * 1e-3) / 1e9
    copies = [gbs(8 * ARENA, ms) for ms in (j.get("CopyBench.copy"), p.get("torch_copy")) if ms]
    if "EmaBench.ema" in j and copies:
        ema = gbs(12 * ARENA, j["EmaBench.ema"])
        print(f"EMA: {ema:.1f} GB/s / best copy {max(copies):.1f} GB/s = {ema / max(copies):.2f} (target >= 0.85)")
    else:
        print("EMA: n/a (missing EmaBench.ema or both copies)")
    infonce = {n: ms for n, ms in j.items() if n.startswith("InfoNceBench.forwardBackward")}
    for name, ms in sorted(infonce.items()):
        peer = "torch_infonce_fwd_bwd" + ("_tf32" if "tf32" in name else "")
        if peer in p:
            print(f"InfoNCE fwd+bwd {name}: PyTorch ({peer}) {p[peer]:.4f} ms / jmoco {ms:.4f} ms"
                  f" = {p[peer] / ms:.2f} (target >= 2)")
    if not infonce or "torch_infonce_fwd_bwd" not in p:
        print("InfoNCE: n/a (missing a side)")
    steps = {n: ms for n, ms in j.items() if n.startswith("MocoStepBench.step[resnet18")}
    for name, ms in sorted(steps.items()):
        peer = "torch_moco_step_resnet18" + ("_tf32" if "tf32" in name else "")
        if peer in p:
            a, b = BATCH / (ms * 1e-3), BATCH / (p[peer] * 1e-3)
            print(f"MoCo step ResNet-18 batch 256 {name}: jmoco {a:.1f} images/s / PyTorch ({peer}) {b:.1f}"
                  f" images/s = {a / b:.2f} (target >= 1)")
    if not steps:
        print("MoCo step: n/a (missing a side)")
    print("\nHand-written kernels (cuda:kernels) against cuBLAS/cuDNN (cuda) and PyTorch, ms:")
    peers = {"GemmBench.sgemm": "torch_sgemm", "ConvBench.forward": "torch_conv_forward",
             "ConvBench.backwardData": "torch_conv_backward_data",
             "ConvBench.backwardFilter": "torch_conv_backward_filter"}
    for base, peer in peers.items():
        for tf32 in ("", "tf32"):
            lib = j.get(base + (f"[cuda:{tf32}]" if tf32 else ""))
            own = j.get(f"{base}[cuda:kernels{':' + tf32 if tf32 else ''}]")
            torch_ms = p.get(peer + ("_tf32" if tf32 else ""))
            if own is None and lib is None:
                continue
            cell = lambda v: f"{v:.4f}" if v else "n/a"
            vs = f", kernels/library {own / lib:.2f}" if own and lib else ""
            print(f"  {base}{' TF32' if tf32 else ''}: kernels {cell(own)}, library {cell(lib)},"
                  f" torch {cell(torch_ms)}{vs}")
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "curves":
        return curves(sys.argv[2], sys.argv[3])
    if len(sys.argv) >= 4 and sys.argv[1] == "ratios":
        return ratios(sys.argv[2:-1], sys.argv[-1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
