#!/usr/bin/python3
"""Times condense against PyTorch on the benchmark workloads (src/condense/train/workloads.hpp).

Both train full batch with the same shapes, dtype, loss convention (MSE is (1/2N) sum |f - y|^2),
optimizer, thread count and number of warm-up and timed steps. The two alternate within one run,
round by round, so that the load of a shared machine falls on both alike; each round runs the
condense binary once (`bench --repeats 1`) and then the same number of steps in PyTorch. The table
reports medians over rounds and the ratio PyTorch/condense (above 1: condense is faster).

    bench/compare_pytorch.py build-bench/bench/condense-bench --threads 2 --json out.json

The binary is condense-bench or condense itself (both take `bench --workload ...`).

Debian's python3-torch does its dense products (nn.Linear) through the system BLAS and its
convolutions through oneDNN. scripts/setup.sh installs OpenBLAS (libopenblas0-pthread), which
Debian then makes the system BLAS; the table names the library libblas.so.3 resolves to.
--torch-blas DIR runs PyTorch with the libblas.so.3 found in DIR instead, e.g. the reference BLAS:

    bench/compare_pytorch.py build-bench/bench/condense-bench \
        --torch-blas /usr/lib/x86_64-linux-gnu/blas
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

WORKLOADS = {
    # name: dtype, samples
    "W1": ("float32", 500),
    "W2": ("float32", 500),
    "W3": ("float32", 1000),
    "W4": ("float64", 500),
}


def build(name, dtype, seed=1):
    """The PyTorch twin of a workload: model, optimizer, inputs, targets and loss function."""
    torch.manual_seed(seed)
    samples = WORKLOADS[name][1]
    if name in ("W1", "W4"):
        model = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=1, padding=1, bias=False), nn.Tanh(), nn.Flatten(),
            nn.Linear(32 * 32 * 32, 1, bias=False))
        x = torch.randn(samples, 3, 32, 32)
        y = torch.randn(samples, 1)
        optimizer = lambda params: torch.optim.SGD(params, lr=0.01)
    elif name == "W2":
        model = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=1, padding=1), nn.Tanh(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.Tanh(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.Tanh(), nn.Flatten(),
            nn.Linear(32 * 8 * 8, 256), nn.Tanh(), nn.Linear(256, 10))
        x = torch.randn(samples, 3, 32, 32)
        y = torch.randint(0, 10, (samples,))
        optimizer = lambda params: torch.optim.Adam(params, lr=1e-4)
    elif name == "W3":
        model = nn.Sequential(nn.Linear(784, 1024), nn.Tanh(), nn.Linear(1024, 1))
        x = torch.randn(samples, 784)
        y = torch.randn(samples, 1)
        optimizer = lambda params: torch.optim.SGD(params, lr=0.01)
    else:
        raise SystemExit(f"workload {name!r} is not known; expected one of {', '.join(WORKLOADS)}")
    # condense's init: every tensor ~ N(0, fan_in^-1), fan_in of its layer (workloads.cpp).
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                for p in module.parameters():
                    p.normal_(0.0, fan_in ** -0.5)
    torch_dtype = torch.float64 if dtype == "float64" else torch.float32
    model = model.to(torch_dtype)
    x = x.to(torch_dtype)
    if y.is_floating_point():
        y = y.to(torch_dtype)
        loss_fn = lambda f: 0.5 * ((f - y) ** 2).sum() / samples
    else:
        cross_entropy = nn.CrossEntropyLoss()
        loss_fn = lambda f: cross_entropy(f, y)
    return model, optimizer(model.parameters()), x, loss_fn


def torch_round(state, warmup, steps):
    """Warm-up steps, then `steps` timed steps; returns ms per step."""
    model, optimizer, x, loss_fn = state

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x))
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) * 1e3 / steps


def condense_round(binary, name, dtype, threads, warmup, steps):
    command = [binary, "bench", "--workload", name, "--dtype", dtype, "--threads", str(threads),
               "--warmup", str(warmup), "--steps", str(steps), "--repeats", "1"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", help="condense-bench or condense")
    parser.add_argument("--workloads", default="W1,W2,W3,W4", help="comma-separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per round")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per workload")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--torch-blas", help="folder whose libblas.so.3 PyTorch should use")
    args = parser.parse_args()
    if args.torch_blas and os.environ.get("CONDENSE_TORCH_BLAS") != args.torch_blas:
        # The BLAS is chosen when torch is loaded: start again with it first on the search path.
        env = dict(os.environ, CONDENSE_TORCH_BLAS=args.torch_blas,
                   OPENBLAS_NUM_THREADS=str(args.threads),
                   LD_LIBRARY_PATH=os.pathsep.join(
                       p for p in (args.torch_blas, os.environ.get("LD_LIBRARY_PATH")) if p))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)

    torch.set_num_threads(args.threads)
    rows = []
    for name in args.workloads.split(","):
        dtype = WORKLOADS[name][0] if name in WORKLOADS else "float32"
        state = build(name, dtype)
        condense_ms, torch_ms, last = [], [], None
        for _ in range(args.rounds):
            last = condense_round(args.binary, name, dtype, args.threads, args.warmup, args.steps)
            condense_ms.append(last["ms_per_step"])
            torch_ms.append(torch_round(state, args.warmup, args.steps))
        c, t = statistics.median(condense_ms), statistics.median(torch_ms)
        rows.append({
            "workload": name, "dtype": dtype, "threads": args.threads,
            "condense_ms_per_step": c, "pytorch_ms_per_step": t, "ratio": t / c,
            "condense_min_ms": min(condense_ms), "pytorch_min_ms": min(torch_ms),
            "gflop_per_step": last["gflop_per_step"],
            "condense_gflops": last["gflop_per_step"] * 1e3 / c,
            "pytorch_gflops": last["gflop_per_step"] * 1e3 / t,
            "condense_percent_of_peak": 100.0 * last["gflop_per_step"] * 1e3 / c
                                        / last["peak_gflops"],
            "condense_percent_of_measured_peak": 100.0 * last["gflop_per_step"] * 1e3 / c
                                                 / last["measured_peak_gflops"],
            "measured_peak_gflops": last["measured_peak_gflops"],
            "condense_peak_rss_mib": last["peak_rss_mib"],
            "peak_assumption": last["peak_assumption"],
            "condense_rounds_ms": condense_ms, "pytorch_rounds_ms": torch_ms,
        })
        print(f"# {name} done", file=sys.stderr, flush=True)

    header = (f"{'workload':8} {'dtype':8} {'condense ms':>12} {'PyTorch ms':>11} "
              f"{'PyTorch/condense':>17} {'condense % peak':>16} {'% measured peak':>16}")
    blas = args.torch_blas or os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    print(f"# threads {args.threads}, {args.warmup} warm-up + {args.steps} timed steps per round, "
          f"{args.rounds} alternating rounds, medians; torch {torch.__version__}, BLAS: {blas}")
    print(header)
    for r in rows:
        print(f"{r['workload']:8} {r['dtype']:8} {r['condense_ms_per_step']:12.2f} "
              f"{r['pytorch_ms_per_step']:11.2f} {r['ratio']:17.2f} "
              f"{r['condense_percent_of_peak']:16.1f} "
              f"{r['condense_percent_of_measured_peak']:16.1f}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"command": sys.argv, "torch": torch.__version__,
                       "torch_blas": args.torch_blas, "rows": rows}, out, indent=2)


if __name__ == "__main__":
    main()
