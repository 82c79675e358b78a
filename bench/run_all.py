"""Benchmarks of the engine against tvb-library; regenerates ``bench/RESULTS.md`` (not a test).

Usage: .venv/bin/python bench/run_all.py [--quick] [--cubnm PYTHON] [--out bench/RESULTS.md]

Every case runs in its own subprocess (``bench/case.py``), one after the other, single-threaded
(``--cpu K`` also pins it to core K), with
``NUMBA_NUM_THREADS=OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1``, on the 126-node
sample subject (preset ``corrected``, dt 0.1 ms, noise 0.001, monitor ``mean`` 4 ms):

(a) homogeneous: engine vs tvb-library's own ReducedWongWangExcInh + Linear coupling;
(b) cMF: engine vs tvb-library running the same network through ``cmftvb.engine.tvb``;
(c) engine cMF: one call with 8 seeds vs 8 single-seed calls (and vs one seed); the same
    batch of 8 vs one seed for the homogeneous model;
(d) engine peak memory of 60 s and 600 s cMF simulations (the larger output: 6 variables),
    run after (a)-(c), one at a time;
(e) engine CPU time against the number of lanes (1, 2, 4, 8, 16 seeds, interleaved in one
    process, minimum of 2), fitted as fixed + per-lane cost;
(g) peers (issue 15): the engine's homogeneous network without delays (tract lengths x 1e-6,
    every delay 0 steps), tvb-library's own model without delays, and, with ``--cubnm PYTHON``
    (the Python of a separate venv holding cuBNM 0.1.0 from PyPI), cuBNM's CPU build
    (``bench/cubnm_case.py``: reduced Wong-Wang, FIC off, one thread) with and without delays;
    the issue's ratios (engine without / with delays, cuBNM / engine, tvb-library / engine,
    cMF per simulated second, batch of 8 per seed / one seed) against its targets.

tvb-library runs are short (1 s simulated) and reported per simulated second. ``--quick``
shortens every case (for checking the script, not for numbers).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "bench" / "case.py"
CUBNM_CASE = ROOT / "bench" / "cubnm_case.py"
SAMPLE = ROOT / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"

TARGETS = {
    "engine_cmf_ms": 400.0,  # ms wall per simulated second (issue 3)
    "engine_homogeneous_ms": 250.0,
    "batch8_vs_one": 3.0,  # batch of 8 seeds <= 3x one seed
    "mem_600s_mib": 1024.0,  # 600 s simulation < 1 GiB
}

#: issue 15's targets (CPU ms per simulated second, ratios side by side)
TARGETS_15 = {
    "nodelay_vs_delay": 1.0,  # engine without delays no slower than with them
    "cubnm_delay": 5.0,  # cuBNM / engine, with delays, at least
    "cubnm_nodelay": 3.0,  # cuBNM / engine, without delays, at least
    "tvb_own": 25.0,  # tvb-library ReducedWongWangExcInh / engine, at least
    "cmf_ms": 120.0,  # engine cMF, one seed, CPU ms per simulated second, at most
    "tvb_bridge": 20.0,  # tvb-library bridge / engine cMF, at least
    "batch8_per_seed": 0.9,  # batch of 8, CPU per seed / one seed, at most
}


#: lane counts of group (e)
LANES = [1, 2, 4, 8, 16]


def fit_lanes(cpu_by_lanes: dict) -> tuple[float, float]:
    """Least-squares fit ``cpu = fixed + per_lane * lanes``; returns (fixed, per_lane)."""
    import numpy as np

    n = np.array([int(k) for k in cpu_by_lanes], dtype=float)
    t = np.array(list(cpu_by_lanes.values()), dtype=float)
    per_lane, fixed = np.polyfit(n, t, 1)
    return float(fixed), float(per_lane)


def cases(quick: bool) -> list[dict]:
    s = 0.1 if quick else 1.0
    return [
        dict(id="a_engine", group="a", runner="engine", model="homogeneous",
             duration=10000 * s, seeds=[1]),
        dict(id="a_tvb", group="a", runner="tvb_own", model="homogeneous",
             duration=1000 * s, seeds=[1]),
        dict(id="b_engine", group="b", runner="engine", model="cmf", duration=10000 * s,
             seeds=[1]),
        dict(id="b_tvb", group="b", runner="tvb_bridge", model="cmf", duration=1000 * s,
             seeds=[1]),
        dict(id="c_one", group="c", runner="engine", model="cmf", duration=5000 * s,
             seeds=[1]),
        dict(id="c_batch8", group="c", runner="engine", model="cmf", duration=5000 * s,
             seeds=list(range(1, 9))),
        dict(id="c_single8", group="c", runner="engine", model="cmf", duration=5000 * s,
             seeds=[1], repeat=8),
        dict(id="c_one_h", group="c", runner="engine", model="homogeneous",
             duration=5000 * s, seeds=[1]),
        dict(id="c_batch8_h", group="c", runner="engine", model="homogeneous",
             duration=5000 * s, seeds=list(range(1, 9))),
        dict(id="d_cmf_60", group="d", runner="engine", model="cmf", duration=60000 * s,
             seeds=[1]),
        dict(id="d_cmf_600", group="d", runner="engine", model="cmf", duration=600000 * s,
             seeds=[1]),
        dict(id="e_lanes_h", group="e", runner="engine", model="homogeneous",
             duration=2000 * s, seeds=[1], lanes=LANES, repeat=2),
        dict(id="e_lanes_cmf", group="e", runner="engine", model="cmf", duration=2000 * s,
             seeds=[1], lanes=LANES, repeat=2),
        dict(id="g_engine_nodelay", group="g", runner="engine", model="homogeneous",
             duration=10000 * s, seeds=[1], zero_delay=True),
        dict(id="g_tvb_nodelay", group="g", runner="tvb_own", model="homogeneous",
             duration=1000 * s, seeds=[1], zero_delay=True),
        dict(id="g_cubnm_delay", group="g", runner="cubnm", model="homogeneous",
             duration=10000 * s, seeds=[1], delays=True),
        dict(id="g_cubnm_nodelay", group="g", runner="cubnm", model="homogeneous",
             duration=10000 * s, seeds=[1], delays=False),
    ]  # fmt: skip


def _env() -> dict:
    env = dict(os.environ)
    for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = "1"
    return env


def cubnm_argv(spec: dict, python: str, sc_npz: Path) -> list[str]:
    """Command line of a cuBNM case (``bench/cubnm_case.py`` under cuBNM's own Python)."""
    return [python, str(CUBNM_CASE), str(sc_npz), str(spec["duration"]),
            "1" if spec["delays"] else "0"]  # fmt: skip


def write_sc(path: Path) -> Path:
    """The sample subject's weights and tract lengths as cuBNM's case reads them."""
    import numpy as np

    from cmftvb.connectome import load_any

    con = load_any(SAMPLE)
    np.savez(path, w=con.weights, l=con.tract_lengths)
    return path


def start_case(spec: dict, cpu: int | None, argv: list[str] | None = None):
    """Start one case in its own process (``bench/case.py``, or ``argv`` for a peer that has
    its own script); returns a handle for :func:`finish_case`."""
    spec = {**spec, "cpu": cpu}
    print(f"running {spec['id']} ...", file=sys.stderr, flush=True)
    load_before = round(os.getloadavg()[0], 2)
    if argv is None:
        argv = [sys.executable, str(CASE), json.dumps(spec)]
    elif cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    p = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT,
    )  # fmt: skip
    return spec, p, load_before


