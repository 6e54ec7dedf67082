#!/usr/bin/python3
"""jmoco's loader against torchvision's DataLoader on the same image files, in one run.

    /usr/bin/python3 bench/loader_compare.py --dir DIR [--workers 1,2] [--size 224] [--batch 64]
        [--jar bench/target/benchmarks.jar] [--quick]

DIR holds DIR/train/CLASS/*.jpg (tools/make_image_folder.py DIR --train 1024 --val 0 --size 500x375 --png-every 0
writes ImageNet-like 500 x 375 photos). Both sides prepare MoCo v2 training pairs at SIZE x SIZE (two views per
image: RandomResizedCrop(scale 0.2..1), ColorJitter(0.4, 0.4, 0.4, 0.1) p 0.8, RandomGrayscale 0.2, Gaussian blur
sigma 0.1..2 p 0.5, flip, normalise), batches of BATCH, shuffled, for each worker count:
  jmoco:       LoaderBench (JMH), libjpeg-turbo decoding on the loader's threads;
  torchvision: ImageFolder + the transforms of facebookresearch/moco's main_moco.py (--aug-plus) in a DataLoader
               with num_workers = the same count (worker processes, PIL decoding), persistent workers, after
               one warm-up epoch.
Prints images/s (images, not views) and images/s per thread for both, and the threads a 3,000 images/s GPU
step would need at jmoco's rate per thread. Run it on a quiet machine: nothing else running.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_RATE = 3000


def jmoco_rates(args):
    """{workers: images/s} from LoaderBench."""
    java = os.path.join(subprocess.run([os.path.join(HERE, "..", "tools", "jdk25")], capture_output=True,
                                       text=True, check=True).stdout.strip(), "bin", "java")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [java, "-jar", args.jar, "LoaderBench", "-p", f"dir={args.dir}", "-p", f"workers={args.workers}",
               "-p", f"size={args.size}", "-p", f"batch={args.batch}", "-rf", "json", "-rff", out.name]
        if args.quick:
            cmd += ["-wi", "1", "-i", "2"]
        print("loader_compare: " + " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        results = json.load(open(out.name))
    return {int(r["params"]["workers"]): args.batch / (r["primaryMetric"]["score"] / 1000) for r in results}


def torch_rate(args, workers):
    import torch
    import torchvision.datasets as datasets
    import torchvision.transforms as T
    from PIL import ImageFilter

    class GaussianBlur:  # moco/loader.py
        def __init__(self, sigma=(0.1, 2.0)):
            self.sigma = sigma

        def __call__(self, x):
            return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(self.sigma[0], self.sigma[1])))

    class TwoCropsTransform:  # moco/loader.py
        def __init__(self, base):
            self.base = base

        def __call__(self, x):
            return [self.base(x), self.base(x)]

    normalize = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    augmentation = T.Compose([
        T.RandomResizedCrop(args.size, scale=(0.2, 1.0)),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([GaussianBlur([0.1, 2.0])], p=0.5),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        normalize,
    ])
    data = datasets.ImageFolder(os.path.join(args.dir, "train"), TwoCropsTransform(augmentation))
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, shuffle=True, num_workers=workers,
                                         drop_last=True, persistent_workers=True)
    for _ in loader:  # warm-up epoch: workers started, files in the page cache
        pass
    epochs = 1 if args.quick else 3
    images, start = 0, time.perf_counter()
    for _ in range(epochs):
        for views, _ in loader:
            images += views[0].shape[0]
    return images / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--jar", default=os.path.join(HERE, "target", "benchmarks.jar"))
    p.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run, not a measurement)")
    args = p.parse_args()
    load_start = os.getloadavg()[0]
    ours = jmoco_rates(args)
    theirs = {w: torch_rate(args, w) for w in sorted(ours)}
    print(f"| threads | jmoco img/s | per thread | torchvision img/s | per worker | ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    for w in sorted(ours):
        print(f"| {w} | {ours[w]:.1f} | {ours[w] / w:.1f} | {theirs[w]:.1f} | {theirs[w] / w:.1f} | "
              f"{ours[w] / theirs[w]:.2f} |")
    best = max(ours[w] / w for w in ours)
    print(f"\n{TARGET_RATE} images/s (a GPU step rate) would need {TARGET_RATE / best:.0f} loader threads at jmoco's "
          f"best rate per thread ({best:.1f} img/s), {TARGET_RATE / max(theirs[w] / w for w in theirs):.0f} "
          f"torchvision workers.")
    print(f"\nMachine: {cpu_model()}, {os.cpu_count()} CPUs; {args.size} x {args.size} pairs from {args.dir}, batch "
          f"{args.batch}; load average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
