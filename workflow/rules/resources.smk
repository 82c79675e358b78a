"""Resources: memory (MB) and wall time (min) of the jobs, estimated from the inputs and the
config, doubled (memory) or multiplied (time) on each retry."""

import json
import math
import os


def n_nodes_of(network_file, fallback=130):
    """Node count of a network specification; `fallback` before the file exists (dry run)."""
    try:
        with open(network_file) as f:
            return len(json.load(f)["labels"])
    except (OSError, ValueError, KeyError, TypeError):
        return fallback


#: Wall time of the engine per simulated second for one seed on 126 nodes (s), with a margin
#: of about 2 over what was measured (README "Run times"), and the extra cost of each further
#: seed in a batch (fraction of one seed); tvb-library's Simulator runs seeds one by one at
#: about 8 s per simulated second for the cMF network (ENGINEERING.md).
SIM_WALL_PER_SIM_S = {"numba": 1.0, "tvb": 10.0}
SIM_EXTRA_SEED = {"numba": 0.5, "tvb": 1.0}
#: Python start, imports and numba cache load of one job (s).
JOB_OVERHEAD_S = 60
#: A job that finds numba's cache of the engine empty compiles it first: 91 s and a peak of
#: 434 MiB RSS measured (cmftvb.engine.cli.COMPILE_ESTIMATE_S, README "Run times"), against
#: the 400 MB base below. While the cache is empty (checked when a job is scheduled: on a
#: fresh install every job of the first wave compiles at once) simulation jobs get this much
#: memory at least and the compile time on top, so that a cluster does not kill them.
#: bench/compile_memory.py (bench/COMPILE.md) measures the peak: 434 MiB (455 MB) on
#: 2026-12-07 (1462 MiB before the engine's compilation was reworked, ccfecdb). 2000 MB is
#: kept: four times that peak, room for another machine's compiler (other LLVM, other
#: numba); it applies only to the simulation jobs scheduled while the cache is empty.
COMPILE_MEM_MB = 2000


def engine_compiles():
    """Whether a simulation job scheduled now would compile the engine (numba engine only)."""
    if config["simulation"]["engine"] != "numba":
        return False
    from cmftvb.engine.cli import engine_needs_compiling

    return engine_needs_compiling()


def batch_size(wildcards):
    return len(str(wildcards.seeds).split("_"))


def network_of(network_file):
    """(node models, roles) of a network specification; None before the file exists."""
    try:
        with open(network_file) as f:
            obj = json.load(f)
        return obj["node_model"], obj["roles"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def streamed_sizes(wildcards, input):
    """(file bytes, bytes held in memory) of a streamed simulation job
    (cmftvb.signals.stream_run.study_sizes); before the network exists (dry run) a network of
    130 cerebellar mean-field nodes, all cerebellar cortex (an upper bound)."""
    from cmftvb.signals.stream_run import study_sizes

    sim = config["simulation"]
    models, roles = network_of(input.network) or (["crbl"] * 130, ["crbl_cortex"] * 130)
    return study_sizes(
        models,
        roles,
        n_seeds=batch_size(wildcards),
        duration_ms=sim["duration_ms"],
        period_ms=sim["monitor_period_ms"],
        tr_s=TR_S,
        options=config["signals"],
        excerpt_s=config["figures"]["rate_traces"]["seconds"],
    )


def simulate_mem_mb(wildcards, input, attempt):
    """Memory of a simulation job (MB), doubled on each retry; at least COMPILE_MEM_MB while
    the engine is not compiled yet. simulation.store "activity":
    the monitored arrays (7 variables x seeds x samples x nodes, float64) held about three
    times (result, copies when saving) plus the interpreter and compiled code (measured peak:
    240-260 MB for 12 s x 2 seeds on 127 nodes, where this gives 530 MB). "signals": what the
    sink holds (kernel rings, cross-spectral sums, kept volumes), twice, plus the same 400 MB
    base; it does not grow with the simulated time beyond the kept BOLD volumes."""
    if STORE == "signals":
        held = streamed_sizes(wildcards, input)[1]
        mb = int(math.ceil(400 + 2 * held / 1e6))
    else:
        sim = config["simulation"]
        samples = sim["duration_ms"] / sim["monitor_period_ms"]
        arrays_mb = (
            7 * batch_size(wildcards) * samples * n_nodes_of(input.network) * 8 / 1e6
        )
        mb = int(math.ceil(400 + 3 * arrays_mb))
    if engine_compiles():
        mb = max(mb, COMPILE_MEM_MB)
    return mb * 2 ** (attempt - 1)


#: Values stored per node, monitored sample and seed in a simulation file (cmftvb.io
#: SIMULATION_PACKED, float32): measured on the demo's files, homogeneous S_E, S_I, r_E, r_I and
#: bold_input; cMF the same four on Wong-Wang nodes, four rates on cerebellar-cortex nodes, and
#: bold_input everywhere: five either way.
SIM_VALUES_PER_NODE = 5


def simulate_disk_mb(wildcards, input):
    """Disk of a simulation file (MB). simulation.store "activity": float32 values of every
    node, monitored sample and seed (npz, uncompressed), plus the float64 time axis: 121.03 MB
    for a demo file of 121.08 MB. "signals": the streamed arrays
    (cmftvb.signals.stream_run.study_sizes), at least 1 MB."""
    if STORE == "signals":
        return max(1, int(math.ceil(streamed_sizes(wildcards, input)[0] / 1e6)))
    sim = config["simulation"]
    samples = sim["duration_ms"] / sim["monitor_period_ms"]
    values = SIM_VALUES_PER_NODE * n_nodes_of(input.network) * batch_size(wildcards)
    return int(math.ceil((4 * values + 8) * samples / 1e6))


def simulate_runtime_min(wildcards, input, attempt):
    """Wall time limit of a simulation job (min), from nodes, simulated time and batch size,
    and the compilation while the engine is not compiled yet."""
    sim = config["simulation"]
    engine = sim["engine"]
    seeds = batch_size(wildcards)
    per_sim_s = SIM_WALL_PER_SIM_S[engine] * n_nodes_of(input.network) / 126
    wall_s = (
        sim["duration_ms"]
        / 1000
        * per_sim_s
        * (1 + SIM_EXTRA_SEED[engine] * (seeds - 1))
    )
    if engine_compiles():
        from cmftvb.engine.cli import COMPILE_ESTIMATE_S

        wall_s += 2 * COMPILE_ESTIMATE_S  # a margin of 2, as for the run itself
    return max(5, int(math.ceil((JOB_OVERHEAD_S + wall_s) / 60))) * attempt


def run_mem_mb(wildcards, input, attempt):
    """Memory of a per-run job reading one simulation batch (MB)."""
    size_mb = sum(os.path.getsize(f) for f in input if os.path.exists(f)) / 1e6
    return int(math.ceil(800 + 4 * size_mb)) * 2 ** (attempt - 1)
