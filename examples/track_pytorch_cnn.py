#!/usr/bin/python3
"""Trains the two-layer CNN of docs/science.md §2.1 in PyTorch and tracks it with condense
(docs/python.md, "Tracking a PyTorch training"):

    PYTHONPATH=build/python python3 examples/track_pytorch_cnn.py --out runs/pytorch_cnn

8 kernels 3×3 (no bias), tanh, a linear readout over every position, from weights of standard
deviation 1e-6, full-batch gradient descent (torch.optim.SGD) on the first 300 Fashion-MNIST
images with ±1 targets (+1 for classes 0-4). Given the data, the tracker makes the theory's
prediction (v₁, t_align, t_lin) first; the kernels condense onto one line, ±v₁, within about 100
steps, before the predicted end of the linear stage: open RUN/report.html, or run
`condense report RUN`, `condense analyze RUN`."""

import argparse

import numpy as np
import torch

import condense
from fashion_mnist import FOLDER, training_set


class TwoLayerCnn(torch.nn.Module):
    def __init__(self, kernels=8):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, kernels, 3, bias=False)
        self.fc1 = torch.nn.Linear(kernels * 26 * 26, 1, bias=False)

    def forward(self, x):
        return self.fc1(torch.flatten(torch.tanh(self.conv1(x)), 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/pytorch_cnn", help="the run directory")
    parser.add_argument("--data", default=str(FOLDER),
                        help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--images", type=int, default=300, help="training images")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps")
    parser.add_argument("--lr", type=float, default=0.005, help="learning rate")
    parser.add_argument("--std", type=float, default=1e-6, help="initial standard deviation")
    parser.add_argument("--overwrite", action="store_true", help="replace the run directory")
    args = parser.parse_args()

    images, labels = training_set(args.images, args.data)
    x = torch.from_numpy(images)
    y = torch.from_numpy(np.where(labels < 5, 1.0, -1.0).astype(np.float32))[:, None]

    torch.manual_seed(0)
    model = TwoLayerCnn()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, args.std)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    description = (f"first {args.images} Fashion-MNIST training images, standardized, ±1 "
                   f"targets (+1 for classes 0-4); MSE (1/2n)Σ|f−y|²; init std {args.std:g}")
    with condense.Tracker(model, args.out, total_steps=args.steps, optimizer=optimizer,
                          description=description, overwrite=args.overwrite,
                          data=(x, y), activation="tanh", loss="mse") as tracker:
        print(tracker.prediction)
        for step in range(args.steps):
            output = model(x)
            loss = 0.5 * ((output - y) ** 2).mean()
            accuracy = ((output > 0) == (y > 0)).float().mean()
            # The loss and accuracy of the weights after `step` optimizer steps.
            tracker.step(step, loss=loss, accuracy=accuracy)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 25 == 0 or step == args.steps - 1:
                print(f"step {step:4d}  loss {loss.item():.4f}  {tracker.note}")
    print(f"run directory {args.out}: open {args.out}/report.html; spent in the tracker "
          f"{tracker.seconds:.2f} s")


if __name__ == "__main__":
    main()
