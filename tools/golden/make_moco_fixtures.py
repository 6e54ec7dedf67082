#!/usr/bin/python3
"""Golden fixtures for jmoco's contrastive training steps: PyTorch runs the reference steps on a tiny encoder.

Run with Debian's /usr/bin/python3 (python3-torch 1.13 + numpy):

    /usr/bin/python3 tools/golden/make_moco_fixtures.py [--out src/test/resources/golden/moco]

The fixtures sit in their own folder so that dev.jmoco.backend.PyTorchGoldenTest (one op per file in golden/)
does not pick them up; dev.jmoco.moco.MocoGoldenTest runs the same steps in Java and compares everything.

The tiny encoder: conv1 3x3 (3 -> 8, pad 1, no bias) -> bn1 (MoCo's SplitBatchNorm, bn_splits groups)
-> relu -> global average pool -> fc (8 -> 16). Names follow torchvision's state_dict keys.

Cases (N = 8 images of 3 x 6 x 6, dim 16, K = 64, t = 0.1, m = 0.99, SGD lr 0.06 momentum 0.9 wd 5e-4):
- moco: 2 steps of the CIFAR demo's ModelMoCo (momentum update, shuffle, key encoder, unshuffle, logits, CE,
  backward, optimizer.step(), dequeue_and_enqueue), 2 BN splits, the queue pointer starting at 56 so the
  first step's enqueue ends at the last row and the pointer wraps to 0 (K % N == 0, as the reference asserts).
- moco_symmetric: the same with symmetric=True (2N keys per step; the pointer starts at 48 and wraps).
- end_to_end: one step, keys from the query encoder with gradient, logits q k^T / t, labels on the diagonal.
- memory_bank: one step of Wu et al.'s memory bank (32 entries), K sampled negatives, bank refresh with 0.5.

Conventions (as make_fixtures.py): inputs and initial weights drawn in float32 and stored; PyTorch computes in
float64 from those exact values; answers rounded to float32 on store. The shuffle permutations and sampled
negative indices are drawn here with numpy and stored (perm_{step}_{draw}, negatives_{step}_0), never from
torch.randperm, so Java replays them. SGD exempts biases and BN parameters from weight decay (two param groups),
as jmoco's ParameterArena lays them out; the CIFAR demo decays all parameters.

Per step s the fixture stores: x_q_{s}, x_k_{s}, stats_{s} = [loss, acc@1, acc@5] (accuracies as fractions),
grad.{name}_{s} (f_q's parameter gradients), q.{name}_{s} and k.{name}_{s} (f_q and f_k parameters and BN
running statistics after the step), queue_{s} and queue_ptr_{s} (or bank_{s}). Initial state: q.{name}_init,
queue_init [K, dim] (the reference's queue transposed) and queue_ptr_init, or bank_init.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from make_fixtures import Case, SplitBatchNorm, require_clear_ranks, save_all, topk_accuracy

N, C, HW, WIDTH, DIM, K = 8, 3, 6, 8, 16, 64
T, M, LR, MOMENTUM, WD, BANK_SIZE, BANK_M = 0.1, 0.99, 0.06, 0.9, 5e-4, 32, 0.5


class TinyEncoder(torch.nn.Module):
    def __init__(self, bn_splits, channels=C):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(channels, WIDTH, 3, padding=1, bias=False)
        self.bn1 = SplitBatchNorm(WIDTH, bn_splits)
        self.fc = torch.nn.Linear(WIDTH, DIM)

    def forward(self, x):
        return self.fc(F.relu(self.bn1(self.conv1(x))).mean(dim=(2, 3)))


def make_encoder(case, bn_splits, channels=C, prefix="q"):
    """A float64 encoder whose initial weights are drawn in float32 and stored as {prefix}.{name}_init."""
    enc = TinyEncoder(bn_splits, channels).double()
    init = {"conv1.weight": (0.3, 0.0), "bn1.weight": (0.2, 1.0), "bn1.bias": (0.1, 0.0),
            "fc.weight": (0.4, 0.0), "fc.bias": (0.1, 0.0)}
    with torch.no_grad():
        for name, p in enc.named_parameters():
            scale, centre = init[name]
            a = (centre + case.rng.uniform(-scale, scale, size=p.shape)).astype(np.float32)
            case.tensors[f"{prefix}.{name}_init"] = a
            p.copy_(torch.from_numpy(a.astype(np.float64)))
    return enc


def make_sgd(enc):
    return reference_sgd(enc, LR, MOMENTUM, WD)


def reference_sgd(model, lr, momentum, weight_decay):
    """torch.optim.SGD with jmoco's default decay rule (DecayPolicy.EXEMPT_NORM_AND_BIAS): convolution and
    linear weights (the tensors of rank > 1) decay, biases and BN parameters do not, in two param groups."""
    params = list(model.parameters())
    return torch.optim.SGD([{"params": [p for p in params if p.dim() > 1], "weight_decay": weight_decay},
                            {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}],
                           lr=lr, momentum=momentum)


def unit_rows(case, name, rows):
    """rows x DIM Gaussian rows normalised in float64, rounded to float32, stored; returned as float64."""
    v = F.normalize(torch.from_numpy(case.rng.standard_normal((rows, DIM))), dim=1).numpy().astype(np.float32)
    case.tensors[name] = v
    return torch.from_numpy(v.astype(np.float64))


def images(case, name):
    return case.uniform(name, N, C, HW, HW).detach()


def permutation(case, step, draw):
    p = case.rng.permutation(N)
    case.put(f"perm_{step}_{draw}", p)
    return torch.from_numpy(p)


def put_state(case, prefix, enc, step):
    for name, v in enc.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            case.put(f"{prefix}.{name}_{step}", v)


def put_grads(case, enc, step):
    for name, p in enc.named_parameters():
        case.put(f"grad.{name}_{step}", p.grad)


def moco_logits(q, k, queue, t):
    """The reference's logits (moco/builder.py) [l_pos, l_neg] / t, the queue stored [K, dim] here."""
    l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
    l_neg = torch.einsum("nc,ck->nk", [q, queue.T.clone().detach()])
    return torch.cat([l_pos, l_neg], dim=1) / t


