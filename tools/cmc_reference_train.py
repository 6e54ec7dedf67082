#!/usr/bin/python3
"""A PyTorch reference for `jmoco train --views lab`: CMC's L / ab views with MoCo dictionaries, trained on an
image folder with the same small CNN, recipe and kNN monitor, so that a jmoco lab run can be judged against an
independent implementation on the same images.

    /usr/bin/python3 tools/cmc_reference_train.py DIR [--epochs 5] [--lr 0.06] [--t 0.2] [--batch 256]
        [--queue 4096] [--m 0.99] [--bn-splits 8] [--dim 128] [--head bn|v2|v1] [--seed 0] [--wd 5e-4]
        [--crop-min 0.2] [--views lab|augment]

DIR holds train/CLASS/*.png and test/CLASS/*.png (tools/tinted_fashion_mnist.py writes one). Per step, as
moco/TwoViewMocoStep.java and tools/golden/make_cmc_fixtures.py: one crop (scale 0.2-1, ratio 3/4-4/3) and
flip per image, RGB -> CIE Lab (D65; skimage's rgb2lab formulas) normalised with CMC's statistics, L to one
encoder and ab to another; both momentum updates; keys without gradient through shuffled BN; loss
InfoNCE(q_L, k_ab, queue_ab) + InfoNCE(q_ab, k_L, queue_L); SGD (momentum 0.9, weight decay on conv and linear
weights only, cosine lr per epoch); both enqueues. The head defaults to bn, as jmoco's lab runs (nn/HeadKind);
--head v2 shows the collapse README's "Lab views" describes. `--views augment` runs plain MoCo on two crops of
one image (one RGB encoder, no colour changes: --aug cmc) instead, as a control.

After each epoch: the kNN monitor as eval/KnnMonitor.java (k 200, t 0.1, cosine similarity, votes weighted
exp(s / t)) on the backbones' features concatenated [L | ab] (augment: the one backbone's), BN in eval mode,
images unaugmented. One line per epoch: mean loss, acc@1, kNN top-1 and the keys' mean cosine (between the
keys of one batch; 1.0: the encoder gives every image the same output). Differs from jmoco in its crops (affine
sampling, one draw per image instead of torchvision's ten tries) and its random streams. Needs python3-torch,
python3-pil and numpy.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden"))
from make_fixtures import RowBatchNorm, SplitBatchNorm  # noqa: E402  (the CIFAR demo's split BN, verbatim)

# CMC's normalisation (data/LabColor.java): each channel's sRGB-gamut range mapped to [-1, 1].
LAB_MEAN = torch.tensor([50.0, (-86.183 + 98.233) / 2, (-107.857 + 94.478) / 2]).view(1, 3, 1, 1)
LAB_STD = torch.tensor([50.0, (86.183 + 98.233) / 2, (107.857 + 94.478) / 2]).view(1, 3, 1, 1)
RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                           [0.212671, 0.715160, 0.072169],
                           [0.019334, 0.119193, 0.950227]])
WHITE = torch.tensor([0.95047, 1.0, 1.08883]).view(1, 3, 1, 1)


def read_split(root, split):
    classes = sorted(os.listdir(os.path.join(root, split)))
    images, labels = [], []
    for c, name in enumerate(classes):
        folder = os.path.join(root, split, name)
        for f in sorted(os.listdir(folder)):
            images.append(np.asarray(Image.open(os.path.join(folder, f)).convert("RGB")))
            labels.append(c)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    return x, torch.tensor(labels)


def rgb_to_lab(rgb):
    """[N, 3, H, W] sRGB in [0, 1] -> CIE Lab (skimage.color.rgb2lab's formulas)."""
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = torch.einsum("ij,njhw->nihw", RGB_TO_XYZ, lin) / WHITE
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def random_crop_flip(x, gen, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)):
    """RandomResizedCrop to the same size (bilinear) and a horizontal flip with p 0.5, per image, as affine
    sampling grids (one draw per image; torchvision's ten retries collapse to clamping the box)."""
    n = x.shape[0]
    area = torch.empty(n).uniform_(*scale, generator=gen)
    logr = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=gen)
    r = torch.exp(logr)
    w = torch.sqrt(area * r).clamp(max=1.0)
    h = torch.sqrt(area / r).clamp(max=1.0)
    cx = (torch.rand(n, generator=gen) * (1 - w) + w / 2) * 2 - 1
    cy = (torch.rand(n, generator=gen) * (1 - h) + h / 2) * 2 - 1
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = w * flip, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)



