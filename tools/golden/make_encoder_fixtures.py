#!/usr/bin/python3
"""Golden fixtures for jmoco's encoders (dev.jmoco.nn): torchvision's ResNet-18 and ResNet-50 on fixed inputs.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14):

    /usr/bin/python3 tools/golden/make_encoder_fixtures.py [--out src/test/resources/golden/nn]

Writes encoder_resnet18_cifar.safetensors and encoder_resnet50_imagenet.safetensors, read by
dev.jmoco.nn.EncoderGoldenTest and ArchitectureTest (the tests need no Python). They sit in a sub-folder because
PyTorchGoldenTest runs every file directly in golden/.

ResNet weights (11 M, 24 M floats) would not fit small fixtures, so they are not stored: every float tensor of
the state_dict is filled with a counter-based hash (splitmix64 of ((tensor index + 1) << 32) + element index, in
state_dict order without num_batches_tracked) that the Java test regenerates bit for bit, and loads by name.
Values, all float32: u = top 24 bits / 2^24, p = 2u - 1 in [-1, 1); conv weights p * sqrt(6 / fan_in), linear
weights p / sqrt(in), BN weights 1 + p/4, running variances 1 + p/2, biases and running means p / 10. The
input x and the upstream gradient g are patterns 1000 and 1001 (stored too). The running statistics are then
calibrated on a third pattern input and stored ("state." + name; see calibrate()).

The models (see CASES): torchvision.models.resnet18(num_classes=128) with the CIFAR stem (conv1 = 3x3 stride
1, no max pool) on [2, 3, 32, 32], i.e. jmoco's resnet18-cifar-c3-v1-d128; and resnet50(num_classes=128) with
its own (ImageNet) stem on [2, 3, 64, 64], i.e. resnet50-imagenet-c3-v1-d128, which also checks the max pool and
the v1.5 Bottleneck (stride on the 3x3; with it on the first 1x1, as v1, counts and names would not change).
PyTorch computes in float64 from the float32 values; answers are rounded to float32 on store, so the test's
tolerance measures jmoco's float32 error alone. Stored: x; eval-mode features and head output (running
statistics as filled); then train-mode (batch statistics) features and output, the updated running statistics
of two BN layers, and (ResNet-18 only) the gradients of (out * g).sum() for g (stored) w.r.t. three parameters.
The create() arguments are metadata (arch, stem, in_channels, dim).

Conditioning: with batch statistics of 2 samples and ReLUs, ResNet-50 amplifies float32 rounding: PyTorch's own
float32 run differs from its float64 run by 4e-4 in the features (values up to 24) and by 1-2% of the largest
element in the gradients (max-pool ties flip, near-constant BN channels divide by sqrt(eps)). Its fixture holds
forward values only; the test's tolerance for it is stated there. ResNet-18 is well-conditioned (PyTorch float32
within 5e-6 of float64).
Metadata: the ordered state_dict names and shapes as 'name:64x3x3x3;...' (num_batches_tracked left out) and
parameter counts of the model, and (in the ResNet-18 file) of torchvision's resnet18 and resnet50 with the
ImageNet stem and 1000 classes.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix(z):
    """splitmix64's finalizer over a uint64 array (numpy wraps multiplication mod 2^64)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def pattern(index, n):
    """n float32 values in [-1, 1) for tensor number index (0-based)."""
    z = (np.uint64(index + 1) << np.uint64(32)) + np.arange(n, dtype=np.uint64)
    u = (mix(z) >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    return np.float32(2) * u - np.float32(1)


def fill_value(name, shape, p):
    if len(shape) == 4:
        return p * np.float32(math.sqrt(6.0 / (shape[1] * shape[2] * shape[3])))
    if len(shape) == 2:
        return p * np.float32(1.0 / math.sqrt(shape[1]))
    if name.endswith(".running_var"):
        return np.float32(1) + np.float32(0.5) * p
    if name.endswith(".weight"):
        return np.float32(1) + np.float32(0.25) * p
    return np.float32(0.1) * p


def state_names(model):
    """'name:d0xd1...' per state_dict entry, joined by ';' (a scalar has no dimensions after the colon)."""
    return ";".join(k + ":" + "x".join(str(d) for d in v.shape)
                    for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked"))


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def cifar_resnet18():
    m = torchvision.models.resnet18(num_classes=128)
    m.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    m.maxpool = torch.nn.Identity()
    return m


def fill(model):
    state = model.state_dict()
    index = 0
    for name, t in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        values = fill_value(name, list(t.shape), pattern(index, t.numel())).reshape(t.shape)
        t.copy_(torch.from_numpy(values))
        index += 1


def features(m, x):
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
    return torch.flatten(m.avgpool(x), 1)


def f32(t):
    return t.detach().to(torch.float32).numpy()


def calibrate(model, x):
    """Sets every BN's running statistics to the batch statistics of x (one pass with momentum 1), rounded to
    float32; returns them as "state.<name>" tensors. Patterned running statistics do not fit the activations:
    in eval mode each residual block would then double the variance (ResNet-50's features reached 5e3)."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.momentum = 1.0
    model.train()
    with torch.no_grad():
        features(model, x.double())
    for m in bns:
        m.momentum = 0.1
    out = {}
    for name, t in model.state_dict().items():
        if name.endswith(".running_mean") or name.endswith(".running_var"):
            out["state." + name] = f32(t)
            t.copy_(torch.from_numpy(out["state." + name]))
    return out


def imagenet_resnet50():
    return torchvision.models.resnet50(num_classes=128)


# file, torchvision model, input shape, jmoco's create() arguments, BN layers whose running statistics and
# parameters whose gradients are stored
CASES = [
    ("encoder_resnet18_cifar", cifar_resnet18, (2, 3, 32, 32),
     {"arch": "resnet18", "stem": "CIFAR", "in_channels": 3, "dim": 128},
     ("bn1", "layer4.1.bn2"), ("conv1.weight", "layer4.1.bn2.weight", "fc.weight")),
    ("encoder_resnet50_imagenet", imagenet_resnet50, (2, 3, 64, 64),
     {"arch": "resnet50", "stem": "IMAGENET", "in_channels": 3, "dim": 128},
     ("bn1", "layer4.2.bn3"), ()),
]


def run_case(make_model, x_shape, stats, grads):
    model = make_model()
    fill(model)
    model = model.double()
    x = torch.from_numpy(pattern(1000, int(np.prod(x_shape))).reshape(x_shape))
    g = torch.from_numpy(pattern(1001, x_shape[0] * 128).reshape(x_shape[0], 128))
    tensors = {"x": x.numpy(), "g": g.numpy()}
    tensors.update(calibrate(model, torch.from_numpy(pattern(1002, int(np.prod(x_shape))).reshape(x_shape))))

    model.eval()
    with torch.no_grad():
        fe = features(model, x.double())
        tensors["eval_features"] = f32(fe)
        tensors["eval_output"] = f32(model.fc(fe))

    model.train()
    ft = features(model, x.double())
    ot = model.fc(ft)
    (ot * g.double()).sum().backward()
    tensors["train_features"] = f32(ft)
    tensors["train_output"] = f32(ot)
    state = model.state_dict()
    for bn in stats:
        for stat in ("running_mean", "running_var"):
            tensors[f"{bn}.{stat}"] = f32(state[f"{bn}.{stat}"])
    params = dict(model.named_parameters())
    for name in grads:
        tensors["grad." + name] = f32(params[name].grad)
    return tensors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="src/test/resources/golden/nn")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    r18 = torchvision.models.resnet18()
    r50 = torchvision.models.resnet50()
    for file, make_model, x_shape, create, stats, grads in CASES:
        tensors = run_case(make_model, x_shape, stats, grads)
        metadata = {"op": "encoder", "torchvision": torchvision.__version__, **create,
                    "state_dict": state_names(make_model()), "parameters": str(param_count(make_model()))}
        if file == "encoder_resnet18_cifar":
            metadata.update({
                "resnet18_state_dict": state_names(r18), "resnet18_parameters": str(param_count(r18)),
                "resnet50_state_dict": state_names(r50), "resnet50_parameters": str(param_count(r50))})
        path = os.path.join(out, file + ".safetensors")
        write_safetensors(path, tensors, metadata)
        print(path, os.path.getsize(path), "bytes; eval |features| max %.3g, train |output| max %.3g" % (
            abs(tensors["eval_features"]).max(), abs(tensors["train_output"]).max()))


if __name__ == "__main__":
    main()
