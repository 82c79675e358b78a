"""``cmftvb simulate``: connectome -> network -> simulation -> .npz (arguments in cmftvb.cli).

Output (written atomically with :func:`cmftvb.io.save_npz`):

- ``time_ms`` (T,), ``labels`` (N,);
- one array per state variable present in the network (``S_E``, ``S_I``; with ``--model cmf``
  also ``GrC``, ``GoC``, ``MLI``, ``PC`` in kHz), and the Wong-Wang rates ``r_E``, ``r_I`` (Hz;
  numba engine), (T, N) for one seed, (S, T, N) for several (NaN where a node's model lacks
  the variable); ``bold_input`` likewise;
- ``params``: the run's parameters as a JSON string; ``meta``: JSON record with the network
  summary and the provenance (package versions, git commit, seeds).

Each seed's random stream is keyed by (``--subject``, model, G, seed), as in the workflow.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from cmftvb import CmftvbError, io


def _progress_printer(prefix: str):
    def report(pct: float, rate: float, eta: float) -> None:
        print(
            f"{prefix}: {pct:5.1f}% | {rate:.3g} simulated s per wall s | ETA {eta:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    return report


def run_simulate(args: argparse.Namespace) -> int:
    from cmftvb.connectome import load_any
    from cmftvb.engine import simulate
    from cmftvb.network import build_network, edge_summary, expand_edges

    conn = load_any(args.connectome)
    net = build_network(conn, args.model, args.preset, overrides=list(args.set or []))
    integ = net.params.get("integration", {})
    dt = args.dt
    speed = args.speed if args.speed is not None else float(integ["speed"])
    sigma = args.noise_sigma if args.noise_sigma is not None else float(integ["noise_sigma"])
    seeds = list(args.seed) if args.seed else [0]
    initial = {}
    for name, value in args.initial or []:
        try:
            initial[name] = float(value)
        except ValueError:
            raise CmftvbError(f"--initial {name}={value}: not a number") from None
    if not args.quiet:
        print(net.summary(), file=sys.stderr)
        print(edge_summary(expand_edges(conn, net, dt, speed), net), file=sys.stderr)
    result = simulate(
        conn,
        net,
        duration=args.duration,
        dt=dt,
        seeds=seeds,
        noise_sigma=sigma,
        G=args.G,
        speed=speed,
        initial=initial or None,
        monitor=args.monitor,
        monitor_period=args.monitor_period,
        progress=None if args.quiet else _progress_printer("cmftvb simulate"),
        engine=args.engine,
        subject=args.subject,
    )
    params_json = json.dumps(result.params, sort_keys=True, default=_jsonable)
    meta = {
        "format": "cmftvb.simulation/1",
        "connectome": str(args.connectome),
        "model": net.model,
        "preset": net.preset,
        "lane_axis": "seed" if len(seeds) > 1 else None,
        "seeds": seeds,
        "subject": args.subject,
        "units": {"time_ms": "ms", "S_E": "1", "S_I": "1", "rates": "kHz", "r_E/r_I": "Hz"},
        "network_summary": net.summary(),
        "provenance": io.provenance(None, seed=seeds, overrides=[list(kv) for kv in args.set]),
    }
    io.save_npz_stream(
        args.out,
        _chain(result.iter_arrays(squeeze=len(seeds) == 1), [("params", np.array(params_json))]),
        meta,
    )
    if not args.quiet:
        print(f"cmftvb simulate: wrote {args.out}", file=sys.stderr)
    return 0


def _chain(*iterables):
    for it in iterables:
        yield from it


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
