#!/usr/bin/python3
"""Golden fixture for jmoco's fine-tuning step (dev.jmoco.eval.FineTune.Step): PyTorch runs it on a tiny network.

Run with Debian's /usr/bin/python3 (python3-torch 1.13 + numpy):

    /usr/bin/python3 tools/golden/make_finetune_fixtures.py [--out src/test/resources/golden/finetune]

The network: the tiny backbone of make_moco_fixtures.py (conv1 3x3 (3 -> 8, pad 1, no bias) -> bn1 (training
mode, momentum 0.1) -> relu -> global average pool) and the fine-tuning head: BatchNorm1d(8, affine=False,
momentum=None) (the cumulative mean of the batches' statistics) -> Linear(8 -> 4). Softmax cross-entropy;
torch.optim.SGD, momentum 0.9, weight decay 5e-4 on conv1.weight and fc.weight only, the backbone at 0.1 x the
head's lr, in three param groups. Three steps of N = 8 images of 3 x 6 x 6 with labels in 0..3, the head's lr
0.1, 0.05, 0.02 (a schedule's values, given per step).

Conventions (as make_fixtures.py): inputs and initial weights drawn in float32 and stored; PyTorch computes in
float64 from those exact values; answers rounded to float32 on store. Stored: x_{s}, y_{s}, lr_{s}, init
weights ({name}_init), and after each step s: stats_{s} = [loss, acc@1], every parameter and running
statistic ({name}_{s}).
"""
import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F

from make_fixtures import Case, save_all

N, C, HW, WIDTH, CLASSES = 8, 3, 6, 8, 4
MOMENTUM, WD, SCALE, LRS = 0.9, 5e-4, 0.1, [0.1, 0.05, 0.02]


class Tuned(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(C, WIDTH, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(WIDTH)
        self.fc_bn = torch.nn.BatchNorm1d(WIDTH, affine=False, momentum=None)
        self.fc = torch.nn.Linear(WIDTH, CLASSES)

    def forward(self, x):
        f = F.relu(self.bn1(self.conv1(x))).mean(dim=(2, 3))
        return self.fc(self.fc_bn(f))


def finetune_case():
    case = Case("finetune", "finetune", 3100, classes=CLASSES, backbone_lr_scale=SCALE, momentum=MOMENTUM,
                weight_decay=WD, steps=len(LRS))
    net = Tuned().double()
    init = {"conv1.weight": (0.3, 0.0), "bn1.weight": (0.2, 1.0), "bn1.bias": (0.1, 0.0),
            "fc.weight": (0.4, 0.0), "fc.bias": (0.1, 0.0)}
    with torch.no_grad():
        for name, p in net.named_parameters():
            scale, centre = init[name]
            a = (centre + case.rng.uniform(-scale, scale, size=p.shape)).astype(np.float32)
            case.tensors[f"{name}_init"] = a
            p.copy_(torch.from_numpy(a.astype(np.float64)))
    backbone = [net.conv1.weight, net.bn1.weight, net.bn1.bias]
    opt = torch.optim.SGD([{"params": [net.conv1.weight], "weight_decay": WD, "lr": LRS[0] * SCALE},
                           {"params": [net.bn1.weight, net.bn1.bias], "weight_decay": 0.0, "lr": LRS[0] * SCALE},
                           {"params": [net.fc.weight], "weight_decay": WD, "lr": LRS[0]},
                           {"params": [net.fc.bias], "weight_decay": 0.0, "lr": LRS[0]}], lr=LRS[0], momentum=MOMENTUM)
    net.train()
    for s, lr in enumerate(LRS):
        x = case.uniform(f"x_{s}", N, C, HW, HW).detach()
        y = torch.from_numpy(case.rng.integers(0, CLASSES, size=N))
        case.put(f"y_{s}", y.numpy())
        case.put(f"lr_{s}", np.array([lr]))
        for g in opt.param_groups:
            g["lr"] = lr * SCALE if g["params"][0] is net.conv1.weight or g["params"][0] is net.bn1.weight else lr
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc1 = (logits.argmax(dim=1) == y).double().mean()
        case.put(f"stats_{s}", np.array([loss.item(), acc1.item()]))
        for name, v in net.state_dict().items():
            if not name.endswith("num_batches_tracked"):
                case.put(f"{name}_{s}", v)
    assert all(p.grad is not None for p in backbone)
    return case


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(root, "src", "test", "resources", "golden", "finetune"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    save_all([finetune_case()], args.out, 1 << 18, "finetune fixtures")


if __name__ == "__main__":
    main()