def best_of(spec: dict, cpu: int | None, argv: list[str] | None, n: int) -> dict:
    """Run a case ``n`` times, each in a fresh process, one after the other; the result of
    the attempt with the least CPU time, with every attempt's CPU seconds (``cpu_s_attempts``).
    On a shared machine another job's load only ever adds time, so the minimum is the
    steadiest estimate; every runner (the engine, tvb-library, cuBNM) gets the same ``n``."""
    runs = [finish_case(start_case(spec, cpu, argv)) for _ in range(max(1, n))]
    if n <= 1 or any(r.get("unfinished") or "cpu_s" not in r for r in runs):
        return runs[0]
    best = min(runs, key=lambda r: r["cpu_s"])
    return {**best, "attempts": len(runs), "cpu_s_attempts": [r["cpu_s"] for r in runs]}


def finish_case(handle, timeout: float | None = None) -> dict:
    spec, p, load_before = handle
    try:
        stdout, stderr = p.communicate(timeout=None if timeout is None else max(timeout, 1.0))
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        print(f"  {spec['id']}: not finished in time, stopped", file=sys.stderr, flush=True)
        return {**spec, "unfinished": True, "loadavg_1min_before": load_before,
                "loadavg_1min_after": round(os.getloadavg()[0], 2)}  # fmt: skip
    if p.returncode != 0:
        raise SystemExit(f"case {spec['id']} failed:\n{stderr[-3000:]}")
    res = {**spec, **json.loads(stdout.strip().splitlines()[-1])}
    res.setdefault("peak_rss_mib", float("nan"))
    res["loadavg_1min_before"] = load_before
    res["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
    if "cpu_s_by_lanes" in res:
        print(f"  {res['id']}: CPU s by lanes {res['cpu_s_by_lanes']}", file=sys.stderr)
        return res
    print(
        f"  {res['id']}: {res['wall_s']:.2f} s wall, {res['cpu_s']:.2f} s CPU for "
        f"{res['simulated_s']:.3g} simulated s, peak {res['peak_rss_mib']:.0f} MiB",
        file=sys.stderr,
        flush=True,
    )
    return res


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    info = {}
    for line in out.splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()
    model = info.get("Model name", platform.processor() or "unknown CPU")
    return (
        f"{model}, {info.get('CPU(s)', os.cpu_count())} logical CPUs "
        f"({info.get('Core(s) per socket', '?')} cores per socket x "
        f"{info.get('Socket(s)', '?')} sockets, {info.get('Thread(s) per core', '?')} threads "
        f"per core), {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}"
    )


def versions() -> str:
    from importlib.metadata import version

    names = ("numpy", "numba", "tvb-library", "cmftvb")
    out = []
    for n in names:
        try:
            out.append(f"{n} {version(n)}")
        except Exception:
            out.append(f"{n} ?")
    return ", ".join(out)


def git_commit() -> str:
    p = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
        check=False,
    )  # fmt: skip
    return p.stdout.strip() or "unknown"


