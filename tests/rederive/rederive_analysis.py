"""The condensation measures of docs/analysis.md, written in numpy from the documentation alone.

measure_layer returns, for one layer at one snapshot, everything analysis.csv and
cosines/step_<k>/ record: the cosine matrix, the clusters, the heatmap order and the numbers.
"""

import numpy as np


def kernel_matrix(weight, bias, with_bias):
    """M × d rows: a conv kernel flattened (channel, row, column), a linear layer's input weight
    row; with_bias appends the bias as one more column (layers without a bias unchanged)."""
    rows = weight.reshape(weight.shape[0], -1).astype(np.float64)
    if with_bias and bias is not None:
        rows = np.hstack([rows, bias.astype(np.float64).reshape(-1, 1)])
    return rows


def cosine_matrix(rows, norms):
    nonzero = norms > 0
    scale = np.where(nonzero, norms, 1.0)
    cosines = np.clip((rows @ rows.T) / np.outer(scale, scale), -1.0, 1.0)
    cosines[~nonzero, :] = 0.0
    cosines[:, ~nonzero] = 0.0
    cosines[np.flatnonzero(nonzero), np.flatnonzero(nonzero)] = 1.0
    return cosines


def connected_components(members, linked):
    """Clusters of `members` under the edges linked(b, g), each a sorted list, ordered by size
    (largest first), ties by their smallest member."""
    parent = {b: b for b in members}

    def root(b):
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    for i, b in enumerate(members):
        for g in members[i + 1:]:
            if linked(b, g):
                parent[root(b)] = root(g)
    groups = {}
    for b in members:
        groups.setdefault(root(b), []).append(b)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def cluster_ids(clusters, m):
    ids = [-1] * m
    for cluster_id, cluster in enumerate(clusters):
        for b in cluster:
            ids[b] = cluster_id
    return ids


def effective_rank(rows):
    if not np.all(np.isfinite(rows)) or not np.any(rows):
        return None
    s = np.linalg.svd(rows, compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def measure_layer(weight, bias, initial_weight, initial_bias, track, direction):
    """The measures of one layer. `direction` is the predicted v (or None)."""
    rows = kernel_matrix(weight, bias, track["with_bias"])
    m = rows.shape[0]
    norms = np.sqrt((rows * rows).sum(axis=1))
    largest = norms.max() if m else 0.0
    negligible = [b for b in range(m) if norms[b] < track["negligible"] * largest or norms[b] == 0]
    kept = [b for b in range(m) if b not in negligible]
    cosines = cosine_matrix(rows, norms)
    tau = track["threshold"]
    orientations = connected_components(kept, lambda b, g: cosines[b, g] >= tau)
    lines = connected_components(kept, lambda b, g: abs(cosines[b, g]) >= tau)
    orientation_of = cluster_ids(orientations, m)
    line_of = cluster_ids(lines, m)
    order = []
    for line in lines:
        inside = sorted({orientation_of[b] for b in line})
        for orientation_id in inside:
            order += orientations[orientation_id]
    order += negligible

    kept_count = len(kept)
    mean_abs_cos = None
    if kept_count >= 2:
        block = np.abs(cosines[np.ix_(kept, kept)])
        mean_abs_cos = float((block.sum() - np.trace(block)) / (kept_count * (kept_count - 1)))

    params = np.concatenate([weight.ravel(), bias.ravel() if bias is not None else []])
    params0 = np.concatenate([initial_weight.ravel(),
                              initial_bias.ravel() if initial_bias is not None else []])
    norm = float(np.sqrt((params * params).sum()))
    norm0 = float(np.sqrt((params0 * params0).sum()))
    rd = float(np.sqrt(((params - params0) ** 2).sum()) / norm0) if norm0 > 0 else None

    align, align_min = None, None
    if direction is not None and direction.size == rows.shape[1] and kept_count > 0:
        v_norm = np.sqrt((direction * direction).sum())
        along = [abs(rows[b] @ direction) / (norms[b] * v_norm) for b in kept]
        align, align_min = float(np.mean(along)), float(np.min(along))

    return {
        "cosines": cosines,
        "order": order,
        "orientation_of_kernel": orientation_of,
        "line_of_kernel": line_of,
        "orientation_sizes": [len(c) for c in orientations],
        "line_sizes": [len(c) for c in lines],
        "kernels": m,
        "kernel_size": rows.shape[1],
        "mean_abs_cos": mean_abs_cos,
        "n_orientations": len(orientations),
        "n_lines": len(lines),
        "n_negligible": len(negligible),
        "effective_rank": effective_rank(rows),
        "norm": norm,
        "rd": rd,
        "align_v1": align,
        "align_v1_min": align_min,
    }
