#!/usr/bin/python3
"""The condensation of every conv layer of a small ResNet trained in PyTorch from a small
initialization on Fashion-MNIST, tracked by condense (docs/python.md, "A small ResNet"):

    PYTHONPATH=build/python python3 examples/resnet_condensation.py --out runs/resnet_small_init

A stem conv, two residual blocks (the second with a strided 1x1 downsample), global average
pooling and a Linear head, tanh throughout, every weight drawn at 1/100 of PyTorch's usual size.
SGD with momentum on mini-batches of 100 of the first 1000 training images. A few minutes on two
cores. The tracker also makes the theory's prediction for the stem conv: this network is deeper
than the theory's two layers, so the report shows the stem's alignment measured against the
two-layer prediction, labelled as such. Then open RUN/report.html: per layer mean |cos|, lines,
effective rank and RD over training, and the cosine heatmaps of every conv layer."""

import argparse
import time

import torch
from torch import nn

import condense
from fashion_mnist import FOLDER, training_set


class Block(nn.Module):
    """A basic residual block, tanh(skip + conv(tanh(conv(h)))), with a 1x1 downsample when the
    shape changes. No normalization layer: its rescaling would undo the small initialization."""

    def __init__(self, channels_in, channels_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.downsample = None
        if stride != 1 or channels_in != channels_out:
            self.downsample = nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride,
                                                      bias=False))

    def forward(self, h):
        skip = h if self.downsample is None else self.downsample(h)
        return torch.tanh(skip + self.conv2(torch.tanh(self.conv1(h))))


class SmallResNet(nn.Module):
    def __init__(self, width=16, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.layer1 = nn.Sequential(Block(width, width, 1))
        self.layer2 = nn.Sequential(Block(width, 2 * width, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, x):
        h = torch.tanh(self.conv1(x))
        h = self.layer2(self.layer1(h))
        return self.fc(self.pool(h).flatten(1))


def small_init(model, scale):
    """Every weight from N(0, (scale / sqrt(fan_in))²), PyTorch's usual size times `scale`;
    biases 0."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.normal_(0.0, scale / module.weight[0].numel() ** 0.5)
                if module.bias is not None:
                    module.bias.zero_()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/resnet_small_init", help="the run directory")
    parser.add_argument("--data", default=str(FOLDER),
                        help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--images", type=int, default=1000, help="training images")
    parser.add_argument("--batch", type=int, default=100, help="mini-batch size")
    parser.add_argument("--steps", type=int, default=1500, help="optimizer steps")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate")
    parser.add_argument("--scale", type=float, default=0.01,
                        help="initial weights: PyTorch's usual size times this")
    parser.add_argument("--overwrite", action="store_true", help="replace the run directory")
    args = parser.parse_args()

    images, labels = training_set(args.images, args.data)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    torch.manual_seed(0)
    model = SmallResNet()
    small_init(model, args.scale)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    description = (f"first {args.images} Fashion-MNIST training images, standardized; "
                   f"cross-entropy; mini-batches of {args.batch}; init x{args.scale} of "
                   "PyTorch's size")
    started = time.perf_counter()
    with condense.Tracker(model, args.out, total_steps=args.steps, optimizer=optimizer,
                          description=description, overwrite=args.overwrite,
                          data=(x, y), activation="tanh", loss="cross-entropy",
                          theory={"batch_size": args.batch}) as tracker:
        generator = torch.Generator().manual_seed(1)
        order = torch.randperm(args.images, generator=generator)
        for step in range(args.steps):
            start = (step * args.batch) % args.images
            if start == 0 and step > 0:
                order = torch.randperm(args.images, generator=generator)
            batch = order[start:start + args.batch]
            logits = model(x[batch])
            loss = nn.functional.cross_entropy(logits, y[batch])
            accuracy = (logits.argmax(1) == y[batch]).float().mean()
            tracker.step(step, loss=loss, accuracy=accuracy, epoch=step * args.batch / args.images)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 100 == 0:
                print(f"step {step:5d}  loss {loss.item():.4f}  {tracker.note}", flush=True)
    print(f"{args.steps} steps in {time.perf_counter() - started:.0f} s, "
          f"{tracker.seconds:.1f} s of it in the tracker")

    run = condense.Run(args.out)
    last = run.analysis[run.analysis["step"] == run.analysis["step"].max()]
    print(last[["layer", "mean_abs_cos", "n_lines", "effective_rank", "rd"]].to_string(index=False))
    print(f"report: {run.path / 'report.html'}")


if __name__ == "__main__":
    main()