def per_s(r: dict, key: str = "wall_s") -> float:
    """Milliseconds per simulated second."""
    return 1000.0 * r[key] / r["simulated_s"]


def report(res: dict[str, dict], cmd: str, started: str, finished: str, pinned: str) -> str:
    a_e, a_t, b_e, b_t = res["a_engine"], res["a_tvb"], res["b_engine"], res["b_tvb"]
    c1, c8, cs = res["c_one"], res["c_batch8"], res["c_single8"]

    lv = [r[k] for r in res.values() for k in ("loadavg_1min_before", "loadavg_1min_after")]
    if any("wall_s" not in r for r in res.values() if r["group"] in "abc"):
        raise SystemExit("a timed case is missing")
    loads = f"{min(lv):.1f} to {max(lv):.1f} during the run, on {os.cpu_count()} CPUs"
    best = max(int(r.get("attempts", 1)) for r in res.values())

    def met(ok: bool) -> str:
        return "met" if ok else "**MISSED**"

    L = [
        "# Benchmarks: the engine vs tvb-library",
        "",
        "Generated by `bench/run_all.py` (do not edit by hand).",
        "",
        f"- Command: `{cmd}`",
        f"- Date: {started} to {finished} (UTC); git commit {git_commit()}",
        f"- Machine: {machine()}",
        f"- Versions: {versions()}",
        "- Every number below comes from **one invocation**, the cases run one after the other,",
        "  each in its own single-threaded subprocess (`NUMBA_NUM_THREADS`, `OMP_NUM_THREADS`,",
        f"  `OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS` = 1; pinned to core: {pinned}).",
        *(
            [
                f"- Each timed case of (a), (b), (c) and (g) ran {best} times, each in a fresh",
                "  process, one after the other; the attempt with the least CPU time is",
                "  reported (another job's load only adds time), for every runner alike.",
            ]
            if best > 1
            else []
        ),
        "- The machine is **shared and noisy** (other jobs run on its cores at the same time;",
        f"  1-minute load average {loads}): wall times can be inflated severalfold; CPU time",
        "  (process time) is given too and is the steadier measure, though cache contention",
        "  inflates it as well. Ratios are of numbers measured side by side.",
        "- Workload: 126-node sample subject (HCP 103818, `SC_dirCB.zip`), preset `corrected`,",
        "  dt 0.1 ms, additive noise sigma 0.001 per sqrt(ms) (TVB `HeunStochastic`,",
        "  `Additive(nsig = sigma^2/2)`), speed 3 mm/ms, monitor `mean` with a 4 ms period",
        "  (TVB `TemporalAverage`). A 12 ms warm-up call (numba caches, tvb-library import) is",
        "  not timed. tvb-library cases simulate 1 s and are reported per simulated second.",
        "- Peak memory: `getrusage(RUSAGE_SELF).ru_maxrss` of the case's process (includes the",
        "  interpreter, numpy/numba, the monitored samples and, for tvb-library, its import).",
        "",
        "## (a), (b): wall time per simulated second, one seed",
        "",
        "| case | runner | simulated s | wall ms / sim s | CPU ms / sim s | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("a_engine", "(a) homogeneous, engine"),
        ("a_tvb", "(a) homogeneous, tvb-library ReducedWongWangExcInh"),
        ("b_engine", "(b) cMF, engine"),
        ("b_tvb", "(b) cMF, tvb-library via cmftvb.engine.tvb"),
    ):
        r = res[key]
        L.append(
            f"| {label} | {r['runner']} | {r['simulated_s']:g} | {per_s(r):.0f} | "
            f"{per_s(r, 'cpu_s'):.0f} | {r['peak_rss_mib']:.0f} |"
        )
    ra, rb = per_s(a_t) / per_s(a_e), per_s(b_t) / per_s(b_e)
    th, tc = TARGETS["engine_homogeneous_ms"], TARGETS["engine_cmf_ms"]
    L += [
        "",
        f"- (a) tvb-library / engine: **{ra:.1f}x** wall "
        f"({per_s(a_t, 'cpu_s') / per_s(a_e, 'cpu_s'):.1f}x CPU).",
        f"- (b) tvb-library / engine: **{rb:.1f}x** wall "
        f"({per_s(b_t, 'cpu_s') / per_s(b_e, 'cpu_s'):.1f}x CPU).",
        "- For scale: the project spec (ENGINEERING.md) quotes tvb-library's "
        f"ReducedWongWangExcInh "
        f"at about 1.9 s per simulated s on a quiet 2-core CI-like machine; here it took "
        f"{per_s(a_t, 'cpu_s') / 1000:.1f} s of CPU ({per_s(a_t) / 1000:.1f} s wall), so this "
        "run's CPU times look inflated by contention as well.",
        f"- Target engine homogeneous <= {th:.0f} ms per simulated s: {per_s(a_e):.0f} ms wall "
        f"({met(per_s(a_e) <= th)}), {per_s(a_e, 'cpu_s'):.0f} ms CPU "
        f"({met(per_s(a_e, 'cpu_s') <= th)}).",
        f"- Target engine cMF <= {tc:.0f} ms per simulated s: {per_s(b_e):.0f} ms wall "
        f"({met(per_s(b_e) <= tc)}), {per_s(b_e, 'cpu_s'):.0f} ms CPU "
        f"({met(per_s(b_e, 'cpu_s') <= tc)}).",
        "",
        "## (c): a batch of 8 seeds vs 8 single runs (engine)",
        "",
        "| case | seeds per call | calls | simulated s per call | wall s | CPU s |",
        "|---|---|---|---|---|---|",
    ]
    h1, h8 = res["c_one_h"], res["c_batch8_h"]
    for r, label in (
        (c1, "cMF, one seed"),
        (c8, "cMF, batch of 8"),
        (cs, "cMF, 8 single runs"),
        (h1, "homogeneous, one seed"),
        (h8, "homogeneous, batch of 8"),
    ):
        calls = int(r.get("repeat", 1))
        L.append(
            f"| {label} | {len(r['seeds'])} | {calls} | {r['simulated_s'] / calls:g} | "
            f"{r['wall_s']:.2f} | {r['cpu_s']:.2f} |"
        )
    b1, b1c = c8["wall_s"] / c1["wall_s"], c8["cpu_s"] / c1["cpu_s"]
    L += [
        "",
        f"- batch of 8 / one seed: **{b1:.2f}x** wall ({met(b1 <= TARGETS['batch8_vs_one'])}), "
        f"{b1c:.2f}x CPU ({met(b1c <= TARGETS['batch8_vs_one'])}); target <= "
        f"{TARGETS['batch8_vs_one']:g}x.",
        f"- 8 single runs / batch of 8: **{cs['wall_s'] / c8['wall_s']:.2f}x** wall "
        f"({cs['cpu_s'] / c8['cpu_s']:.2f}x CPU).",
        f"- homogeneous, batch of 8 / one seed: **{h8['wall_s'] / h1['wall_s']:.2f}x** wall "
        f"({met(h8['wall_s'] / h1['wall_s'] <= TARGETS['batch8_vs_one'])}), "
        f"{h8['cpu_s'] / h1['cpu_s']:.2f}x CPU.",
        "",
        "## (d): engine peak memory of long simulations (one seed, monitor mean 4 ms)",
        "",
        "These two cases ran after (a)-(c), one at a time (nothing else of this benchmark ran",
        "beside them).",
        "",
        "| model | simulated s | wall s | wall ms / sim s | peak RSS MiB | result held MiB |",
        "|---|---|---|---|---|---|",
    ]
    for key in ("d_cmf_60", "d_cmf_600"):
        r = res[key]
        if r.get("unfinished"):
            L.append(f"| {r['model']} | {r['duration'] / 1000:g} | not finished | | | |")
            continue
        L.append(
            f"| {r['model']} | {r['simulated_s']:g} | {r['wall_s']:.1f} | {per_s(r):.0f} | "
            f"{r['peak_rss_mib']:.0f} | {r['output_mib']:.0f} |"
        )
    r600 = res["d_cmf_600"]
    if r600.get("unfinished"):
        L += ["", "- Target 600 s < 1 GiB: **not measured** (the run did not finish in time)."]
    else:
        worst = r600["peak_rss_mib"]
        L += [
            "",
            f"- Target 600 s < {TARGETS['mem_600s_mib']:.0f} MiB: cMF {worst:.0f} MiB: "
            f"{met(worst < TARGETS['mem_600s_mib'])}.",
        ]
    L += [
        "- Peak RSS is read right after the simulation returns, before anything builds the",
        "  NaN-padded per-variable arrays (the engine keeps monitored samples compact; the",
        "  workflow writes the padded arrays one at a time). The integrator's own memory does",
        "  not grow with duration (ring buffer, streaming monitor); the monitored samples do.",
        "  `bold_input` is a view of those samples (no copy).",
        "",
        *lanes_section(res),
        *peers_section(res),
        "## Raw results (JSON, one line per case)",
        "",
        "```",
        *[json.dumps(r, sort_keys=True) for r in res.values()],
        "```",
        "",
    ]
    return "\n".join(L)