def infonce(case, q, k, queue):
    """The reference's loss, labels 0 (the positive); returns loss and [loss, acc1, acc5]."""
    logits = moco_logits(q, k, queue, T)
    labels = torch.zeros(logits.shape[0], dtype=torch.long)
    return cross_entropy(case, logits, labels)


def cross_entropy(case, logits, labels):
    require_clear_ranks(case, logits, labels)
    loss = F.cross_entropy(logits, labels)
    return loss, [loss.item(), *topk_accuracy(logits.detach(), labels)]


class ModelMoCo:
    """The CIFAR demo's ModelMoCo (colab/moco_cifar10_demo.ipynb) and its training loop's step, around given
    encoders; used by the fixtures here and by bench/peer.py's MoCo-step peers.

    step(im_1, im_2, shuffle), as the demo: momentum update first (param_k.data = param_k.data * m +
    param_q.data * (1 - m)); per loss q = normalize(f_q(im_q)) and, without gradient, k = normalize(f_k(im_k[p]))
    unshuffled by argsort(p); logits [l_pos, l_neg] / t, criterion(logits, labels 0); optimizer.zero_grad(),
    backward, optimizer.step(); enqueue (symmetric: loss_12 + loss_21 and the keys cat([k1, k2])). Differences
    that change no result: the queue is stored [K, dim] (the demo's transposed; jmoco's layout), shuffle(draw)
    supplies the permutation of the draw-th key pass (the fixtures draw theirs with numpy and store them, the
    peer calls torch.randperm as the demo), and the enqueue follows the optimizer step (the demo enqueues in
    forward, but the logits hold a copy of the queue). Returns the loss and the criterion's stats per term.
    """

    def __init__(self, enc_q, enc_k, optimizer, queue, ptr, t, m, symmetric, criterion):
        self.enc_q, self.enc_k, self.optimizer, self.queue, self.ptr = enc_q, enc_k, optimizer, queue, ptr
        self.t, self.m, self.symmetric, self.criterion = t, m, symmetric, criterion

    def step(self, im_1, im_2, shuffle):
        with torch.no_grad():  # _momentum_update_key_encoder(), first, with f_q before this step's SGD
            for p_q, p_k in zip(self.enc_q.parameters(), self.enc_k.parameters()):
                p_k.data = p_k.data * self.m + p_q.data * (1.0 - self.m)
        if self.symmetric:
            loss_12, s12, k2 = self.contrastive_loss(im_1, im_2, shuffle(0))
            loss_21, s21, k1 = self.contrastive_loss(im_2, im_1, shuffle(1))
            loss, stats, keys = loss_12 + loss_21, [s12, s21], torch.cat([k1, k2], dim=0)
        else:
            loss, s12, keys = self.contrastive_loss(im_1, im_2, shuffle(0))
            stats = [s12]
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():  # _dequeue_and_enqueue, on the transposed queue
            assert self.queue.shape[0] % keys.shape[0] == 0
            self.queue[self.ptr:self.ptr + keys.shape[0]] = keys
            self.ptr = (self.ptr + keys.shape[0]) % self.queue.shape[0]
        return loss, stats

    def contrastive_loss(self, im_q, im_k, perm):
        q = F.normalize(self.enc_q(im_q), dim=1)
        with torch.no_grad():
            k = F.normalize(self.enc_k(im_k[perm]), dim=1)[torch.argsort(perm)]
        logits = moco_logits(q, k, self.queue, self.t)
        loss, stats = self.criterion(logits, torch.zeros(logits.shape[0], dtype=torch.long))
        return loss, stats, k