class SmallCnn(torch.nn.Module):
    """nn/Backbones.small: three conv3x3-BN-ReLU (32, 64 stride 2, 128 stride 2), 2x2 grid max pool, then
    the head: v1 Linear(512, dim), v2 Linear(512, 512)-ReLU-Linear(512, dim) (nn/HeadKind)."""

    def __init__(self, channels, dim, bn_splits, head):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(channels, 32, 3, 1, 1, bias=False)
        self.bn1 = SplitBatchNorm(32, bn_splits)
        self.conv2 = torch.nn.Conv2d(32, 64, 3, 2, 1, bias=False)
        self.bn2 = SplitBatchNorm(64, bn_splits)
        self.conv3 = torch.nn.Conv2d(64, 128, 3, 2, 1, bias=False)
        self.bn3 = SplitBatchNorm(128, bn_splits)
        if head == "v1":
            self.fc = torch.nn.Linear(512, dim)
        elif head == "v2":
            self.fc = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, dim))
        else:
            self.fc = torch.nn.Sequential(
                torch.nn.Linear(512, 512, bias=False), RowBatchNorm(SplitBatchNorm(512, bn_splits)), torch.nn.ReLU(),
                torch.nn.Linear(512, dim, bias=False), RowBatchNorm(SplitBatchNorm(dim, bn_splits)))

    def backbone(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        return torch.flatten(F.adaptive_max_pool2d(x, 2), 1)

    def forward(self, x):
        return self.fc(self.backbone(x))


class View:
    """One view's query encoder, its momentum copy, its queue and its optimizer."""

    def __init__(self, channels, args):
        self.q = SmallCnn(channels, args.dim, args.bn_splits, args.head)
        self.k = SmallCnn(channels, args.dim, args.bn_splits, args.head)
        self.k.load_state_dict(self.q.state_dict())
        for p in self.k.parameters():
            p.requires_grad = False
        self.queue = F.normalize(torch.randn(args.queue, args.dim), dim=1)
        self.ptr = 0
        params = list(self.q.parameters())
        self.opt = torch.optim.SGD([{"params": [p for p in params if p.dim() > 1], "weight_decay": args.wd},
                                    {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}],
                                   lr=args.lr, momentum=0.9)

    @torch.no_grad()
    def momentum_update(self, m):
        for pq, pk in zip(self.q.parameters(), self.k.parameters()):
            pk.mul_(m).add_(pq.detach(), alpha=1 - m)

    @torch.no_grad()
    def keys(self, x):
        perm = torch.randperm(x.shape[0])
        return F.normalize(self.k(x[perm]), dim=1)[torch.argsort(perm)]

    @torch.no_grad()
    def enqueue(self, k):
        n = k.shape[0]
        self.queue[self.ptr:self.ptr + n] = k
        self.ptr = (self.ptr + n) % self.queue.shape[0]


def infonce(q, k, queue, t):
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / t
    labels = torch.zeros(q.shape[0], dtype=torch.long)
    return F.cross_entropy(logits, labels), (logits.argmax(1) == 0).float().mean().item()


def lab_views(x):
    lab = (rgb_to_lab(x) - LAB_MEAN) / LAB_STD
    return lab[:, :1].contiguous(), lab[:, 1:].contiguous()


@torch.no_grad()
def features(views, x, lab):
    out = []
    for i in range(0, x.shape[0], 1024):
        b = x[i:i + 1024]
        parts = lab_views(b) if lab else (b,)
        out.append(torch.cat([v.q.backbone(p) for v, p in zip(views, parts)], dim=1))
    return F.normalize(torch.cat(out), dim=1)


@torch.no_grad()
def knn(views, train, test, lab, k=200, t=0.1, classes=10):
    for v in views:
        v.q.eval()
    ftr, fte = features(views, train[0], lab), features(views, test[0], lab)
    for v in views:
        v.q.train()
    correct = 0
    for i in range(0, fte.shape[0], 1024):
        sim = fte[i:i + 1024] @ ftr.T
        w, idx = sim.topk(k, dim=1)
        votes = torch.zeros(sim.shape[0], classes).scatter_add_(1, train[1][idx], torch.exp(w / t))
        correct += (votes.argmax(1) == test[1][i:i + 1024]).sum().item()
    return correct / fte.shape[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.06)
    p.add_argument("--t", type=float, default=0.2)
    p.add_argument("--m", type=float, default=0.99)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--queue", type=int, default=4096)
    p.add_argument("--bn-splits", type=int, default=8)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--head", choices=["v1", "v2", "bn"], default="bn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--crop-min", type=float, default=0.2)
    p.add_argument("--views", choices=["lab", "augment"], default="lab")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    train, test = read_split(args.dir, "train"), read_split(args.dir, "test")
    lab = args.views == "lab"
    views = [View(1, args), View(2, args)] if lab else [View(3, args)]
    steps = train[0].shape[0] // args.batch
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {train[0].shape[0]} train, "
          f"{test[0].shape[0]} test images; {steps} steps/epoch; {args}", flush=True)
    start = time.time()
    for epoch in range(args.epochs):
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))
        for v in views:
            for g in v.opt.param_groups:
                g["lr"] = lr
        order = torch.randperm(train[0].shape[0], generator=gen)
        losses, accs, spread = [], [], []
        for s in range(steps):
            x = train[0][order[s * args.batch:(s + 1) * args.batch]]
            for v in views:
                v.momentum_update(args.m)
            if lab:
                x1, x2 = lab_views(random_crop_flip(x, gen, (args.crop_min, 1.0)))
                k1, k2 = views[0].keys(x1), views[1].keys(x2)
                q1, q2 = F.normalize(views[0].q(x1), dim=1), F.normalize(views[1].q(x2), dim=1)
                l1, a1 = infonce(q1, k2, views[1].queue, args.t)
                l2, a2 = infonce(q2, k1, views[0].queue, args.t)
                loss, acc = l1 + l2, (a1 + a2) / 2
            else:
                xq, xk = random_crop_flip(x, gen, (args.crop_min, 1.0)), random_crop_flip(x, gen, (args.crop_min, 1.0))
                k1 = k2 = views[0].keys(xk)
                q1 = F.normalize(views[0].q(xq), dim=1)
                loss, acc = infonce(q1, k1, views[0].queue, args.t)
            for v in views:
                v.opt.zero_grad()
            loss.backward()
            for v in views:
                v.opt.step()
            if lab:
                views[0].enqueue(k1)
                views[1].enqueue(k2)
            else:
                views[0].enqueue(k1)
            losses.append(loss.item())
            accs.append(acc)
            g = k2 @ k2.T
            spread.append(((g.sum() - g.diag().sum()) / (g.numel() - g.shape[0])).item())
            if epoch == 0 and s < 10:
                print(f"  step {s + 1}: loss {losses[-1]:.4f} acc@1 {acc:.3f} key cosine {spread[-1]:.3f}",
                      flush=True)
        top1 = knn(views, train, test, lab)
        print(f"epoch {epoch + 1}: lr {lr:.4f} loss {np.mean(losses):.4f} acc@1 {np.mean(accs):.3f} "
              f"key cosine {np.mean(spread):.3f} kNN {top1:.4f} ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
