#!/usr/bin/python3
"""Independent reference for tests/test_theory.cpp: the correlation Z of docs/science.md §2.3 and
its SVD, computed with numpy alone (patches by slicing a zero-padded array, numpy.linalg.svd) from
the same inputs and targets the C++ test uses.

usage: theory_reference.py INPUTS.npy TARGETS.npy KERNEL STRIDE PADDING BIAS OUT_DIR
  INPUTS (N, C, H, W), TARGETS (N, K); writes OUT_DIR/reference_v1.npy (d,) and
  OUT_DIR/reference_singular_values.npy. Exits non-zero (failing the test) without numpy.
"""
import sys

import numpy as np


def correlation(x, y, kernel, stride, padding, bias):
    n, channels, height, width = x.shape
    out_h = (height + 2 * padding - kernel) // stride + 1
    out_w = (width + 2 * padding - kernel) // stride + 1
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # patches[n, (c, i, j), oh, ow]: PyTorch's unfold order.
    rows = []
    for c in range(channels):
        for i in range(kernel):
            for j in range(kernel):
                rows.append(padded[:, c, i:i + stride * (out_h - 1) + 1:stride,
                                   j:j + stride * (out_w - 1) + 1:stride])
    patches = np.stack(rows, axis=1).reshape(n, channels * kernel * kernel, out_h * out_w)
    if bias:
        patches = np.concatenate([patches, np.ones((n, 1, out_h * out_w))], axis=1)
    # Z_k[q, :] = (1/n) sum_i y_ik patches[i, :, q]; blocks stacked over k.
    blocks = [np.einsum("i,idq->qd", y[:, k], patches) / n for k in range(y.shape[1])]
    return np.concatenate(blocks, axis=0)


def main():
    inputs, targets = np.load(sys.argv[1]), np.load(sys.argv[2])
    kernel, stride, padding, bias = (int(a) for a in sys.argv[3:7])
    out_dir = sys.argv[7]
    z = correlation(inputs, targets, kernel, stride, padding, bias)
    _, singular_values, vt = np.linalg.svd(z, full_matrices=False)
    np.save(f"{out_dir}/reference_v1.npy", vt[0])
    np.save(f"{out_dir}/reference_singular_values.npy", singular_values)


if __name__ == "__main__":
    main()
