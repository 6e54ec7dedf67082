#!/usr/bin/env bash
# The semi-supervised table of README "Few labels and fine-tuning": a MoCo checkpoint's backbone with 1%, 10% and
# 100% of Fashion-MNIST's training labels, three ways - the linear probe on frozen features, fine-tuning the whole
# backbone, and the same fine-tuning from a random initialisation (the supervised baseline, the same budget) -
# each on the whole test split. Results (JSON, the label subsets beside them) go to OUT; the table to stdout.
#   tools/label_fractions.sh CHECKPOINT [OUT]          # e.g. runs/fashion-mnist-small/checkpoint.safetensors
# Fine-tuning epochs per fraction (1%: 50, 10%: 20, 100%: 5) give every fraction a few hundred steps or more;
# FRACTIONS="0.01 0.1" runs fewer; ARCH (default small) is the checkpoint's architecture, for the baseline;
# EVAL_OPTS adds options to every eval (another data set: EVAL_OPTS="--dataset cifar10 --data-dir DIR").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
checkpoint=${1:?usage: tools/label_fractions.sh CHECKPOINT [OUT]}
out=${2:-$(dirname "$checkpoint")/label-fractions}
mkdir -p "$out"
declare -A epochs=([0.01]=50 [0.1]=20 [1]=5)
for f in ${FRACTIONS:-0.01 0.1 1}; do
  e=${epochs[$f]:-10}
  read -r -a more <<< "${EVAL_OPTS:-}"
  "$root/jmoco" eval linear --checkpoint "$checkpoint" --label-fraction "$f" --out "$out/linear-$f.json" "${more[@]}"
  "$root/jmoco" eval finetune --checkpoint "$checkpoint" --label-fraction "$f" --epochs "$e" \
    --out "$out/finetune-$f.json" "${more[@]}"
  "$root/jmoco" eval finetune --scratch --arch "${ARCH:-small}" --label-fraction "$f" --epochs "$e" \
    --out "$out/scratch-$f.json" "${more[@]}"
done
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = {"linear": "linear probe (frozen MoCo backbone)", "finetune": "fine-tuned MoCo backbone",
        "scratch": "supervised from scratch (same fine-tuning)"}
fractions = sorted({n.split("-", 1)[1][:-5] for n in os.listdir(out) if n.endswith(".json") and "subset" not in n},
                   key=float)
print("| labels | " + " | ".join(f"{float(f) * 100:g}%" for f in fractions) + " |")
print("|---|" + "---:|" * len(fractions))
for kind, title in rows.items():
    cells = []
    for f in fractions:
        p = os.path.join(out, f"{kind}-{f}.json")
        cells.append(f"{json.load(open(p))['accuracy']:.4f}" if os.path.exists(p) else "-")
    print(f"| {title} | " + " | ".join(cells) + " |")
PY
