#!/usr/bin/env python3
"""The two comparisons native-tests/run-gpu.sh prints (standard library only).

    report.py curves CPU_METRICS_CSV CUDA_METRICS_CSV   # loss per logged step, cuda against cpu
    report.py ratios JMH_JSON [JMH_JSON ...] PEER_JSON   # jmoco (JMH, device=cuda) against PyTorch on one GPU

curves: pass when every step's loss agrees within 0.02 + 0.01 x |cpu loss| (float32 sums in another order,
compounded over the run's steps); exit 1 otherwise. ratios: EMA GB/s over the best copy GB/s of the run
(jmoco's CopyBench or torch copy_), InfoNCE PyTorch ms / jmoco ms, MoCo step images/s jmoco / PyTorch, and
the rates of GEMM and the convolutions for context.
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
    """{'Class.method' or 'Class.method[arch]': ms} of the device=cuda rows."""
    out = {}
    for path in paths:
        try:
            rows = json.load(open(path))
        except (OSError, ValueError) as e:
            print(f"ratios: no JMH results in {path} ({e})")
            continue
        for r in rows:
            params = r.get("params", {})
            if params.get("device", "cuda") != "cuda":
                continue
            name = ".".join(r["benchmark"].split(".")[-2:])
            if "arch" in params:
                name += f"[{params['arch']}]"
            m = r["primaryMetric"]
            out[name] = m["score"] * TO_MS.get(m["scoreUnit"], float("nan"))
    return out


def ratios(jmh_paths, peer_path):
    j = jmh_ms(jmh_paths)
    try:
        p = json.load(open(peer_path))
    except (OSError, ValueError) as e:
        print(f"ratios: no PyTorch results in {peer_path} ({e})")
        p = {}
    gbs = lambda bytes_, ms: bytes_ / (ms * 1e-3) / 1e9 if ms else float("nan")
    for name, ms in sorted(j.items()):
        rate = ""
        if name in FLOPS:
            rate = f"{FLOPS[name] / (ms * 1e-3) / 1e9:.1f} GFLOP/s"
        elif name.startswith("ConvBench."):
            rate = f"{CONV / (ms * 1e-3) / 1e9:.1f} GFLOP/s"
        elif name == "EmaBench.ema":
            rate = f"{gbs(12 * ARENA, ms):.1f} GB/s"
        elif name == "CopyBench.copy":
            rate = f"{gbs(8 * ARENA, ms):.1f} GB/s"
        elif name.startswith("MocoStepBench."):
            rate = f"{BATCH / (ms * 1e-3):.1f} images/s"
        print(f"jmoco cuda  {name:<36} {ms:10.4f} ms  {rate}")
    for name, ms in sorted(p.items()):
        print(f"torch       {name:<36} {ms:10.4f} ms")
    print()
    copies = [gbs(8 * ARENA, ms) for ms in (j.get("CopyBench.copy"), p.get("torch_copy")) if ms]
    if "EmaBench.ema" in j and copies:
        ema = gbs(12 * ARENA, j["EmaBench.ema"])
        print(f"EMA: {ema:.1f} GB/s / best copy {max(copies):.1f} GB/s = {ema / max(copies):.2f} (bar >= 0.70)")
    else:
        print("EMA: n/a (missing EmaBench.ema or both copies)")
    if "InfoNceBench.forwardBackward" in j and "torch_infonce_fwd_bwd" in p:
        r = p["torch_infonce_fwd_bwd"] / j["InfoNceBench.forwardBackward"]
        print(f"InfoNCE fwd+bwd: PyTorch {p['torch_infonce_fwd_bwd']:.4f} ms / jmoco "
              f"{j['InfoNceBench.forwardBackward']:.4f} ms = {r:.2f} (bar >= 1.5)")
    else:
        print("InfoNCE: n/a (missing a side)")
    moco = j.get("MocoStepBench.step[resnet18]")
    if moco and "torch_moco_step_resnet18" in p:
        a, b = BATCH / (moco * 1e-3), BATCH / (p["torch_moco_step_resnet18"] * 1e-3)
        print(f"MoCo step ResNet-18 batch 256: jmoco {a:.1f} images/s / PyTorch {b:.1f} images/s = {a / b:.2f}")
    else:
        print("MoCo step: n/a (missing a side)")
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
