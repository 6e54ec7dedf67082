#!/usr/bin/python3
"""Golden fixture for jmoco's two-view MoCo step of Contrastive Multiview Coding (Lab: L and ab views).

Run with Debian's /usr/bin/python3 (python3-torch 1.13 + numpy):

    /usr/bin/python3 tools/golden/make_cmc_fixtures.py [--out src/test/resources/golden/moco]

CMC (Tian et al. 2019) with MoCo's dictionaries: an image's L channel goes to one encoder, its ab channels to
another; each encoder has its momentum copy and its queue of keys. Per step: both momentum updates; without
gradient the keys k_L = f_k^L(x_L) and k_ab = f_k^ab(x_ab), each pass shuffled for BN (its own permutation,
draw 0 for L, draw 1 for ab); q_L = f_q^L(x_L), q_ab = f_q^ab(x_ab); loss = InfoNCE(q_L, k_ab, queue_ab) +
InfoNCE(q_ab, k_L, queue_L) (L queries against ab keys, ab queries against L keys); backward, SGD on both query
encoders; k_L into queue_L, k_ab into queue_ab. The encoders are make_moco_fixtures.py's TinyEncoder with 1 and
2 input channels (2 BN splits), N = 8 images of 6 x 6, dim 16, K = 64, t 0.1, m 0.99, SGD as there.

Stored (conventions of make_fixtures.py): x_l_{s} [N, 1, 6, 6], x_ab_{s} [N, 2, 6, 6], perm_{s}_{draw},
l.{name}_init and ab.{name}_init, queue_l_init / queue_ab_init and their pointer, and after each step s:
stats_{s} = [loss, acc@1, acc@5] (losses added, accuracies averaged over the two terms), grad.l.{name}_{s},
grad.ab.{name}_{s}, ql./qab. (query encoders) and kl./kab. (key encoders) {name}_{s}, queue_l_{s}, queue_ab_{s}.
"""
import argparse
import os

import torch
import torch.nn.functional as F

import make_moco_fixtures as moco
from make_fixtures import Case, save_all

N, HW, K, T, M = moco.N, moco.HW, moco.K, moco.T, moco.M


def make_view(case, prefix, channels, bn_splits):
    """make_moco_fixtures's TinyEncoder with `channels` inputs (weights stored as {prefix}.{name}_init) and its
    momentum copy."""
    enc = moco.make_encoder(case, bn_splits, channels, prefix)
    key = moco.TinyEncoder(bn_splits, channels).double()
    key.load_state_dict(enc.state_dict())
    for p in key.parameters():
        p.requires_grad = False
    return enc, key


def keys(enc_k, x, perm):
    with torch.no_grad():
        return F.normalize(enc_k(x[perm]), dim=1)[torch.argsort(perm)]


def cmc_case():
    bn_splits, steps, ptr = 2, 2, 56
    case = Case("cmc_lab", "cmc", 2300, views="lab", t=T, m=M, lr=moco.LR, momentum=moco.MOMENTUM,
                weight_decay=moco.WD, bn_splits=bn_splits, queue_size=K, dim=moco.DIM, steps=steps)
    q_l, k_l = make_view(case, "l", 1, bn_splits)
    q_ab, k_ab = make_view(case, "ab", 2, bn_splits)
    queue_l, queue_ab = moco.unit_rows(case, "queue_l_init", K), moco.unit_rows(case, "queue_ab_init", K)
    case.put("queue_ptr_init", [ptr])
    opt_l, opt_ab = moco.reference_sgd(q_l, moco.LR, moco.MOMENTUM, moco.WD), moco.reference_sgd(q_ab, moco.LR,
                                                                                               moco.MOMENTUM, moco.WD)
    for s in range(steps):
        x_l = case.uniform(f"x_l_{s}", N, 1, HW, HW).detach()
        x_ab = case.uniform(f"x_ab_{s}", N, 2, HW, HW).detach()
        with torch.no_grad():
            for q, k in ((q_l, k_l), (q_ab, k_ab)):
                for p_q, p_k in zip(q.parameters(), k.parameters()):
                    p_k.data = p_k.data * M + p_q.data * (1.0 - M)
        kl = keys(k_l, x_l, moco.permutation(case, s, 0))
        kab = keys(k_ab, x_ab, moco.permutation(case, s, 1))
        ql, qab = F.normalize(q_l(x_l), dim=1), F.normalize(q_ab(x_ab), dim=1)
        loss_l, s_l = moco.cross_entropy(case, moco.moco_logits(ql, kab, queue_ab, T), torch.zeros(N, dtype=torch.long))
        loss_ab, s_ab = moco.cross_entropy(case, moco.moco_logits(qab, kl, queue_l, T), torch.zeros(N, dtype=torch.long))
        opt_l.zero_grad()
        opt_ab.zero_grad()
        (loss_l + loss_ab).backward()
        opt_l.step()
        opt_ab.step()
        with torch.no_grad():
            queue_l[ptr:ptr + N] = kl
            queue_ab[ptr:ptr + N] = kab
            ptr = (ptr + N) % K
        case.put(f"stats_{s}", [s_l[0] + s_ab[0], (s_l[1] + s_ab[1]) / 2, (s_l[2] + s_ab[2]) / 2])
        for prefix, enc in (("l", q_l), ("ab", q_ab)):
            for name, p in enc.named_parameters():
                case.put(f"grad.{prefix}.{name}_{s}", p.grad)
        for prefix, enc in (("ql", q_l), ("qab", q_ab), ("kl", k_l), ("kab", k_ab)):
            moco.put_state(case, prefix, enc, s)
        case.put(f"queue_l_{s}", queue_l)
        case.put(f"queue_ab_{s}", queue_ab)
        case.put(f"queue_ptr_{s}", [ptr])
    return case


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(root, "src", "test", "resources", "golden", "moco"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    save_all([cmc_case()], args.out, 1 << 19, "cmc fixtures")


if __name__ == "__main__":
    main()