def lanes_section(res: dict[str, dict]) -> list[str]:
    """(e): CPU time against the number of lanes, and its fit ``fixed + per_lane * lanes``."""
    rows = [(k, res[k]) for k in ("e_lanes_h", "e_lanes_cmf") if k in res]
    if not rows:
        return []
    L = [
        "## (e): engine CPU time against the number of lanes",
        "",
        "One process per model; each lane count timed once per round, the counts interleaved,",
        "two rounds, minimum kept. CPU ms per simulated second:",
        "",
        "| model | "
        + " | ".join(f"{n} lane{'s' * (n > 1)}" for n in LANES)
        + " | fixed | per lane | batch 8 / 1, from the fit |",
        "|---|" + "---|" * (len(LANES) + 3),
    ]
    for _key, r in rows:
        c = r["cpu_s_by_lanes"]
        fixed, per = fit_lanes(c)
        k = 1000.0 / r["simulated_s"]
        L.append(
            f"| {r['model']} | "
            + " | ".join(f"{k * c[str(n)]:.0f}" for n in LANES)
            + f" | {k * fixed:.0f} | {k * per:.0f} | {(fixed + 8 * per) / (fixed + per):.2f}x |"
        )
    L += [
        "",
        "- With cost = fixed + per_lane x lanes, a batch of 8 costs (fixed + 8 per_lane) /",
        "  (fixed + per_lane) times one seed: at most 3x only if fixed >= 2.5 per_lane, that is",
        "  if a single-seed run spends at least 71 % of its time on work that does not grow",
        "  with the lanes (edge indices, loop overhead). The local-model sweeps and the noise",
        "  are per-lane arithmetic, already SIMD over nodes in a single-seed run, and the",
        "  coupling's memory traffic grows with the lanes, so the per-lane cost dominates.",
        "",
    ]
    return L


