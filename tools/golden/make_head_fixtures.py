#!/usr/bin/python3
"""Golden fixture for jmoco's projection head with batch norm (nn/HeadKind.BN), in PyTorch.

Run with Debian's /usr/bin/python3 (python3-torch 1.13 + numpy):

    /usr/bin/python3 tools/golden/make_head_fixtures.py [--out src/test/resources/golden/nn]

The head: Sequential(Linear(16, 16, bias=False), BN(16), ReLU, Linear(16, 8, bias=False), BN(8)), each BN
MoCo's SplitBatchNorm (2 splits, as shuffle-BN on one device) over [N, C] seen as [N, C, 1, 1]; names as the
state_dict (fc.0, fc.1, fc.3, fc.4). On x [8, 16] in [0, 1) (post-ReLU features): eval-mode output with the
stored running statistics, then the train-mode output, the running statistics after it and the gradients of
(out * g).sum() for a stored g w.r.t. every parameter. Conventions of make_fixtures.py (float32 inputs,
float64 computation, float32 answers). Read by dev.jmoco.nn.HeadGoldenTest.
"""
import argparse
import os

import torch

from make_fixtures import Case, RowBatchNorm, SplitBatchNorm, save_all

N, FEATURES, DIM, SPLITS = 8, 16, 8, 2



def head_case():
    case = Case("head_bn", "head", 2400, head="bn", features=FEATURES, dim=DIM, bn_splits=SPLITS, batch=N)
    layers = [torch.nn.Linear(FEATURES, FEATURES, bias=False), SplitBatchNorm(FEATURES, SPLITS), torch.nn.ReLU(),
              torch.nn.Linear(FEATURES, DIM, bias=False), SplitBatchNorm(DIM, SPLITS)]
    head = torch.nn.Sequential(*[RowBatchNorm(m) if isinstance(m, SplitBatchNorm) else m for m in layers]).double()
    state = {}
    for i, m in enumerate(layers):
        if isinstance(m, torch.nn.Linear):
            state[f"fc.{i}.weight"] = case.uniform(f"fc.{i}.weight", *m.weight.shape, low=-0.5, high=0.5)
        elif isinstance(m, SplitBatchNorm):
            c = m.num_features
            state[f"fc.{i}.weight"] = case.uniform(f"fc.{i}.weight", c, low=0.5, high=1.5)
            state[f"fc.{i}.bias"] = case.uniform(f"fc.{i}.bias", c, low=-0.2, high=0.2)
            state[f"fc.{i}.running_mean"] = case.uniform(f"fc.{i}.running_mean", c, low=-0.5, high=0.5)
            state[f"fc.{i}.running_var"] = case.uniform(f"fc.{i}.running_var", c, low=0.5, high=1.5)
    with torch.no_grad():
        for name, v in state.items():
            i, rest = name[3:].split(".", 1)
            target = layers[int(i)]
            getattr(target, rest).copy_(v.detach())
    x = case.uniform("x", N, FEATURES, low=0.0, high=1.0).detach()
    head.eval()
    with torch.no_grad():
        case.put("eval_output", head(x))
    head.train()
    out = head(x)
    g = case.uniform("g", N, DIM).detach()
    (out * g).sum().backward()
    case.put("train_output", out)
    for i, m in enumerate(layers):
        for pname, p in m.named_parameters():
            case.put(f"grad.fc.{i}.{pname}", p.grad)
        if isinstance(m, SplitBatchNorm):
            case.put(f"after.fc.{i}.running_mean", m.running_mean)
            case.put(f"after.fc.{i}.running_var", m.running_var)
    return case


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(root, "src", "test", "resources", "golden", "nn"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    save_all([head_case()], args.out, 1 << 16, "head fixtures")


if __name__ == "__main__":
    main()
