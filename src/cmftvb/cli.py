"""Command line: ``cmftvb <command> ...``.

Each sub-command is registered here (its arguments are the public interface) and implemented in
the module that owns the science. Errors a user can cause (:class:`cmftvb.CmftvbError`) are
printed as one line without a traceback and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cmftvb import CmftvbError, __version__


def _key_value(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if not key:
        raise argparse.ArgumentTypeError(f"empty name in {text!r}")
    return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmftvb", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cmftvb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser(
        "simulate",
        help="simulate a network (homogeneous Wong-Wang or cMF) on a connectome",
        description="Integrate a whole-brain network and save the monitored states as .npz.",
    )
    sim.add_argument("connectome", help="TVB connectivity zip or a prepared connectome (.npz)")
    sim.add_argument("--model", choices=["homogeneous", "cmf"], default="cmf")
    sim.add_argument("--preset", choices=["corrected", "published"], default="corrected")
    sim.add_argument("--duration", type=float, default=1000.0, help="simulated time (ms)")
    sim.add_argument("--dt", type=float, default=0.1, help="integration step (ms)")
    sim.add_argument(
        "--seed", type=int, action="append", default=None, help="seed; repeat for a batch"
    )
    sim.add_argument(
        "--noise-sigma",
        type=float,
        default=None,
        help="additive noise standard deviation per sqrt(ms) (default: the preset's)",
    )
    sim.add_argument(
        "--subject",
        default="",
        help="subject id; with model, G and seed it keys each seed's random stream",
    )
    sim.add_argument("--G", type=float, default=None, help="global coupling (default: preset)")
    sim.add_argument(
        "--speed", type=float, default=None, help="conduction speed (mm/ms; default: preset)"
    )
    sim.add_argument(
        "--initial",
        type=_key_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="constant initial history of a state variable (S_E, S_I, GrC, GoC, MLI, PC)",
    )
    sim.add_argument("--engine", choices=["numba", "tvb"], default="numba")
    sim.add_argument("--monitor", choices=["raw", "mean"], default="raw")
    sim.add_argument(
        "--monitor-period", type=float, default=None, help="monitor period (ms; default: dt)"
    )
    sim.add_argument(
        "--set",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset parameter or switch (dotted key, e.g. crbl.alpha.PC=2.5)",
    )
    sim.add_argument("--out", required=True, help="output .npz")
    sim.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    nc = sub.add_parser(
        "node-curve",
        help="steady-state rates of one isolated cerebellar node under constant mossy input",
    )
    nc.add_argument("--preset", choices=["corrected", "published"], default="corrected")
    nc.add_argument("--order", type=int, choices=[1, 2], default=1)
    nc.add_argument("--set", type=_key_value, action="append", default=[], metavar="KEY=VALUE")
    nc.add_argument("--mossy", type=float, nargs="+", required=True, metavar="HZ")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "simulate":
            from cmftvb.engine.cli import run_simulate

            return run_simulate(args)
        if args.command == "node-curve":
            from cmftvb.models.nodecurve import run_node_curve

            return run_node_curve(args)
    except CmftvbError as exc:
        print(f"cmftvb: error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
