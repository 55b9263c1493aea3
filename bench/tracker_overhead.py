#!/usr/bin/python3
"""What condense.Tracker costs a PyTorch training (docs/python.md, "Cost"): the same small CNN
trained with and without the tracker, in alternating pairs in one process, and the share of the
tracked loop's time spent inside the tracker.

    PYTHONPATH=build/python python3 bench/tracker_overhead.py --pairs 5 --steps 600

The model: 16 kernels 3x3 with bias, tanh, max-pool 2, a Linear head 3136 x 10, SGD lr 0.05 on
mini-batches of 100 of the first 300 Fashion-MNIST images, snapshots at the log schedule."""

import argparse
import gzip
import pathlib
import statistics
import tempfile
import time

import numpy as np
import torch

import condense


def fashion_mnist(folder, n):
    def read(name):
        data = gzip.open(pathlib.Path(folder) / name, "rb").read()
        dims = data[3]
        shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
        return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)[:n]

    images = read("train-images-idx3-ubyte.gz").astype(np.float32)
    images = (images - images.mean()) / images.std()
    labels = read("train-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(images[:, None]), torch.from_numpy(labels)


def train(x, y, steps, out=None):
    """(wall seconds, process CPU seconds, seconds inside the tracker) of one training."""
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.Tanh(),
                                torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(16 * 14 * 14, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    wall, cpu = time.perf_counter(), time.process_time()
    tracker = None
    if out is not None:
        tracker = condense.Tracker(model, out, total_steps=steps, optimizer=optimizer,
                                   overwrite=True)
    for step in range(steps):
        batch = slice((step % 3) * 100, (step % 3) * 100 + 100)
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        if tracker is not None:
            tracker.step(step, loss=loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if tracker is not None:
        tracker.close(report=False)
    return (time.perf_counter() - wall, time.process_time() - cpu,
            tracker.seconds if tracker else 0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5, help="trainings with and without")
    parser.add_argument("--steps", type=int, default=600, help="optimizer steps per training")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    x, y = fashion_mnist(args.data, 300)
    train(x, y, 20)  # warm up
    plain, tracked = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for pair in range(args.pairs):
            plain.append(train(x, y, args.steps))
            tracked.append(train(x, y, args.steps, pathlib.Path(scratch) / "run"))
            print(f"pair {pair}: without {plain[-1][0]:.2f} s, with {tracked[-1][0]:.2f} s "
                  f"({100 * tracked[-1][2] / tracked[-1][0]:.2f} % inside the tracker)",
                  flush=True)
    wall = [statistics.median(r[0] for r in runs) for runs in (plain, tracked)]
    cpu = [statistics.median(r[1] for r in runs) for runs in (plain, tracked)]
    inside = statistics.median(r[2] / r[0] for r in tracked)
    print(f"medians: wall {wall[0]:.2f} s without, {wall[1]:.2f} s with (ratio "
          f"{wall[1] / wall[0]:.3f}); process CPU {cpu[0]:.2f} s, {cpu[1]:.2f} s (ratio "
          f"{cpu[1] / cpu[0]:.3f}); inside the tracker {100 * inside:.2f} % of the tracked loop; "
          f"spread of the trainings without: {min(r[0] for r in plain):.2f}–"
          f"{max(r[0] for r in plain):.2f} s")


if __name__ == "__main__":
    main()