def peers_section(res: dict[str, dict]) -> list[str]:
    """(g): issue 15's ratios, of CPU times measured in this invocation, against its targets."""
    if "g_engine_nodelay" not in res:
        return []
    t = TARGETS_15

    def cpu(key: str) -> float:  # CPU ms per simulated second and per seed
        r = res[key]
        return per_s(r, "cpu_s") / len(r["seeds"])

    def met(ok: bool) -> str:
        return "met" if ok else "**MISSED**"

    rows = [
        ("engine homogeneous, with delays, one seed", "a_engine"),
        ("engine homogeneous, without delays, one seed", "g_engine_nodelay"),
        ("engine cMF, with delays, one seed", "b_engine"),
        ("engine homogeneous, batch of 8, per seed", "c_batch8_h"),
        ("engine cMF, batch of 8, per seed", "c_batch8"),
        ("tvb-library `ReducedWongWangExcInh`, with delays", "a_tvb"),
        ("tvb-library `ReducedWongWangExcInh`, without delays", "g_tvb_nodelay"),
        ("tvb-library, cMF through `cmftvb.engine.tvb`", "b_tvb"),
        ("cuBNM 0.1.0 CPU `rWWSimGroup`, with delays", "g_cubnm_delay"),
        ("cuBNM 0.1.0 CPU `rWWSimGroup`, without delays", "g_cubnm_nodelay"),
    ]
    L = [
        "## (g): peers side by side, and the targets of issue 15",
        "",
        'From the cases above and four more (`g_*`), all in this invocation. "Without',
        'delays": every tract length scaled by 1e-6, so every delay rounds to 0 steps. cuBNM',
        "0.1.0 (PyPI wheel, its CPU build, `force_cpu=True`, one OpenMP thread, in a venv of its",
        "own given by `--cubnm`) runs its reduced Wong-Wang with FIC off on the same connectome",
        "and dt; its differences: Euler integration, its own delay handling, Balloon-Windkessel",
        "BOLD always computed, and its session set-up inside the timed call.",
        "",
        "| case | CPU ms / simulated s / seed |",
        "|---|---|",
    ]
    for label, key in rows:
        if key in res and "cpu_s" in res[key]:
            L.append(f"| {label} | {cpu(key):.0f} |")
        else:
            L.append(f"| {label} | not run |")
    one_h = res["c_one_h"]["cpu_s"]
    one_c = res["c_one"]["cpu_s"]
    ratios = [
        ("engine without / with delays", cpu("g_engine_nodelay") / cpu("a_engine"),
         "<=", t["nodelay_vs_delay"]),
        ("tvb-library / engine, with delays", cpu("a_tvb") / cpu("a_engine"), ">=", t["tvb_own"]),
        ("tvb-library / engine, without delays", cpu("g_tvb_nodelay") / cpu("g_engine_nodelay"),
         None, None),
        ("engine cMF, CPU ms per simulated s", cpu("b_engine"), "<=", t["cmf_ms"]),
        ("tvb-library bridge / engine, cMF", cpu("b_tvb") / cpu("b_engine"), ">=",
         t["tvb_bridge"]),
        ("batch of 8 per seed / one seed, homogeneous", res["c_batch8_h"]["cpu_s"] / 8 / one_h,
         "<=", t["batch8_per_seed"]),
        ("batch of 8 per seed / one seed, cMF", res["c_batch8"]["cpu_s"] / 8 / one_c, "<=",
         t["batch8_per_seed"]),
    ]  # fmt: skip
    # the same ratio from (e): 1 and 8 lanes timed in one process, interleaved, best of two
    # rounds (less exposed to load changes between processes than the (c) cases above)
    for key, model in (("e_lanes_h", "homogeneous"), ("e_lanes_cmf", "cMF")):
        c = res.get(key, {}).get("cpu_s_by_lanes", {})
        if "1" in c and "8" in c:
            ratios.append((f"batch of 8 per seed / one seed, {model}, interleaved in one process",
                           c["8"] / 8 / c["1"], "<=", t["batch8_per_seed"]))  # fmt: skip
    for key, name, target in (("g_cubnm_delay", "with", "cubnm_delay"),
                              ("g_cubnm_nodelay", "without", "cubnm_nodelay")):  # fmt: skip
        if key in res and "cpu_s" in res[key]:
            eng = "a_engine" if name == "with" else "g_engine_nodelay"
            ratios.append((f"cuBNM / engine, {name} delays", cpu(key) / cpu(eng), ">=", t[target]))
    L += ["", "| measure | value | target | |", "|---|---|---|---|"]
    for name, value, op, target in ratios:
        if op is None:
            L.append(f"| {name} | {value:.2f} | | |")
            continue
        ok = value <= target if op == "<=" else value >= target
        L.append(f"| {name} | {value:.2f} | {op} {target:g} | {met(ok)} |")
    L.append("")
    return L


