#!/usr/bin/env python3
"""Whole training steps (zero_grad, forward, loss, backward, SGD step) of the
Fashion-MNIST CNN on the CPU, danlu vs PyTorch, measured in the same run with
the same thread count.

    /usr/bin/python3 bench/cpu_vs_torch.py [--danlu build/default/cpu_vs_torch]
        [--batch 128] [--steps 20] [--threads N]

The two sides run alternately --repeats times and the medians are compared,
so a burst of load on a shared machine does not decide the ratio. Prints
images/s for both and the ratio danlu / PyTorch (higher is better for danlu).
Needs PyTorch (Debian: python3-torch); danlu itself never does.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("skipped: PyTorch is not installed (Debian: python3-torch)", file=sys.stderr)
    sys.exit(77)


def fashion_cnn():
    # danlu's fashion_cnn preset (layers/models.cpp).
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def torch_images_per_second(batch, steps, warmup):
    torch.manual_seed(0)
    model = fashion_cnn().train()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.arange(batch) % 10
    # configs/fashion_cnn.json's optimizer, as in bench/cpu_vs_torch.cpp.
    sgd = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        sgd.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        sgd.step()
    return batch * steps / (time.perf_counter() - start)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--danlu", default=os.path.join(here, "..", "build", "default", "cpu_vs_torch"))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeats):
        out = subprocess.run([args.danlu, "--batch", str(args.batch), "--steps", str(args.steps),
                              "--warmup", str(args.warmup)], env=env, check=True,
                             capture_output=True, text=True).stdout
        ours_runs.append(json.loads(out.strip().splitlines()[-1])["images_per_second"])
        theirs_runs.append(torch_images_per_second(args.batch, args.steps, args.warmup))
    ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
    print(f"Fashion-MNIST CNN, batch {args.batch}, training step, {args.threads} threads, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(auto)')}")
    print(f"  danlu    {ours:10.1f} images/s  (median of {args.repeats})")
    print(f"  PyTorch  {theirs:10.1f} images/s  (median of {args.repeats}, torch {torch.__version__})")
    print(f"  ratio danlu/PyTorch = {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