def moco_case(name, symmetric, ptr, seed):
    bn_splits, steps = 2, 2
    case = Case(name, "moco", seed, mechanism="moco", symmetric=symmetric, t=T, m=M, lr=LR, momentum=MOMENTUM,
                weight_decay=WD, bn_splits=bn_splits, queue_size=K, dim=DIM, steps=steps)
    enc_q = make_encoder(case, bn_splits)
    enc_k = TinyEncoder(bn_splits).double()
    enc_k.load_state_dict(enc_q.state_dict())
    for p in enc_k.parameters():
        p.requires_grad = False
    queue = unit_rows(case, "queue_init", K)
    case.put("queue_ptr_init", [ptr])
    model = ModelMoCo(enc_q, enc_k, make_sgd(enc_q), queue, ptr, T, M, symmetric,
                      lambda logits, labels: cross_entropy(case, logits, labels))

    for step in range(steps):
        x1, x2 = images(case, f"x_q_{step}"), images(case, f"x_k_{step}")
        _, terms = model.step(x1, x2, lambda draw: permutation(case, step, draw))
        # [loss, acc1, acc5]: the terms' losses add, their accuracies average (symmetric: two terms)
        stats = [sum(s[0] for s in terms)] + [sum(s[i] for s in terms) / len(terms) for i in (1, 2)]
        case.put(f"stats_{step}", stats)
        put_grads(case, enc_q, step)
        put_state(case, "q", enc_q, step)
        put_state(case, "k", enc_k, step)
        case.put(f"queue_{step}", model.queue)
        case.put(f"queue_ptr_{step}", [model.ptr])
    return case


def end_to_end_case():
    bn_splits = 2
    case = Case("end_to_end", "moco", 2100, mechanism="end-to-end", symmetric=False, t=T, m=M, lr=LR,
                momentum=MOMENTUM, weight_decay=WD, bn_splits=bn_splits, queue_size=K, dim=DIM, steps=1)
    enc = make_encoder(case, bn_splits)
    optimizer = make_sgd(enc)
    x_q, x_k = images(case, "x_q_0"), images(case, "x_k_0")
    perm = permutation(case, 0, 0)
    q = F.normalize(enc(x_q), dim=1)
    k = F.normalize(enc(x_k[perm]), dim=1)[torch.argsort(perm)]  # with gradient: keys come from f_q
    loss, stats = cross_entropy(case, q @ k.T / T, torch.arange(N))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    case.put("stats_0", stats)
    put_grads(case, enc, 0)
    put_state(case, "q", enc, 0)
    return case


def memory_bank_case():
    bn_splits = 2
    case = Case("memory_bank", "moco", 2200, mechanism="memory-bank", symmetric=False, t=T, m=M, lr=LR,
                momentum=MOMENTUM, weight_decay=WD, bn_splits=bn_splits, queue_size=K, dim=DIM, steps=1,
                bank_size=BANK_SIZE, bank_momentum=BANK_M)
    enc = make_encoder(case, bn_splits)
    optimizer = make_sgd(enc)
    bank = unit_rows(case, "bank_init", BANK_SIZE)
    x_q, x_k = images(case, "x_q_0"), images(case, "x_k_0")
    index = torch.from_numpy(case.rng.choice(BANK_SIZE, N, replace=False))
    negatives = torch.from_numpy(case.rng.integers(0, BANK_SIZE, K))
    case.put("index_0", index)
    case.put("negatives_0_0", negatives)
    q = F.normalize(enc(x_q), dim=1)
    loss, stats = infonce(case, q, bank[index], bank[negatives])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():  # Wu et al. (lemniscate NCEAverage): v = normalize(m v + (1 - m) q), index_copy_
        bank.index_copy_(0, index, F.normalize(bank[index] * BANK_M + q * (1 - BANK_M), dim=1))
    case.put("stats_0", stats)
    put_grads(case, enc, 0)
    put_state(case, "q", enc, 0)
    case.put("bank_0", bank)
    return case


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(root, "src", "test", "resources", "golden", "moco"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    save_all([moco_case("moco", False, 56, 2000), moco_case("moco_symmetric", True, 48, 2050),
              end_to_end_case(), memory_bank_case()], args.out, 1 << 20, "moco fixtures")


if __name__ == "__main__":
    main()
