"""condense.measure and measure_state_dict give the numbers `condense analyze --weights` writes."""

import json

import numpy as np
import pytest
import torch

import condense


def condensed_weights(rng, m=12, c=2, k=3, lines=2, noise=0.05):
    """A conv weight whose kernels lie near `lines` directions, with random signs."""
    directions = rng.standard_normal((lines, c * k * k))
    w = np.stack([(1 if rng.random() < 0.5 else -1) * directions[i % lines] for i in range(m)])
    w += noise * rng.standard_normal(w.shape)
    return w.reshape(m, c, k, k)


def analyze(run_condense, tmp_path, tensors):
    folder = tmp_path / "weights"
    folder.mkdir()
    for name, value in tensors.items():
        np.save(folder / f"{name}.npy", value)
    run_condense("analyze", "--weights", folder, "--out", tmp_path / "report.json", "--quiet")
    return {layer["layer"]: layer for layer in
            json.loads((tmp_path / "report.json").read_text())["layers"]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dict_measures_equal_the_command_line_bit_for_bit(tmp_path, run_condense, dtype):
    rng = np.random.default_rng(1)
    tensors = {
        "conv1.weight": condensed_weights(rng).astype(dtype),
        "conv1.bias": rng.standard_normal(12).astype(dtype),
        "fc1.weight": rng.standard_normal((5, 30)).astype(dtype),
    }
    cli = analyze(run_condense, tmp_path, tensors)
    measures = condense.measure_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    assert list(measures) == ["conv1", "fc1"]
    for layer, mine in measures.items():
        theirs = cli[layer]
        for key in ("mean_abs_cos", "effective_rank", "norm"):
            assert mine.record[key] == theirs[key], (layer, key)
        for key in ("n_orientations", "n_lines", "n_negligible"):
            assert mine.record[key] == theirs[key], (layer, key)
    assert measures["conv1"].n_lines == 2


def test_one_tensor_with_initial_weights_and_a_direction():
    rng = np.random.default_rng(2)
    initial = 1e-3 * rng.standard_normal((8, 1, 3, 3))
    v = rng.standard_normal(9)
    v /= np.linalg.norm(v)
    now = np.stack([(-1) ** i * v for i in range(8)]).reshape(8, 1, 3, 3) + initial
    m = condense.measure(now, initial=initial, direction=v)
    expected_rd = np.linalg.norm(now - initial) / np.linalg.norm(initial)
    assert m.rd == pytest.approx(expected_rd, rel=1e-12)
    cos = np.abs(now.reshape(8, 9) @ v) / np.linalg.norm(now.reshape(8, 9), axis=1)
    assert m.align == pytest.approx(cos.mean(), rel=1e-12)
    assert m.align_min == pytest.approx(cos.min(), rel=1e-12)
    assert m.n_lines == 1 and m.n_orientations == 2
    assert m.ordered_cosines.shape == (8, 8)


def test_non_contiguous_and_float32_tensors_are_read_as_their_values():
    rng = np.random.default_rng(3)
    base = torch.from_numpy(rng.standard_normal((9, 8)))
    view = base.t()  # (8, 9), not contiguous
    assert not view.is_contiguous()
    a = condense.measure(view)
    b = condense.measure(view.contiguous().numpy().copy())
    assert a.record == b.record


def test_unsupported_tensors_are_skipped_and_named():
    rng = np.random.default_rng(4)
    state = {
        "conv1.weight": torch.from_numpy(rng.standard_normal((4, 1, 3, 3))),
        "bn1.running_mean": torch.zeros(4),
        "bn1.num_batches_tracked": torch.tensor(3),
    }
    measures = condense.measure_state_dict(state)
    assert list(measures) == ["conv1"]
    assert any("bn1.running_mean" in s for s in measures.skipped)


@pytest.mark.parametrize("weight, message", [
    (np.zeros((3,)), r"conv weights \(out, in, kh, kw\)"),
    (np.full((4, 9), np.nan), "NaN"),
    (np.zeros((0, 9)), ""),
])
def test_bad_weights_raise_value_errors(weight, message):
    with pytest.raises(ValueError, match=message):
        condense.measure(weight)


def test_a_direction_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="direction"):
        condense.measure(np.ones((4, 9)) + np.eye(4, 9), direction=np.ones(5))
