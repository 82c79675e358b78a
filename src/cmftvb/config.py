"""Checks of user input shared by the command line and the workflow configuration.

The config schema (``workflow/schemas/config.schema.yaml``) checks types and ranges; what a
JSON schema cannot say, or says too late, is checked here when the config is loaded, so a dry
run already refuses a config that would fail inside a job:

- ``simulation.G``: every value finite and in [``G_MIN``, ``G_MAX``] (a schema ``minimum``
  lets NaN through);
- ``simulation.dt_ms`` divides ``simulation.duration_ms`` and ``simulation.monitor_period_ms``;
- ``signals.fs_hz`` = 1000 / ``simulation.monitor_period_ms``: the signals are computed from
  the monitored samples, streamed or stored (``simulation.store``), without resampling;
- ``network.overrides``: every key exists in the presets or the projection table;
- ``cohort.participants``: the table lists at least one participant;
- ``cohort.source: sample`` needs ``connectome.prewired: true`` (the sample subject's
  cerebellum is already prewired; prewiring it again would silently change it);
- ``cohort.source: synthetic`` (model recovery, issue 11; :func:`check_synthetic`): the base
  cohort is checked as above, the generators are among the two fitted models, the generator's
  preset is simulated and has FIC on, its G is one of ``simulation.G_relative``, its seed is
  not a fitting seed, and every truncation length fits in the runs and holds FCD windows.

The same limits serve ``cmftvb simulate`` (:func:`check_G`, :func:`check_seed`,
:func:`check_multiple`), so the command line and the workflow accept the same values.
:func:`load_yaml` reads a config file and reports a syntax error with its file and line.
Every failure is a one-line :class:`cmftvb.CmftvbError` naming the key or option.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cmftvb import CmftvbError
from cmftvb.connectome.validate import finite_number
from cmftvb.models.presets import lookup, merged

#: Limits of the global coupling G (dimensionless), the same as the config schema's
#: ``simulation.G`` items (tests/test_cli_validation.py checks that they agree).
G_MIN = 0.0
G_MAX = 1000.0
#: Smallest random seed (seeds key counter-based streams; negative ones are refused).
SEED_MIN = 0
#: Relative tolerance of "is a whole multiple of" (ms values such as 0.1 are not exact).
MULTIPLE_RTOL = 1e-9


def check_G(value: Any, where: str) -> float:
    """``value`` as a finite float in [``G_MIN``, ``G_MAX``]; ``where`` names the key or flag."""
    g = finite_number(value, where, "G")
    if not G_MIN <= g <= G_MAX:
        raise CmftvbError(f"{where}: G must be between {G_MIN:g} and {G_MAX:g}, got {g:g}")
    return g


def check_seed(value: Any, where: str) -> int:
    """``value`` as an int >= ``SEED_MIN``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CmftvbError(f"{where}: a seed must be a whole number, got {value!r}")
    if value < SEED_MIN:
        raise CmftvbError(f"{where}: a seed must be >= {SEED_MIN}, got {value}")
    return int(value)


def check_multiple(value: float, step: float, what: str, step_what: str) -> int:
    """Number of ``step`` in ``value`` (both ms), refusing a value that is not a whole multiple.

    ``what`` and ``step_what`` name the two (``--duration 10 ms``, ``simulation.dt_ms``...).
    """
    if not (math.isfinite(value) and math.isfinite(step)) or step <= 0 or value <= 0:
        raise CmftvbError(f"{what} and {step_what} must be positive and finite")
    n = round(value / step)
    if n < 1 or abs(value / step - n) > MULTIPLE_RTOL * max(1.0, value / step):
        raise CmftvbError(
            f"{what} ({value:g} ms) is not a whole multiple of {step_what} ({step:g} ms)"
        )
    return int(n)