def rerender(path: Path) -> None:
    """Rewrite a RESULTS.md from its own raw JSON block and header (same measurements)."""
    text = path.read_text()
    raw = text.split("```")[-2].strip().splitlines()
    res = {r["id"]: r for r in map(json.loads, raw)}
    head = {}
    for line in text.splitlines():
        for key in ("Command", "Date"):
            if line.startswith(f"- {key}: "):
                head[key] = line[len(key) + 4 :]
    cmd = head["Command"].strip("`")
    started, _, rest = head["Date"].partition(" to ")
    finished = rest.split(" (UTC)")[0]
    pinned = text.split("pinned to core: ", 1)[1].split(")", 1)[0]
    new = report(res, cmd, started, finished, pinned)
    commit = text.split("git commit ", 1)[1].split("\n", 1)[0]
    new = new.replace(f"git commit {git_commit()}", f"git commit {commit}", 1)
    from cmftvb.io import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short cases (check the script)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    ap.add_argument("--cpu", type=int, default=-1, help="core to pin each case to (-1: none)")
    ap.add_argument("--only", nargs="*", help="case ids to run (default all)")
    ap.add_argument(
        "--cubnm",
        help="Python of a separate venv with cuBNM 0.1.0 (pip install cubnm==0.1.0); "
        "without it the cuBNM cases are skipped",
    )
    ap.add_argument(
        "--best",
        type=int,
        default=3,
        help="run each timed case (not the memory and lane cases) this many times, each in a "
        "fresh process, and keep the least CPU time (default 3)",
    )
    ap.add_argument(
        "--max-wait-s",
        type=float,
        default=None,
        help="stop waiting for the memory cases this many seconds after the start (reported)",
    )
    ap.add_argument(
        "--rerender",
        action="store_true",
        help="rewrite --out from the raw JSON block it already holds (no new measurements)",
    )
    a = ap.parse_args()
    cpu = None if a.cpu < 0 else a.cpu
    if a.rerender:
        rerender(Path(a.out))
        return
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    t_start = time.monotonic()
    todo = [c for c in cases(a.quick) if not a.only or c["id"] in a.only]
    todo = [c for c in todo if c["runner"] != "cubnm" or a.cubnm]
    res = {}
    tmp = tempfile.TemporaryDirectory()
    sc_npz = write_sc(Path(tmp.name) / "sc.npz") if a.cubnm else None
    for spec in todo:  # one at a time; (d) last but one, with a time limit if asked
        if spec["group"] != "d":
            argv = cubnm_argv(spec, a.cubnm, sc_npz) if spec["runner"] == "cubnm" else None
            res[spec["id"]] = best_of(spec, cpu, argv, 1 if spec.get("lanes") else a.best)
    tmp.cleanup()
    for spec in todo:
        if spec["group"] == "d":
            left = a.max_wait_s - (time.monotonic() - t_start) if a.max_wait_s else None
            res[spec["id"]] = finish_case(start_case(spec, cpu), left)
    finished = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    if a.only:
        print(json.dumps(res, indent=1))
        return
    cmd = ".venv/bin/python bench/run_all.py" + (" --quick" if a.quick else "")
    if a.best != 3:
        cmd += f" --best {a.best}"
    if a.cubnm:
        cmd += f" --cubnm {a.cubnm}"
    if cpu is not None:
        cmd += f" --cpu {cpu}"
    text = report(res, cmd, started, finished, "none" if cpu is None else str(cpu))
    from cmftvb.io import atomic_path

    with atomic_path(a.out) as tmp:
        Path(tmp).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
