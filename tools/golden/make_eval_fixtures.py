#!/usr/bin/python3
"""Golden fixtures for dev.jmoco.eval: PyTorch's kNN monitor and linear-probe answers.

Run with Debian's /usr/bin/python3 (python3-torch 1.13 + numpy), from the repository root:

    /usr/bin/python3 tools/golden/make_eval_fixtures.py [--out src/test/resources/golden/eval]

Conventions as tools/golden/make_fixtures.py (whose safetensors writer and Case this script reuses): fixed
seeds, float32 inputs, answers computed in float64 from those exact values. dev.jmoco.eval.EvalGoldenTest reads
the files; the tests need no Python.

- knn_*: knn_predict exactly as the reference MoCo CIFAR demo (torch.mm, topk, gather, scatter one-hot,
  exp(sim / t), sum, argsort) on features with planted clusters, rows scaled at random (the monitor must
  normalise them itself). Queries whose answer hangs on a near tie (k-th vs (k+1)-th similarity closer than
  1e-5, or best vs second class score closer than 1e-4 relative) are dropped, since float32 may order those
  either way.
- linear_probe: a few epochs of SGD (momentum, weight decay, step schedule, a partial last batch) on
  standardised features from a given initialisation and batch order, as main_lincls.py trains its fc layer.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import Case  # noqa: E402  (the shared writer and fixture collector)

F64 = torch.float64


def knn_predict(feature, feature_bank, feature_labels, classes, knn_k, knn_t):
    """The reference demo's function, verbatim but for returning the scores too."""
    sim_matrix = torch.mm(feature, feature_bank)
    sim_weight, sim_indices = sim_matrix.topk(k=knn_k, dim=-1)
    sim_labels = torch.gather(feature_labels.expand(feature.size(0), -1), dim=-1, index=sim_indices)
    sim_weight = (sim_weight / knn_t).exp()
    one_hot_label = torch.zeros(feature.size(0) * knn_k, classes, dtype=feature.dtype)
    one_hot_label = one_hot_label.scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
    pred_scores = torch.sum(one_hot_label.view(feature.size(0), -1, classes) * sim_weight.unsqueeze(dim=-1), dim=1)
    pred_labels = pred_scores.argsort(dim=-1, descending=True)
    return pred_labels, pred_scores, sim_matrix


def knn_case(name, seed, n, m, dim, classes, k, t, spread):
    case = Case(name, "knn", seed, k=k, temperature=t, classes=classes)
    rng = case.rng
    centers = rng.normal(size=(classes, dim))
    def draw(rows):
        labels = rng.integers(0, classes, rows)
        x = centers[labels] + spread * rng.normal(size=(rows, dim))
        x *= rng.uniform(0.2, 5.0, size=(rows, 1))          # arbitrary row norms
        return x.astype(np.float32), labels
    bank, bank_labels = draw(n)
    queries, query_labels = draw(m)
    fb = F.normalize(torch.tensor(bank, dtype=F64), dim=1).t().contiguous()
    fq = F.normalize(torch.tensor(queries, dtype=F64), dim=1)
    pred, scores, sim = knn_predict(fq, fb, torch.tensor(bank_labels), classes, k, t)
    ordered = sim.sort(dim=1, descending=True).values
    boundary_gap = (ordered[:, k - 1] - ordered[:, k]) if k < n else torch.full((m,), np.inf, dtype=F64)
    top2 = scores.sort(dim=1, descending=True).values
    score_gap = (top2[:, 0] - top2[:, 1]) / top2[:, 0]
    keep = ((boundary_gap > 1e-5) & (score_gap > 1e-4)).numpy()
    print(f"{name}: kept {keep.sum()} of {m} queries (the rest are near ties)")
    predicted = pred[:, 0].numpy()[keep]
    labels = query_labels[keep]
    case.put("bank", bank)
    case.put("bank_labels", bank_labels)
    case.put("queries", queries[keep])
    case.put("query_labels", labels)
    case.put("predicted", predicted)
    case.metadata["accuracy"] = float((predicted == labels).mean())
    return case