def load_yaml(path: str | os.PathLike) -> Any:
    """Read a YAML file; a syntax error names the file, line and column (1-based)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CmftvbError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CmftvbError(f"{p}: cannot read the config file ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is not None:
            raise CmftvbError(
                f"{p}:{mark.line + 1}:{mark.column + 1}: YAML syntax error: {problem}"
            ) from None
        raise CmftvbError(f"{p}: YAML syntax error: {problem}") from None


def check_overrides(
    overrides: Mapping[str, Any],
    where: str,
    models: tuple[str, ...] = ("homogeneous", "cmf"),
    presets: tuple[str, ...] = ("corrected", "published"),
) -> None:
    """Every ``network.overrides`` key must exist (presets or projection table) for every
    model variant that will be built; the first unknown key or bad value raises, naming
    ``where``. The variants are built on a three-node stand-in connectome (cortex, cerebellar
    cortex, DCN), so the check is the one :func:`cmftvb.network.build_network` makes."""
    import types

    import numpy as np

    from cmftvb.network import build_network

    pairs = [(str(k), v) for k, v in overrides.items()]
    roles = ["cortex", "crbl_hemisphere", "dcn"]
    stand_in = types.SimpleNamespace(
        weights=np.ones((3, 3)) - np.eye(3),
        tract_lengths=np.full((3, 3), 10.0) - 10.0 * np.eye(3),
        labels=["ctx", "Left_CrusI", "Left_Dentate"],
        roles=roles,
    )
    for model in models:
        for preset in presets:
            try:
                build_network(stand_in, model, preset, overrides=pairs)
            except CmftvbError as exc:
                raise CmftvbError(
                    f"{_override_message(str(exc), where)} (model {model}, preset {preset})"
                ) from None


def _override_message(msg: str, where: str) -> str:
    """``--set KEY: what`` (the preset code's wording) -> ``config key 'WHERE.KEY': what``."""
    for prefix in ("--set ", "override "):
        if msg.startswith(prefix) and ": " in msg:
            key, rest = msg[len(prefix) :].split(": ", 1)
            return f"config key '{where}.{key.strip(chr(39))}': {rest}"
    return f"config key '{where}': {msg}"


def check_config(config: Mapping, where: str) -> None:
    """Checks of a loaded (schema-validated, defaults filled) study config; see module doc.

    ``where`` names the config (e.g. the file) in messages, which also name the key:
    ``config.yaml: config key 'simulation.G': G must be a finite number, got nan``.
    """
    try:
        _check_config(config)
    except CmftvbError as exc:
        raise CmftvbError(f"{where}: {exc}") from None


def _check_config(config: Mapping) -> None:
    for i, g in enumerate(lookup(config, "simulation.G", []) or []):
        check_G(g, f"config key 'simulation.G[{i}]'")
    for i, s in enumerate(lookup(config, "simulation.seeds", []) or []):
        check_seed(s, f"config key 'simulation.seeds[{i}]'")
    dt = lookup(config, "simulation.dt_ms")
    if dt is not None:
        for key in ("duration_ms", "monitor_period_ms"):
            value = lookup(config, f"simulation.{key}")
            if value is not None:
                check_multiple(
                    float(value),
                    float(dt),
                    f"config key 'simulation.{key}'",
                    "config key 'simulation.dt_ms'",
                )
    period, fs = lookup(config, "simulation.monitor_period_ms"), lookup(config, "signals.fs_hz")
    if period is not None and fs is not None:
        if not math.isclose(float(fs) * float(period), 1000.0, rel_tol=1e-12):
            raise CmftvbError(
                f"config key 'signals.fs_hz': {float(fs):g} Hz must be 1000 / "
                f"simulation.monitor_period_ms ({1000.0 / float(period):g} Hz): the signals are "
                "computed from the monitored samples, not resampled"
            )
    overrides = lookup(config, "network.overrides", {}) or {}
    if overrides:
        models = tuple(lookup(config, "network.models", ("homogeneous", "cmf")))
        presets = tuple(
            dict.fromkeys(
                list(lookup(config, "network.presets", ["corrected"]))
                + list(lookup(config, "network.spec_presets", []))
            )
        )
        check_overrides(overrides, "network.overrides", models, presets)
    source = lookup(config, "cohort.source")
    if source == "synthetic":
        check_synthetic(config)
        source = lookup(config, "synthetic.base_source")
    if source == "participants":
        path = lookup(config, "cohort.participants", "")
        if not path:
            raise CmftvbError(
                "config key 'cohort.participants': required for cohort.source 'participants'"
            )
        from cmftvb.connectome.formats import read_participants

        try:
            table = read_participants(path)
        except CmftvbError as exc:
            raise CmftvbError(f"config key 'cohort.participants': {exc}") from None
        if len(table) == 0:
            raise CmftvbError(
                f"config key 'cohort.participants': {path} lists no participants "
                "(a header line but no rows)"
            )
    if source == "sample" and not lookup(config, "connectome.prewired", False):
        raise CmftvbError(
            "config key 'connectome.prewired': cohort.source 'sample' is the authors' "
            "already prewired subject; set connectome.prewired: true (prewiring it again "
            "would replace its cerebellar block)"
        )


def _check_synthetic_lengths(config: Mapping) -> None:
    """Every numeric ``synthetic.lengths_s`` fits in the runs and holds >= 3 FCD windows."""
    post = float(lookup(config, "simulation.duration_ms")) / 1000.0 - float(
        lookup(config, "signals.bold_transient_s")
    )
    syn = float(lookup(config, "synthetic.duration_s"))
    shortest = float(lookup(config, "fitness.fcd_window_s")) + 2 * float(
        lookup(config, "fitness.fcd_step_s")
    )
    for i, length in enumerate(lookup(config, "synthetic.lengths_s")):
        if length == "full":
            continue
        key = f"config key 'synthetic.lengths_s[{i}]'"
        if float(length) > min(post, syn) + 1e-9:
            raise CmftvbError(
                f"{key}: {length} s is longer than the runs ({post:g} s of simulated BOLD after "
                f"the transient, synthetic.duration_s {syn:g} s)"
            )
        if float(length) < shortest:
            raise CmftvbError(
                f"{key}: {length} s holds fewer than 3 FCD windows "
                f"(fitness.fcd_window_s + 2 x fitness.fcd_step_s = {shortest:g} s)"
            )


def check_synthetic(config: Mapping) -> None:
    """Checks of ``cohort.source: synthetic`` (module docstring); one line naming the key."""
    from cmftvb import gstar

    syn = lookup(config, "synthetic")
    models = list(lookup(config, "network.models"))
    if len(models) != 2:
        raise CmftvbError(
            f"config key 'network.models': a synthetic cohort compares two fitted models, "
            f"got {models}"
        )
    for g in syn["generators"]:
        if g not in models:
            raise CmftvbError(
                f"config key 'synthetic.generators': {g!r} is not a fitted model ({models})"
            )
    preset = syn["preset"]
    if preset not in lookup(config, "network.presets"):
        raise CmftvbError(
            f"config key 'synthetic.preset': {preset!r} must be one of network.presets "
            "(the fits are compared under the generator's preset)"
        )
    if not gstar.fic_on(preset, lookup(config, "network.overrides", {})):
        raise CmftvbError(f"config key 'synthetic.preset': {preset!r} has FIC off")
    rel = [float(g) for g in lookup(config, "simulation.G_relative")]
    if not any(math.isclose(float(syn["G_relative"]), g) for g in rel):
        raise CmftvbError(
            f"config key 'synthetic.G_relative': {syn['G_relative']} must be one of "
            f"simulation.G_relative {rel} (the fits are scored at the generator's G)"
        )
    check_seed(syn["seed"], "config key 'synthetic.seed'")
    if int(syn["seed"]) in [int(s) for s in lookup(config, "simulation.seeds")]:
        raise CmftvbError(
            f"config key 'synthetic.seed': {syn['seed']} is a fitting seed (simulation.seeds)"
        )
    for i, n in enumerate(syn["n_subjects"]):
        if int(n) < 2:
            raise CmftvbError(f"config key 'synthetic.n_subjects[{i}]': must be >= 2, got {n}")
    _check_synthetic_lengths(config)


def schema_errors(config: Mapping, schema_path: str | os.PathLike) -> str | None:
    """The first schema violation of ``config`` as ``config key 'a.b': what``, or None."""
    import jsonschema

    schema = load_yaml(schema_path)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(config)
    )
    if error is None:
        return None
    key = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        name = f"{key}.{unknown[0]}" if key else unknown[0]
        return f"config key '{name}': unknown key"
    return f"config key '{key or '(top level)'}': {error.message}"


def check_config_files(
    paths, base: str | os.PathLike | None = None, schema: str | os.PathLike | None = None
) -> dict:
    """What the workflow does with ``--configfile PATH ...``, checked up front.

    Each file is read with :func:`load_yaml` (syntax errors with file and line), merged over
    ``base`` (the default ``config.yaml``) in order, validated against ``schema`` (defaults
    filled in) and checked with :func:`check_config`. Returns the merged config.
    """
    config: dict = {}
    if base is not None:
        config = load_yaml(base) or {}
    last = str(base) if base is not None else "config"
    for path in paths:
        data = load_yaml(path)
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise CmftvbError(f"{path}: a config file must be a mapping of keys")
        config = merged(config, data)
        last = str(path)
    if schema is not None:
        msg = schema_errors(config, schema)
        if msg:
            raise CmftvbError(f"{last}: {msg}")
        from snakemake.utils import validate

        validate(config, str(schema), set_default=True)
    check_config(config, last)
    return config
