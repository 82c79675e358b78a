"""``cmftvb simulate``: connectome -> network -> simulation -> .npz (arguments in cmftvb.cli).

Output (written atomically with :func:`cmftvb.io.save_simulation_full`, tagged
``cmftvb.simulation-full/1`` in ``meta["format"]``; read it with
:func:`cmftvb.io.load_simulation_full`):

- ``time_ms`` (T,), ``labels`` (N,);
- one array per state variable present in the network (``S_E``, ``S_I``; with ``--model cmf``
  also ``GrC``, ``GoC``, ``MLI``, ``PC`` in kHz), and the Wong-Wang rates ``r_E``, ``r_I`` (Hz;
  numba engine), (T, N) for one seed, (S, T, N) for several (NaN where a node's model lacks
  the variable); ``bold_input`` likewise;
- ``params``: the run's parameters as a JSON string; ``meta``: JSON record with the network
  summary and the provenance (package versions, git commit, seeds).

With ``--monitor signals`` the samples go to the workflow's chunk sink
(:class:`cmftvb.signals.stream_run.StudySignals`, settings :func:`signals_settings`) and the
file, written with :func:`cmftvb.io.save_tagged`, has its layout
(:data:`cmftvb.io.SIMULATION_SIGNALS`, the sink's settings in ``meta["options"]``).

Each seed's random stream is keyed by (``--subject``, G, seed), as in the workflow; the model
is not part of the key, so ``--model homogeneous`` and ``--model cmf`` draw the same numbers.

Before anything runs, the arguments are checked with the limits the workflow's config uses
(:mod:`cmftvb.config`): G finite in [0, 1000], seeds >= 0, the duration a whole multiple of the
monitor period (and both of ``--dt``), the output folder present, the estimated output size
within ``--max-output-gb``, a connectome with at least one connection. ``--model cmf`` on a
connectome without cerebellar-cortex nodes runs as all Wong-Wang, with a one-line warning.
The first run after installation compiles the engine (about a minute and a half, announced);
the progress rate and ETA count only the simulation (a one-period warm-up absorbs the
compilation and the loading of the compiled code).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from cmftvb import CmftvbError, io
from cmftvb import config as _cfg

#: s, how long the first compilation of the engine takes (measured 2026-12-07: 91 s on a quiet
#: 2-core AMD EPYC VM, peak 434 MiB RSS, bench/COMPILE.md; 447 s and 1.47 GB before ccfecdb;
#: README "Run times"); announced before it starts.
COMPILE_ESTIMATE_S = 100
#: bytes per stored value (float64).
_BYTES = 8


def engine_needs_compiling() -> bool:
    """Whether the compiled engine loop has no cached machine code yet (numba's cache index
    is empty or absent), i.e. the next run compiles it. False when this cannot be told."""
    try:
        from cmftvb.engine import core

        return not core.run_steps._cache._cache_file._load_index()
    except Exception:  # numba internals moved: just do not announce
        return False


def estimate_output_bytes(net, n_samples: int, n_seeds: int, engine: str) -> int:
    """Bytes of the .npz that ``simulate`` writes (the state arrays dominate): one float64
    (seeds, samples, nodes) array per state variable present, ``bold_input``, and with the
    numba engine and Wong-Wang nodes ``r_E`` and ``r_I``."""
    n_arrays = monitored_var_count(net, engine) + 1
    return _BYTES * n_arrays * n_samples * net.n_nodes * n_seeds


def monitored_var_count(net, engine: str) -> int:
    """Variables the engine monitors for ``net``: every state variable present, and with the
    numba engine and Wong-Wang nodes the rates ``r_E`` and ``r_I``."""
    from cmftvb.network import MODEL_VARS

    n = len({v for m in set(net.node_model) for v in MODEL_VARS[m]})
    return n + 2 if engine == "numba" and "wongwang" in net.node_model else n


def signals_settings(args, period: float) -> dict:
    """Keywords of :class:`cmftvb.signals.stream_run.StudySignals` for ``--monitor signals``:
    the signal stage's defaults (:data:`cmftvb.signals.run.DEFAULT_OPTIONS`) with the BOLD
    model, one ``--transient`` for BOLD and the electrophysiology, the spectra at the monitor
    rate (1000 / ``period`` Hz) over :data:`STREAM_NPERSEG` samples, ``--tr`` (ms, as s) and
    ``--excerpt``; every monitored variable's spectrum and excerpt, in float64 (the samples of
    ``--monitor mean``). The coherence between nodes (cross spectra of every node pair, about
    21 MB held per seed for the sample subject's 126 nodes) only with ``--node-coherence``."""
    from cmftvb.signals.run import DEFAULT_OPTIONS
    from cmftvb.signals.stream_run import MEAN_VARIABLES, STUDY_PARTS

    with_nodecoh = bool(getattr(args, "node_coherence", False))
    options = DEFAULT_OPTIONS | {
        "bold_model": args.bold_model,
        "bold_transient_s": args.transient,
        "ephys_transient_s": args.transient,
        "fs_hz": 1000.0 / period,
        "welch_nperseg": STREAM_NPERSEG,
        "welch_noverlap": STREAM_NOVERLAP,
    }
    return {
        "period_ms": period,
        "tr_s": args.tr / 1000.0,
        "options": options,
        "excerpt_s": args.excerpt,
        "spectra_variables": MEAN_VARIABLES,
        "excerpt_variables": MEAN_VARIABLES,
        "dtype": np.float64,
        "parts": tuple(p for p in STUDY_PARTS if p != "node_coherence" or with_nodecoh),
    }


def _signals_sink(args, period: float, n_seeds: int, roles):
    """The :class:`cmftvb.signals.stream_run.StudySignals` sink of ``--monitor signals``
    (``roles``: the connectome's node roles, for the coherence between nodes and the rates
    through the hemodynamics)."""
    from cmftvb.signals.stream_run import StudySignals

    return StudySignals(n_seeds, roles=roles, **signals_settings(args, period))


def signals_output_bytes(args, period: float, net, roles, n_seeds: int) -> int:
    """Upper bound of the bytes of a ``--monitor signals`` file
    (:func:`cmftvb.signals.stream_run.study_sizes`)."""
    from cmftvb.signals.stream_run import study_sizes

    settings = signals_settings(args, period)
    del settings["period_ms"]
    return study_sizes(
        net.node_model, roles, n_seeds=n_seeds, duration_ms=args.duration, period_ms=period,
        **settings,
    )[0]  # fmt: skip


def _save(args, result, sink, meta: dict, labels, seeds: list[int]) -> None:
    """Write ``--out``: the streamed signals (:data:`cmftvb.io.SIMULATION_SIGNALS`, the
    sink's settings in ``meta["options"]``), or the monitored activity."""
    if sink is None:
        items = result.iter_arrays(squeeze=len(seeds) == 1)
        io.save_simulation_full(args.out, items, result.params, meta)
        return
    arrays = sink.arrays() | {"labels": np.asarray(labels), "seeds": np.asarray(seeds)}
    arrays["params"] = np.array(io.canonical_json(result.params))
    meta |= {"monitor": "signals", "options": dict(sink.settings)}
    io.save_tagged(args.out, io.SIMULATION_SIGNALS, arrays, meta)


def _progress_printer(prefix: str):
    def report(pct: float, rate: float, eta: float) -> None:
        print(
            f"{prefix}: {pct:5.1f}% | {rate:.3g} simulated s per wall s | ETA {eta:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    return report


def _check_args(args) -> tuple[list[int], float | None, float]:
    """Validate what can be checked before loading anything; returns (seeds, G, period)."""
    seeds = [_cfg.check_seed(s, "--seed") for s in (args.seed or [0])]
    G = None if args.G is None else _cfg.check_G(args.G, "--G")
    for name in ("duration", "dt"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            raise CmftvbError(f"--{name}: must be a positive number of ms, got {value:g}")
    streamed = args.monitor == "signals"
    if args.monitor_period is not None:
        period = args.monitor_period
    else:
        period = STREAM_PERIOD_MS if streamed else args.dt
    if not (math.isfinite(period) and period > 0):
        raise CmftvbError(f"--monitor-period: must be a positive number of ms, got {period:g}")
    _cfg.check_multiple(period, args.dt, "--monitor-period", "--dt")
    _cfg.check_multiple(args.duration, period, "--duration", "--monitor-period")
    if not (math.isfinite(args.max_output_gb) and args.max_output_gb > 0):
        raise CmftvbError(f"--max-output-gb: must be a positive number, got {args.max_output_gb}")
    if streamed:
        _check_streamed(args, period)
    elif getattr(args, "node_coherence", False):
        raise CmftvbError("--node-coherence: only with --monitor signals (it is a streamed signal)")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise CmftvbError(f"--out {args.out}: folder {out.parent} does not exist (create it first)")
    if out.is_dir():
        raise CmftvbError(f"--out {args.out}: is a folder, give a file name ending in .npz")
    return seeds, G, period


#: ms, monitor period of ``--monitor signals`` when not given: 250 Hz, as the workflow.
STREAM_PERIOD_MS = 4.0
#: Welch segment and overlap of ``--monitor signals`` (samples), as signals.welch_* defaults.
STREAM_NPERSEG, STREAM_NOVERLAP = 500, 250


def _check_streamed(args, period: float) -> None:
    """``--monitor signals``: the numba engine, a positive TR that is a whole multiple of the
    monitor period, non-negative transient and excerpt, and at least one Welch segment and
    one spectral-mode window after the transient."""
    if args.engine != "numba":
        raise CmftvbError("--monitor signals: needs --engine numba (it streams from the loop)")
    if not (math.isfinite(args.tr) and args.tr > 0):
        raise CmftvbError(f"--tr: must be a positive number of ms, got {args.tr:g}")
    _cfg.check_multiple(args.tr, period, "--tr", "--monitor-period")  # BOLD samples the periods
    for name in ("transient", "excerpt"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value >= 0):
            raise CmftvbError(f"--{name}: must be a number of s >= 0, got {value:g}")
    left = round((args.duration - args.transient * 1000.0) / period)
    # a Welch segment, and a window of the spectral modes (2 s, ephys.spectral_modes)
    need = max(STREAM_NPERSEG, round(2000.0 / period))
    if left < need:
        raise CmftvbError(
            f"--monitor signals: {left} samples after the {args.transient:g}-s transient; the "
            f"spectra need at least {need} ({need * period / 1000:g} s at "
            f"--monitor-period {period:g}): lengthen --duration or shorten --transient"
        )


#: G as a fraction of G* when a FIC preset runs without --G or --G-relative (the workflow's
#: highest default fraction, config simulation.G_relative).
DEFAULT_G_RELATIVE = 0.9


def _relative_G(conn, net, fraction: float, G: float | None, *, quiet: bool) -> float:
    """--G-relative: fraction x this network's G* (:func:`cmftvb.gstar.critical_G_record`;
    the workflow takes the smaller G* of the two variants, so that both run at one G)."""
    from cmftvb import fic, gstar

    if G is not None:
        raise CmftvbError("--G and --G-relative: give one of them")
    if not (math.isfinite(fraction) and fraction > 0):
        raise CmftvbError(f"--G-relative: must be a positive fraction of G*, got {fraction:g}")
    if not fic.fic_enabled(net):
        raise CmftvbError(
            f"--G-relative: preset {net.preset!r} has FIC off (wongwang.fic); G* is the "
            "stability limit of the FIC state, give --G instead"
        )
    if not quiet:
        print("cmftvb simulate: finding the critical G* (bisection)", file=sys.stderr)
    record = gstar.critical_G_record(conn, {net.model: net})
    G_abs = fraction * float(record["reference"])
    if not quiet:
        print(
            f"cmftvb simulate: G* = {record['reference']:.4g}; G = {fraction:g} x G* = {G_abs:.4g}",
            file=sys.stderr,
        )
    return G_abs


def _fic_inputs(conn, net, G: float | None, initial: dict, *, quiet: bool):
    """Under a preset with FIC on (``wongwang.fic``, e.g. ``corrected``), as the workflow's
    rule tune_fic does: per-node J_i tuned at this G (:func:`cmftvb.fic.tune`) and the FIC
    fixed point as the initial state (``--initial`` still wins, variable by variable), with a
    warning when G is at or above the network's critical G*. Returns (J_i or None, initial)."""
    from cmftvb import fic, gstar

    if not fic.fic_enabled(net):
        return None, initial
    G_run = float(net.params["coupling"]["G"]) if G is None else G
    try:
        result = fic.tune(conn, net, G_run)
    except CmftvbError as exc:
        raise CmftvbError(
            f"{exc}; the FIC resting state exists only below a critical G (about 0.5 for the "
            "sample subject): lower --G, give --G-relative, or switch FIC off with --set "
            "wongwang.fic=false"
        ) from None
    J_i = gstar.j_i_for_engine(result, net)
    warning = gstar.instability_warning(conn, net, result)
    if warning:
        print(f"cmftvb simulate: warning: {warning} (switch FIC off with --set "
              "wongwang.fic=false)", file=sys.stderr)  # fmt: skip
    if not quiet:
        ww = J_i[np.asarray(net.node_model) == "wongwang"]
        print(
            f"FIC (wongwang.fic): J_i {ww.min():.4g}-{ww.max():.4g} nA for r_E "
            f"{result.target_hz:g} Hz at G {G_run:g}; start at the FIC state",
            file=sys.stderr,
        )
    return J_i, {**gstar.fic_initial(result), **initial}


def _print_summary(conn, net, dt: float, speed: float, size: float) -> None:
    """The network, its edges and the output size, on stderr before a run."""
    from cmftvb.connectome import validate as _v
    from cmftvb.network import edge_summary, expand_edges

    print(net.summary(), file=sys.stderr)
    print(edge_summary(expand_edges(conn, net, dt, speed), net), file=sys.stderr)
    n0 = _v.weights_without_length(conn.weights, conn.tract_lengths)
    if n0:
        print(
            f"note: {n0} connections have a weight but a zero tract length (zero conduction delay)",
            file=sys.stderr,
        )
    print(f"output: about {size / 1e6:.3g} MB", file=sys.stderr)


#: Options of ``cmftvb simulate`` passed to :func:`cmftvb.engine.simulate` as they are.
_ENGINE_OPTIONS = ("dt", "monitor", "engine", "subject")


def _run_settings(args: argparse.Namespace, net, period: float) -> dict:
    """Engine keywords known before the run's coupling: :data:`_ENGINE_OPTIONS` from the command
    line, the monitor ``period`` (ms, :func:`_check_args`), and ``speed`` (mm/ms) and
    ``noise_sigma`` (per sqrt(ms)) from the command line or, when not given, the preset's
    ``integration``."""
    integ = net.params.get("integration", {})
    run = {name: getattr(args, name) for name in _ENGINE_OPTIONS}
    run["monitor_period"] = period
    if args.monitor == "signals":  # the engine averages over each period; the sink streams
        run["monitor"] = "mean"
    run["speed"] = args.speed if args.speed is not None else float(integ["speed"])
    sigma = args.noise_sigma
    run["noise_sigma"] = sigma if sigma is not None else float(integ["noise_sigma"])
    return run


def run_simulate(args: argparse.Namespace) -> int:
    from cmftvb import fic
    from cmftvb.connectome import load_any
    from cmftvb.connectome import validate as _v
    from cmftvb.engine import simulate
    from cmftvb.network import build_network

    seeds, G, period = _check_args(args)
    conn = load_any(args.connectome)
    _v.has_connections(conn.weights, str(args.connectome))
    net = build_network(conn, args.model, args.preset, overrides=list(args.set or []))
    run = _run_settings(args, net, period)
    initial = {}
    for name, value in args.initial or []:
        try:
            initial[name] = float(value)
        except ValueError:
            raise CmftvbError(f"--initial {name}={value}: not a number") from None
    if args.model == "cmf" and "crbl" not in net.node_model:
        print(
            f"cmftvb simulate: warning: {args.connectome} has no cerebellar-cortex nodes;"
            " --model cmf runs every node as Wong-Wang",
            file=sys.stderr,
        )
    sink = None
    if args.monitor == "signals":
        sink = _signals_sink(args, period, len(seeds), conn.roles)
        size = signals_output_bytes(args, period, net, conn.roles, len(seeds))
    else:
        size = estimate_output_bytes(net, round(args.duration / period), len(seeds), args.engine)
    if size > args.max_output_gb * 1e9:
        raise CmftvbError(
            f"--out {args.out}: the output would be about {size / 1e9:.1f} GB (limit "
            f"--max-output-gb {args.max_output_gb:g}); store less with --monitor mean "
            "--monitor-period 4, or raise --max-output-gb"
        )
    if not args.quiet:
        _print_summary(conn, net, run["dt"], run["speed"], size)
    fraction = args.G_relative
    if fraction is None and G is None and fic.fic_enabled(net):
        fraction = DEFAULT_G_RELATIVE  # the preset's coupling.G (2) has no FIC resting state
    if fraction is not None:
        G = _relative_G(conn, net, fraction, args.G, quiet=args.quiet)
    J_i, initial = _fic_inputs(conn, net, G, initial, quiet=args.quiet)
    run.update(J_i=J_i, seeds=seeds, G=G, initial=initial or None)
    if not args.quiet and args.engine == "numba":
        # A one-period warm-up compiles the engine (or loads it from numba's cache), so that
        # the progress rate and ETA below count only the simulation itself.
        if engine_needs_compiling():
            print(
                "cmftvb simulate: compiling the engine (once per installation, about "
                f"{COMPILE_ESTIMATE_S} s)",
                file=sys.stderr,
                flush=True,
            )
        t0 = time.perf_counter()
        simulate(conn, net, duration=period, **run)
        took = time.perf_counter() - t0
        if took > 2.0:
            print(f"cmftvb simulate: engine ready after {took:.0f} s", file=sys.stderr)
    result = simulate(
        conn,
        net,
        duration=args.duration,
        progress=None if args.quiet else _progress_printer("cmftvb simulate"),
        **run,
        **({"sink": sink} if sink is not None else {}),
    )
    meta = {
        "connectome": str(args.connectome),
        "model": net.model,
        "preset": net.preset,
        "lane_axis": "seed" if len(seeds) > 1 else None,
        "seeds": seeds,
        "subject": args.subject,
        "units": {"time_ms": "ms", "S_E": "1", "S_I": "1", "rates": "kHz", "r_E/r_I": "Hz"},
        "network_summary": net.summary(),
        "fic": J_i is not None,
        "provenance": io.provenance(None, seed=seeds, overrides=[list(kv) for kv in args.set]),
    }
    _save(args, result, sink, meta, net.labels, seeds)
    if not args.quiet:
        print(f"cmftvb simulate: wrote {args.out}", file=sys.stderr)
    return 0
