"""python3 -m condense COMMAND: the commands of the Python package (docs/python.md).

    python3 -m condense import-checkpoints FILE... --out RUN [--steps 0,100,...]

Exit codes as condense's (docs/exit-codes.md): 0 success, 1 internal error, 2 bad input or I/O
failure, 130 interrupted."""

import argparse
import sys


def _steps(text):
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--steps {text}: expected integers separated by commas, e.g. 0,100,200") from None
    if any(s < 0 for s in steps):
        raise argparse.ArgumentTypeError(f"--steps {text}: steps must be ≥ 0")
    return steps


def _parser():
    parser = argparse.ArgumentParser(prog="python3 -m condense",
                                     description="condense's commands for PyTorch users.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    imported = commands.add_parser(
        "import-checkpoints",
        help="Write checkpoints saved over a training as a condense run directory.",
        description="Write a series of checkpoints (torch.save files .pt/.pth, .safetensors "
                    "files, or folders of .npy files) saved over one training as a condense run "
                    "directory: snapshots, analysis.csv (RD against the first checkpoint), "
                    "cosines/, summary.json and report.html.")
    imported.add_argument("files", nargs="+", metavar="FILE", help="the checkpoints")
    imported.add_argument("--out", required=True, metavar="RUN", help="the run directory")
    imported.add_argument("--steps", type=_steps, metavar="S,S,...",
                          help="the step of each FILE, in the order given (default: the number "
                               "in each file name, else their order)")
    imported.add_argument("--threshold", type=float, help="cosine threshold of the clusters "
                                                          "(default 0.95)")
    imported.add_argument("--negligible", type=float,
                          help="kernels below this fraction of the largest norm are set aside "
                               "(default 0.01)")
    imported.add_argument("--with-bias", action="store_true",
                          help="append each kernel's bias to its weight vector")
    imported.add_argument("--description", help="free text about the run (the data, the model)")
    imported.add_argument("--overwrite", action="store_true",
                          help="replace RUN if condense made it")
    imported.add_argument("--no-report", action="store_true",
                          help="skip the figures and report.html (condense report RUN draws "
                               "them)")
    return parser


def main(argv=None):
    arguments = _parser().parse_args(argv)
    try:
        from .checkpoints import import_checkpoints

        run = import_checkpoints(arguments.files, arguments.out, steps=arguments.steps,
                                 threshold=arguments.threshold, negligible=arguments.negligible,
                                 with_bias=arguments.with_bias,
                                 description=arguments.description,
                                 overwrite=arguments.overwrite, report=not arguments.no_report)
    except (ValueError, OSError) as error:
        print(f"condense: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("condense: interrupted", file=sys.stderr)
        return 130
    print(f"condense: wrote {run}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
