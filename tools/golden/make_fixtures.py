#!/usr/bin/python3
"""Golden fixtures: PyTorch's answers for every op of jmoco's Backend, one safetensors file per case.

Run with Debian's /usr/bin/python3 (python3-torch 1.13 + numpy; no safetensors package needed):

    /usr/bin/python3 tools/golden/make_fixtures.py [--out src/test/resources/golden]

Every file holds the case's float32 inputs, the upstream gradient where one is needed, and PyTorch's outputs
and gradients, plus string metadata: "op" (which test runner reads the file) and the op's scalar settings.
dev.jmoco.backend.PyTorchGoldenTest runs each case on the CPU backend; the tests need no Python.

Conventions
- Deterministic: one fixed seed per case, so re-running rewrites byte-identical files.
- Inputs are drawn in float32. PyTorch then computes in float64 from those exact values and the answers are
  rounded to float32 on store: the golden values carry no float32 rounding of their own, so a test's
  tolerance measures the kernel's error alone.
- Non-loss ops get a fixed random upstream gradient g and back-propagate (y * g).sum(); losses differentiate
  their mean loss (times grad_scale).
- The InfoNCE queue (4096 x 128) is stored as F16 to keep all fixtures under 2 MB: its values are drawn,
  rounded to float16 and used widened to float32, so the stored F16 values are exactly the queue PyTorch saw.
- Index tensors are I64; accuracies are fractions of rows (the MoCo reference prints percentages).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64


# ---- safetensors writer ----------------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata):
    """Writes {name: numpy array} in order; float32/float16/int64 arrays only. Header padded to 8 bytes."""
    dtypes = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        if array.dtype not in dtypes:
            raise TypeError(f"{path}: tensor {name} has unsupported dtype {array.dtype}")
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtypes[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


# ---- helpers -----------------------------------------------------------------------------------------------

class Case:
    """Collects one fixture: float32 inputs drawn from a seeded generator, outputs rounded to float32."""

    def __init__(self, name, op, seed, **settings):
        self.name, self.tensors, self.metadata = name, {}, {"op": op, **settings}
        self.rng = np.random.default_rng(seed)

    def uniform(self, name, *shape, low=-1.0, high=1.0):
        """Stores a float32 input and returns it as a float64 leaf tensor that requires grad."""
        a = self.rng.uniform(low, high, size=shape).astype(np.float32)
        self.tensors[name] = a
        return torch.tensor(a, dtype=F64, requires_grad=True)

    def put(self, name, value):
        if isinstance(value, torch.Tensor):
            value = value.detach().numpy()
        value = np.asarray(value)
        self.tensors[name] = value.astype(np.int64 if value.dtype.kind in "iu" else np.float32)

    def save(self, out):
        write_safetensors(os.path.join(out, self.name + ".safetensors"), self.tensors, self.metadata)


def backward_with(case, y, name="g"):
    """Back-propagates (y * g).sum() for a fixed random upstream gradient g, stored under `name`."""
    g = case.uniform(name, *y.shape)
    (y * g.detach()).sum().backward()


def topk_accuracy(logits, labels, ks=(1, 5)):
    """Fraction of rows whose label is among the top k logits (MoCo's accuracy(), as a fraction)."""
    _, pred = logits.topk(max(ks), dim=1)
    hit = pred.eq(labels.view(-1, 1))
    return [hit[:, :k].any(dim=1).double().mean().item() for k in ks]


def require_clear_ranks(case, logits, labels, k=5, margin=1e-4):
    """Fails if a label sits within `margin` of the k-th largest logit: float32 rounding could flip acc@k."""
    top = logits.detach().topk(k + 1, dim=1).values
    label_logit = logits.detach().gather(1, labels.view(-1, 1))
    close = ((top - label_logit).abs() < margin) & (top != label_logit)
    if close.any():
        sys.exit(f"{case.name}: a label logit is within {margin} of a top-{k + 1} logit; change the seed")


# ---- cases -------------------------------------------------------------------------------------------------

def gemm_cases():
    m, n, k, alpha, beta = 45, 37, 100, 0.75, -0.5
    for seed, (ta, tb) in enumerate([(False, False), (False, True), (True, False), (True, True)]):
        case = Case(f"gemm_{'t' if ta else 'n'}{'t' if tb else 'n'}", "gemm", 100 + seed,
                    trans_a=ta, trans_b=tb, m=m, n=n, k=k, alpha=alpha, beta=beta)
        a = case.uniform("a", *((k, m) if ta else (m, k)))
        b = case.uniform("b", *((n, k) if tb else (k, n)))
        c = case.uniform("c", m, n)
        ab = (a.t() if ta else a) @ (b.t() if tb else b)
        case.put("ab", ab)
        case.put("c_out", alpha * ab + beta * c)
        yield case


def conv_cases():
    # (name, n, c, h, w, k, r, stride, pad): small but with odd and non-square planes.
    shapes = [("conv_1x1_s1", 2, 8, 9, 9, 6, 1, 1, 0),
              ("conv_3x3_s1_p1", 2, 5, 10, 10, 7, 3, 1, 1),
              ("conv_3x3_s2_p1", 2, 4, 11, 9, 6, 3, 2, 1),
              ("conv_7x7_s2_p3", 2, 3, 20, 20, 8, 7, 2, 3)]
    for seed, (name, n, c, h, w, k, r, stride, pad) in enumerate(shapes):
        case = Case(name, "conv2d", 200 + seed, stride=stride, pad=pad)
        x = case.uniform("x", n, c, h, w)
        wt = case.uniform("w", k, c, r, r)
        y = F.conv2d(x, wt, stride=stride, padding=pad)
        backward_with(case, y, "dy")
        case.put("y", y)
        case.put("dx", x.grad)
        case.put("dw", wt.grad)
        yield case


class SplitBatchNorm(torch.nn.BatchNorm2d):
    """Verbatim from MoCo's CIFAR-10 demo notebook (facebookresearch/moco, colab/moco_cifar10_demo.ipynb)."""

    def __init__(self, num_features, num_splits, **kw):
        super().__init__(num_features, **kw)
        self.num_splits = num_splits

    def forward(self, input):
        N, C, H, W = input.shape
        if self.training or not self.track_running_stats:
            running_mean_split = self.running_mean.repeat(self.num_splits)
            running_var_split = self.running_var.repeat(self.num_splits)
            outcome = F.batch_norm(
                input.view(-1, C * self.num_splits, H, W), running_mean_split, running_var_split,
                self.weight.repeat(self.num_splits), self.bias.repeat(self.num_splits),
                True, self.momentum, self.eps).view(N, C, H, W)
            self.running_mean.data.copy_(running_mean_split.view(self.num_splits, C).mean(dim=0))
            self.running_var.data.copy_(running_var_split.view(self.num_splits, C).mean(dim=0))
            return outcome
        return F.batch_norm(input, self.running_mean, self.running_var,
                            self.weight, self.bias, False, self.momentum, self.eps)


class RowBatchNorm(torch.nn.Module):
    """A 2d batch norm (SplitBatchNorm, say) over rows [N, C], seen as [N, C, 1, 1]: a projection head's BN."""

    def __init__(self, bn):
        super().__init__()
        self.bn = bn

    def forward(self, x):
        return self.bn(x[:, :, None, None])[:, :, 0, 0]


def batchnorm_train_cases():
    n, c, h, w, momentum, eps = 8, 3, 5, 4, 0.1, 1e-5
    for seed, groups in enumerate([1, 2]):
        case = Case(f"batchnorm_train_g{groups}", "batchnorm_train", 300 + seed,
                    groups=groups, momentum=momentum, eps=eps)
        x = case.uniform("x", n, c, h, w, low=-1.5, high=2.5)  # off-centre, so the mean matters
        gamma = case.uniform("gamma", c, low=0.5, high=1.5)
        beta = case.uniform("beta", c)
        running_mean = case.uniform("running_mean", c).detach()
        running_var = case.uniform("running_var", c, low=0.5, high=2.0).detach()
        bn = SplitBatchNorm(c, groups, momentum=momentum, eps=eps).to(F64)
        with torch.no_grad():
            bn.weight.copy_(gamma)
            bn.bias.copy_(beta)
            bn.running_mean.copy_(running_mean)
            bn.running_var.copy_(running_var)
        bn.train()
        y = bn(x)
        backward_with(case, y, "dy")
        # The statistics the Backend saves: sample i is in group i mod groups (what view(-1, C*S, H, W) does).
        grouped = x.detach().view(n // groups, groups, c, h * w).transpose(0, 1).transpose(1, 2)
        grouped = grouped.reshape(groups, c, -1)
        mean = grouped.mean(dim=2)
        var = grouped.var(dim=2, unbiased=False)
        case.put("y", y)
        case.put("mean", mean)
        case.put("inv_std", 1 / torch.sqrt(var + eps))
        case.put("running_mean_out", bn.running_mean)
        case.put("running_var_out", bn.running_var)
        case.put("dx", x.grad)
        case.put("dgamma", bn.weight.grad)
        case.put("dbeta", bn.bias.grad)
        yield case


def batchnorm_eval_case():
    n, c, h, w, eps = 4, 5, 3, 3, 1e-5
    case = Case("batchnorm_eval", "batchnorm_eval", 310, eps=eps)
    x = case.uniform("x", n, c, h, w)
    gamma = case.uniform("gamma", c, low=0.5, high=1.5)
    beta = case.uniform("beta", c)
    running_mean = case.uniform("running_mean", c).detach()
    running_var = case.uniform("running_var", c, low=0.1, high=2.0).detach()
    case.put("y", F.batch_norm(x, running_mean, running_var, gamma, beta, False, 0.1, eps))
    return case


def elementwise_cases():
    case = Case("relu", "relu", 400)
    x = case.uniform("x", 3, 7, 11)
    y = F.relu(x)
    backward_with(case, y, "dy")
    case.put("y", y)
    case.put("dx", x.grad)
    yield case

    alpha, beta = 0.75, -1.25
    case = Case("add", "add", 401, alpha=alpha, beta=beta)
    x = case.uniform("x", 1031)  # odd length: vector loops need their tails
    y = case.uniform("y", 1031)
    case.put("out", torch.add(x * alpha, y, alpha=beta))
    yield case


def pooling_cases():
    case = Case("max_pool_3x3_s2_p1", "max_pool", 500, window=3, stride=2, pad=1)
    x = case.uniform("x", 2, 3, 9, 8)
    y, index = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    backward_with(case, y, "dy")
    case.put("y", y)
    case.put("argmax", index)
    case.put("dx", x.grad)
    yield case

    case = Case("global_avg_pool", "global_avg_pool", 501)
    x = case.uniform("x", 3, 5, 7, 7)
    y = F.adaptive_avg_pool2d(x, 1).flatten(1)
    backward_with(case, y, "dy")
    case.put("y", y)
    case.put("dx", x.grad)
    yield case


def linear_case():
    case = Case("linear", "linear", 600)
    x = case.uniform("x", 13, 50)
    w = case.uniform("w", 17, 50)
    b = case.uniform("b", 17)
    y = F.linear(x, w, b)
    backward_with(case, y, "dy")
    case.put("y", y)
    case.put("dx", x.grad)
    case.put("dw", w.grad)
    case.put("db", b.grad)
    return case


def normalize_case():
    case = Case("normalize", "normalize", 700)
    x = case.uniform("x", 9, 128)
    y = F.normalize(x, dim=1)
    backward_with(case, y, "dy")
    case.put("y", y)
    case.put("norms", x.detach().norm(dim=1))
    case.put("dx", x.grad)
    return case


def indexing_cases():
    case = Case("index_select", "gather_rows", 800)
    src = case.uniform("src", 10, 6)
    index = torch.tensor([3, 0, 9, 3, 7, 7, 1])  # repeats: a row may be read twice
    case.put("index", index)
    case.put("out", src.index_select(0, index))
    yield case

    case = Case("index_copy", "scatter_rows", 801)
    dst = case.uniform("dst", 10, 6).detach()
    src = case.uniform("src", 4, 6).detach()
    index = torch.tensor([8, 2, 5, 0])  # distinct: index_copy_ with repeats is undefined
    case.put("index", index)
    case.put("out", dst.clone().index_copy_(0, index, src))
    case.metadata["accumulate"] = False
    yield case

    case = Case("index_add", "scatter_rows", 802)
    dst = case.uniform("dst", 10, 6).detach()
    src = case.uniform("src", 5, 6).detach()
    index = torch.tensor([4, 1, 4, 9, 4])  # repeats add up
    case.put("index", index)
    case.put("out", dst.clone().index_add_(0, index, src))
    case.metadata["accumulate"] = True
    yield case


def cross_entropy_case():
    grad_scale = 0.25
    case = Case("cross_entropy", "cross_entropy", 900, grad_scale=grad_scale)
    logits = case.uniform("logits", 16, 10, low=-3.0, high=3.0)
    labels = torch.from_numpy(case.rng.integers(0, 10, size=16))
    case.put("labels", labels)
    loss = F.cross_entropy(logits, labels)
    (loss * grad_scale).backward()
    require_clear_ranks(case, logits, labels)
    acc1, acc5 = topk_accuracy(logits.detach(), labels)
    case.put("stats", [loss.item(), acc1, acc5])
    case.put("dlogits", logits.grad)
    return case


def infonce_case():
    n, c, queue_len, t = 32, 128, 4096, 0.07
    case = Case("infonce", "infonce", 1000, t=t, grad_scale=1.0)
    rng = case.rng
    q = F.normalize(torch.from_numpy(rng.standard_normal((n, c))), dim=1).float()
    # Keys near their queries to a varying degree, so acc@1 and acc@5 land strictly between 0 and 1.
    closeness = torch.linspace(0.0, 0.6, n, dtype=F64).view(-1, 1)
    noise = F.normalize(torch.from_numpy(rng.standard_normal((n, c))), dim=1)
    k = F.normalize(closeness * q.double() + noise, dim=1).float()
    queue16 = F.normalize(torch.from_numpy(rng.standard_normal((queue_len, c))), dim=1).numpy().astype(np.float16)
    case.tensors["q"] = q.numpy()
    case.tensors["k"] = k.numpy()
    case.tensors["queue"] = queue16
    q = q.to(F64).requires_grad_()
    k = k.to(F64).requires_grad_()  # MoCo detaches k; the end-to-end mechanism needs dk
    queue = torch.from_numpy(queue16.astype(np.float64))  # our queue is [K, C]; the reference stores [C, K]
    # The reference (moco/builder.py, MoCo.forward), with its self.queue replaced by queue.T:
    l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
    l_neg = torch.einsum("nc,ck->nk", [q, queue.T.clone().detach()])
    logits = torch.cat([l_pos, l_neg], dim=1)
    logits /= t
    labels = torch.zeros(logits.shape[0], dtype=torch.long)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    require_clear_ranks(case, logits, labels)
    acc1, acc5 = topk_accuracy(logits.detach(), labels)
    if not 0 < acc5 < 1:
        sys.exit(f"infonce: acc@5 = {acc5} does not exercise the accuracy; change the key mix")
    case.put("stats", [loss.item(), acc1, acc5])
    case.put("dq", q.grad)
    case.put("dk", k.grad)
    return case


def ema_case():
    m = 0.999
    case = Case("ema", "ema", 1100, m=m)
    target = case.uniform("target", 1031)
    source = case.uniform("source", 1031)
    with torch.no_grad():  # the reference: param_k.data = param_k.data * m + param_q.data * (1. - m)
        case.put("target_out", target * m + source * (1.0 - m))
    return case


def enqueue_cases():
    # Ring semantics, in numpy: the reference writes queue[:, ptr:ptr + n] = keys.T and asserts K % n == 0,
    # so it never wraps; jmoco's queue wraps modulo its capacity, which this case checks.
    capacity, c = 10, 3
    for seed, (n, ptr) in enumerate([(4, 8), (4, 2)]):
        case = Case(f"enqueue_n{n}_ptr{ptr}", "enqueue", 1200 + seed, ptr=ptr)
        queue = case.uniform("queue", capacity, c).detach().numpy()
        keys = case.uniform("keys", n, c).detach().numpy()
        out = queue.copy()
        out[(ptr + np.arange(n)) % capacity] = keys
        case.put("queue_out", out)
        yield case


def sgd_case():
    lr, momentum, wd, steps = 0.1, 0.9, 1e-4, 3
    case = Case("sgd", "sgd", 1300, lr=lr, momentum=momentum, weight_decay=wd, steps=steps)
    w = case.uniform("w", 37, 5).detach().requires_grad_()
    b = case.uniform("b", 5).detach().requires_grad_()
    optimizer = torch.optim.SGD([{"params": [w], "weight_decay": wd},
                                 {"params": [b], "weight_decay": 0.0}],  # biases are exempt from decay
                                lr=lr, momentum=momentum)
    for step in range(steps):
        w.grad = case.uniform(f"grad_w_{step}", 37, 5).detach()
        b.grad = case.uniform(f"grad_b_{step}", 5).detach()
        optimizer.step()
        case.put(f"w_{step}", w)
        case.put(f"b_{step}", b)
        case.put(f"velocity_w_{step}", optimizer.state[w]["momentum_buffer"])
        case.put(f"velocity_b_{step}", optimizer.state[b]["momentum_buffer"])
    return case


def all_cases():
    yield from gemm_cases()
    yield from conv_cases()
    yield from batchnorm_train_cases()
    yield batchnorm_eval_case()
    yield from elementwise_cases()
    yield from pooling_cases()
    yield linear_case()
    yield normalize_case()
    yield from indexing_cases()
    yield cross_entropy_case()
    yield infonce_case()
    yield ema_case()
    yield from enqueue_cases()
    yield sgd_case()


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(root, "src", "test", "resources", "golden"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)  # float64 results do not depend on it; keeps reductions in one order
    save_all(all_cases(), args.out, 2 << 20, "fixtures")


def save_all(cases, out, limit, what):
    """Saves every case into out, prints each size, and fails when the total reaches limit bytes."""
    total = 0
    for case in cases:
        case.save(out)
        size = os.path.getsize(os.path.join(out, case.name + ".safetensors"))
        total += size
        print(f"{case.name:24s} {size:8d} B  {case.metadata}")
    print(f"{total} bytes in all")
    if total >= limit:
        sys.exit(f"{what} exceed {limit} bytes: shrink a case")


if __name__ == "__main__":
    main()
