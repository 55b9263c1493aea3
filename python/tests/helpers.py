"""Helpers of the Python package's tests (not a test file): reading the CSV tables of a run
directory and giving a PyTorch module a small initialization."""

import csv


def read_rows(path):
    """The rows of a CSV file as dicts of strings, by column name."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def small_init(module, std):
    """Every parameter of the module's Conv2d and Linear layers drawn from N(0, std²)."""
    import torch

    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, (torch.nn.Conv2d, torch.nn.Linear)):
                for p in sub.parameters():
                    p.normal_(0, std)