def linear_probe_case():
    n, m, dim, classes, batch, epochs = 24, 15, 6, 5, 10, 3
    lr, milestones, gamma, momentum, wd = 0.5, [2], 0.1, 0.9, 1e-3
    case = Case("linear_probe", "linear_probe", 11, batch_size=batch, epochs=epochs, lr=lr,
                milestones=",".join(map(str, milestones)), gamma=gamma, momentum=momentum, weight_decay=wd,
                standardize=True, classes=classes)
    rng = case.rng
    teacher = rng.normal(size=(dim, classes))
    def draw(rows):
        x = (rng.normal(size=(rows, dim)) * rng.uniform(0.5, 3, size=dim) + rng.uniform(-2, 2, size=dim))
        x = x.astype(np.float32)
        y = np.argmax(x.astype(np.float64) @ teacher + 0.5 * rng.normal(size=(rows, classes)), axis=1)
        return x, y
    x_train, y_train = draw(n)
    x_test, y_test = draw(m)
    init_w = rng.normal(0, 0.01, size=(classes, dim)).astype(np.float32)
    init_b = rng.uniform(-0.1, 0.1, size=classes).astype(np.float32)
    order = np.stack([rng.permutation(n) for _ in range(epochs)])

    xt, xs = torch.tensor(x_train, dtype=F64), torch.tensor(x_test, dtype=F64)
    mean, std = xt.mean(0), xt.std(0, unbiased=False)
    std[std == 0] = 1
    xt, xs = (xt - mean) / std, (xs - mean) / std
    fc = torch.nn.Linear(dim, classes).double()
    with torch.no_grad():
        fc.weight.copy_(torch.tensor(init_w, dtype=F64))
        fc.bias.copy_(torch.tensor(init_b, dtype=F64))
    opt = torch.optim.SGD(fc.parameters(), lr, momentum=momentum, weight_decay=wd)
    yt = torch.tensor(y_train)
    losses, accs = [], []
    for epoch in range(epochs):
        for g in opt.param_groups:  # main_lincls adjust_learning_rate
            g["lr"] = lr * gamma ** sum(epoch >= ms for ms in milestones)
        loss_sum, correct = 0.0, 0.0
        for start in range(0, n, batch):
            idx = torch.tensor(order[epoch, start:start + batch])
            logits = fc(xt[idx])
            loss = F.cross_entropy(logits, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yt[idx]).sum().item()
        losses.append(loss_sum / n)
        accs.append(correct / n)
    with torch.no_grad():
        logits = fc(xs)
    target = logits.gather(1, torch.tensor(y_test).view(-1, 1))
    rank = (logits >= target).sum(1) - 1                    # other classes at or above the label (ties count against)
    case.put("x_train", x_train)
    case.put("y_train", y_train)
    case.put("x_test", x_test)
    case.put("y_test", y_test)
    case.put("init_weight", init_w)
    case.put("init_bias", init_b)
    case.put("order", order)
    case.put("weight_out", fc.weight)
    case.put("bias_out", fc.bias)
    case.put("epoch_loss", np.array(losses))
    case.put("epoch_accuracy", np.array(accs))
    case.metadata["top1"] = float((rank == 0).double().mean())
    case.metadata["top5"] = float((rank < 5).double().mean())
    return case


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/test/resources/golden/eval")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = [knn_case("knn_k200", 5, n=1000, m=200, dim=16, classes=5, k=200, t=0.1, spread=1.6),
             knn_case("knn_k7", 6, n=300, m=100, dim=8, classes=3, k=7, t=0.07, spread=1.0),
             linear_probe_case()]
    for case in cases:
        case.save(args.out)
        print(case.name, case.metadata)


if __name__ == "__main__":
    main()
