"""Parameter presets: the models' parameters as data (YAML), with units and sources.

Two presets ship with the package (``src/cmftvb/models/presets/<name>.yaml``):

- ``corrected`` (the study default): MODEL.md §2-§5 with every deviation switch off.
- ``published``: the authors' whole-brain code (MODEL.md §6); its file holds only the keys that
  differ and names ``corrected`` under ``inherit``, so both presets share one copy of every
  parameter. :func:`load_preset` resolves the inheritance (a nested merge: mappings merge key by
  key, any other value replaces).

A preset is a plain nested ``dict``; the kernels read it once through ``wongwang.pack`` and
``crbl.pack``. Units are the engine's: ms, kHz, mV, nS, pF (MODEL.md, header).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

import yaml

from cmftvb import CmftvbError
from cmftvb.models import registry

#: Names of the shipped presets.
PRESETS = ("corrected", "published")

#: Boolean switches of ``preset["switches"]``: name -> what it does when true. Every switch
#: except ``pf_to_goc`` reproduces one deviation of the published code (MODEL.md §6) and is
#: false in ``corrected``, true in ``published`` (``mossy_masked_at_crbl`` is false in both:
#: the shipped ``published`` is the March-2025 code). MODEL.md §6.8 (BOLD from the first state
#: variable: S_E in Wong-Wang nodes, GrC in cerebellar nodes) has no switch: both presets
#: follow it, through each local model's ``bold_var`` (:mod:`cmftvb.models.registry`).
SWITCHES: dict[str, str] = {
    "goc_exc_reversal_m80": (
        "MODEL.md §6.1: both excitatory inputs of the Golgi cell (mossy and GrC) use the "
        "inhibitory reversal E_i = -80 mV instead of E_e = 0 mV, which silences the GoC. "
        "Read by crbl.pack."
    ),
    "grc_inh_K35": (
        "MODEL.md §6.2: the GoC->GrC convergence is K = 35 (the mf->GoC value) instead of "
        "crbl.synapses.GoC_GrC.K (2.5). Read by crbl.pack."
    ),
    "rounded_P": (
        "MODEL.md §6.3: threshold coefficients from crbl.P_published (as typed in the "
        "published class, about three decimals) instead of the full-precision crbl.P. "
        "Read by crbl.pack."
    ),
    "pf_double_counted": (
        "MODEL.md §6.4: the parallel-fibre input of MLI and PC enters the mean excitatory "
        "conductance mu_Ge twice (once inside the presynaptic rate, once added again) but "
        "sigma_V and tau_V once. Read by crbl.pack."
    ),
    "ww_sign_error": (
        "MODEL.md §6.5: Wong-Wang dS_E/dt = +S_E/tau_E + (1 - S_E) gamma_E H_E (sign error "
        "on the decay). Read by wongwang.pack."
    ),
    "target_masked_coupling": (
        "MODEL.md §6.6: the published coupling scheme: two coupling sums c0 (S_E or GrC) and "
        "c3 (PC, or a noise-driven dummy in Wong-Wang nodes) masked by target type instead "
        "of per-projection routing. Read by the network/engine."
    ),
    "pf_goc_mossy_synapse": (
        "MODEL.md §6.6 (GoC part): the parallel-fibre input reaching a Golgi cell is added to "
        "its mossy input (mf->GoC synapse: K 35, Q 0.24 nS, tau 5 ms, published 'c0 + c0') "
        "instead of to its local GrC input (GrC->GoC synapse). Read by crbl.pack."
    ),
    "dcn_flip_lost": (
        "MODEL.md §6.7: the DCN receive +sum W nu from the cerebellar cortex (the published "
        "sign flip never took effect); false: PC inhibition with sign -1. Read by the network."
    ),
    "published_guards": (
        "MODEL.md §6.9: the numerical guards inside F as coded (crbl.published_guards: +1e-6 "
        "kHz on presynaptic rates except the GoC mossy input, +1e-9 (GoC 1e-15) on rates in "
        "the tau_V numerator, +1e-20 on sigma_V). false: exact formulas with zero-input limits "
        "handled explicitly. Read by crbl.pack."
    ),
    "published_initial_history": (
        "MODEL.md §6.9: initial history uniform random per node (ranges and seed in "
        "initial_history). Read by the engine."
    ),
    "mossy_masked_at_crbl": (
        "MODEL.md §6 (last paragraph): the December-2024 code, in which the mossy coupling "
        "sum is zeroed at cerebellar-cortex targets. false: the March-2025 code. Read by the "
        "network."
    ),
    "pf_to_goc": (
        "Routing choice (MODEL.md §4: parallel fibres go to GoC, MLI and PC), not a published "
        "deviation: when true the parallel-fibre input nu_pf_in also drives the Golgi cell "
        "(through the GrC->GoC synapse, or the mossy synapse under pf_goc_mossy_synapse); when "
        "false GoC see only their local GrC (MODEL.md §2.1 as written). Read by crbl.pack."
    ),
}

#: Allowed values of ``crbl.background.kind``.
BACKGROUND_KINDS = ("ou", "constant", "none")

_MAX_INHERIT = 8


def _read_yaml(name: str) -> dict:
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise CmftvbError(f"preset {name!r}: not a preset name (known: {', '.join(PRESETS)})")
    res = resources.files("cmftvb.models").joinpath("presets", f"{name}.yaml")
    if not res.is_file():
        raise CmftvbError(f"preset {name!r}: unknown (known: {', '.join(PRESETS)})")
    try:
        data = yaml.safe_load(res.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CmftvbError(f"presets/{name}.yaml: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise CmftvbError(f"presets/{name}.yaml: top level is not a mapping")
    return data


def lookup(config: Mapping, dotted: str, default: Any = None) -> Any:
    """The value at a dotted key (``"simulation.dt_ms"``) of nested mappings, or ``default``
    where a part of the key is missing."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def merged(base: Mapping, over: Mapping) -> dict:
    """``over`` merged into a deep copy of ``base``: mappings merge key by key, any other value
    replaces (Snakemake's --configfile rule; preset inheritance). The inputs are not changed."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_preset(name: str) -> dict:
    """Load preset ``name`` (``corrected`` or ``published``) as a new nested dict.

    ``inherit: <other>`` in a preset file merges the file over ``<other>`` (recursively).
    The result is validated (:func:`validate`). Raises :class:`CmftvbError` for an unknown
    name or an invalid file.
    """
    chain = []
    data = _read_yaml(name)
    while "inherit" in data:
        parent = data.pop("inherit")
        chain.append(data)
        if len(chain) > _MAX_INHERIT:
            raise CmftvbError(f"preset {name!r}: inheritance chain too long (a cycle?)")
        data = _read_yaml(str(parent))
    for child in reversed(chain):
        data = merged(data, child)
    data["name"] = name
    validate(data, source=f"preset {name!r}")
    return data


def _scalar_ok(old: Any, new: Any) -> bool:
    if old is None or new is None:  # null (unbounded) <-> number; validate() has the last word
        return True
    if isinstance(old, bool):
        return isinstance(new, bool)
    if isinstance(old, int | float):
        return isinstance(new, int | float) and not isinstance(new, bool)
    return isinstance(new, type(old))


def apply_overrides(preset: Mapping, pairs: Iterable[tuple[str, str]]) -> dict:
    """Return a copy of ``preset`` with dotted-key overrides applied.

    ``pairs`` are ``(key, value)`` strings as given on the command line (``--set KEY=VALUE``),
    e.g. ``("crbl.alpha.PC", "2.5")`` or ``("crbl.P.GrC", "[-0.43, 0.007, 0.023, 0.48, 0.22]")``;
    a list element can be addressed by its index (``crbl.P.GrC.0``). Values are parsed as YAML
    scalars (or flow lists) and must have the type of the value they replace (numbers for
    numbers, booleans for booleans, lists of the same length). Unknown keys, type mismatches
    and values that break :func:`validate` raise :class:`CmftvbError` naming the key.
    """
    out = copy.deepcopy(dict(preset))
    for key, text in pairs:
        if not key or any(not part for part in key.split(".")):
            raise CmftvbError(f"--set {key!r}: empty key part")
        try:
            value = yaml.safe_load(text) if isinstance(text, str) else text
        except yaml.YAMLError as exc:
            raise CmftvbError(f"--set {key}: value {text!r} is not a YAML scalar") from exc
        parts = key.split(".")
        node: Any = out
        for depth, part in enumerate(parts[:-1]):
            node = _child(node, part, ".".join(parts[: depth + 1]))
        last = parts[-1]
        if isinstance(node, dict):
            if last not in node:
                raise CmftvbError(f"--set {key}: unknown key {last!r}")
            old = node[last]
        elif isinstance(node, list):
            idx = _index(node, last, key)
            old = node[idx]
        else:
            raise CmftvbError(f"--set {key}: {'.'.join(parts[:-1])} is not a mapping")
        if isinstance(old, dict):
            raise CmftvbError(f"--set {key}: is a section, set one of its keys")
        if isinstance(old, list):
            if not isinstance(value, list) or len(value) != len(old):
                raise CmftvbError(
                    f"--set {key}: expected a list of {len(old)} values, got {text!r}"
                )
            for o, v in zip(old, value, strict=True):
                if not _scalar_ok(o, v):
                    raise CmftvbError(f"--set {key}: element {v!r} has the wrong type")
        elif not _scalar_ok(old, value):
            want = "true/false" if isinstance(old, bool) else type(old).__name__
            raise CmftvbError(f"--set {key}: expected {want}, got {text!r}")
        if isinstance(old, float) and isinstance(value, int):
            value = float(value)
        if isinstance(node, dict):
            node[last] = value
        else:
            node[idx] = value
    validate(out, source="--set")
    return out


def _child(node: Any, part: str, where: str) -> Any:
    if isinstance(node, dict):
        if part not in node:
            raise CmftvbError(f"--set {where}: unknown key {part!r}")
        return node[part]
    if isinstance(node, list):
        return node[_index(node, part, where)]
    raise CmftvbError(f"--set {where}: not a mapping")


def _index(node: list, part: str, key: str) -> int:
    try:
        idx = int(part)
    except ValueError:
        raise CmftvbError(f"--set {key}: {part!r} is not a list index") from None
    if not 0 <= idx < len(node):
        raise CmftvbError(f"--set {key}: index {idx} out of range (0..{len(node) - 1})")
    return idx


def _num(preset: Mapping, path: str, source: str, *, positive: bool = False) -> float:
    node: Any = preset
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise CmftvbError(f"{source}: missing key {path}")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float) or not math.isfinite(node):
        raise CmftvbError(f"{source}: {path} must be a finite number, got {node!r}")
    if positive and node <= 0:
        raise CmftvbError(f"{source}: {path} must be > 0, got {node!r}")
    return float(node)


def validate(preset: Mapping, source: str = "preset") -> None:
    """Check that ``preset`` has every key the kernels read, with sane values.

    Raises :class:`CmftvbError` naming the first offending key.
    """
    for sec in ("integration", "coupling", "wongwang", "crbl", "bounds", "switches"):
        if not isinstance(preset.get(sec), Mapping):
            raise CmftvbError(f"{source}: missing section {sec!r}")
    for k in ("dt", "speed"):
        _num(preset, f"integration.{k}", source, positive=True)
    if _num(preset, "integration.noise_sigma", source) < 0:
        raise CmftvbError(f"{source}: integration.noise_sigma must be >= 0")
    _num(preset, "coupling.G", source)
    for k in ("a_E", "b_E", "gamma_E", "w_plus", "J_N", "W_E", "a_I", "b_I", "gamma_I", "J_i"):
        _num(preset, f"wongwang.{k}", source)
    for k in ("d_E", "tau_E", "d_I", "tau_I"):
        _num(preset, f"wongwang.{k}", source, positive=True)
    for k in ("W_I", "I_0", "lamda", "I_ext"):
        _num(preset, f"wongwang.{k}", source)
    if not isinstance(preset["wongwang"].get("fic"), bool):
        raise CmftvbError(f"{source}: wongwang.fic must be true or false (FIC, cmftvb.fic)")
    _num(preset, "wongwang.fic_target_hz", source, positive=True)
    _num(preset, "crbl.T", source, positive=True)
    _num(preset, "crbl.fd_step", source, positive=True)
    _num(preset, "crbl.fd_step2", source, positive=True)
    order = preset["crbl"].get("order")
    if order not in (1, 2) or isinstance(order, bool):
        raise CmftvbError(f"{source}: crbl.order must be 1 or 2, got {order!r}")
    for pop in registry.populations("crbl"):
        _num(preset, f"crbl.alpha.{pop}", source, positive=True)
        for sec in ("P", "P_published"):
            coeffs = preset["crbl"].get(sec, {}).get(pop)
            if (
                not isinstance(coeffs, list)
                or len(coeffs) != 5
                or not all(
                    isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
                    for c in coeffs
                )
            ):
                raise CmftvbError(f"{source}: crbl.{sec}.{pop} must be a list of 5 numbers")
        for k in ("g_L", "C_m"):
            _num(preset, f"crbl.cells.{pop}.{k}", source, positive=True)
        _num(preset, f"crbl.cells.{pop}.E_L", source)
        _num(preset, f"crbl.N.{pop}", source, positive=True)
    for k in ("E_e", "E_i"):
        _num(preset, f"crbl.reversal.{k}", source)
    for syn in (
        "mf_GrC",
        "GoC_GrC",
        "mf_GoC",
        "GrC_GoC",
        "GoC_GoC",
        "GrC_MLI",
        "MLI_MLI",
        "GrC_PC",
        "MLI_PC",
    ):
        for k in ("K", "Q", "tau"):
            val = _num(preset, f"crbl.synapses.{syn}.{k}", source)
            if val < 0 or (k == "tau" and val == 0):
                raise CmftvbError(f"{source}: crbl.synapses.{syn}.{k} must be positive")
    bg = preset["crbl"].get("background")
    if not isinstance(bg, Mapping) or bg.get("kind") not in BACKGROUND_KINDS:
        kind = bg.get("kind") if isinstance(bg, Mapping) else None
        raise CmftvbError(
            f"{source}: crbl.background.kind must be one of {', '.join(BACKGROUND_KINDS)}, "
            f"got {kind!r}"
        )
    _num(preset, "crbl.background.tau", source, positive=True)
    _num(preset, "crbl.background.weight", source)
    _num(preset, "crbl.background.mean", source)
    for k in ("rate_eps", "tv_eps", "tv_eps_goc", "sigma_eps"):
        if _num(preset, f"crbl.published_guards.{k}", source) < 0:
            raise CmftvbError(f"{source}: crbl.published_guards.{k} must be >= 0")
    for var in registry.state_vars():
        b = preset["bounds"].get(var)
        if not isinstance(b, list) or len(b) != 2:
            raise CmftvbError(f"{source}: bounds.{var} must be [lo, hi] (null = unbounded)")
        lo, hi = b
        if lo is not None and hi is not None and lo >= hi:
            raise CmftvbError(f"{source}: bounds.{var}: lo must be < hi")
    sw = preset["switches"]
    for name in SWITCHES:
        if not isinstance(sw.get(name), bool):
            raise CmftvbError(f"{source}: switches.{name} must be true or false")
    extra = set(sw) - set(SWITCHES)
    if extra:
        raise CmftvbError(f"{source}: unknown switch(es) {', '.join(sorted(extra))}")
