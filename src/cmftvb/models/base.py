"""What a local model declares about itself: :class:`LocalModel` (docs/ARCHITECTURE.md).

Each local model module (:mod:`cmftvb.models.wongwang`, :mod:`cmftvb.models.crbl`) declares one
``MODEL = LocalModel(...)``; :mod:`cmftvb.models.registry` collects them. The declaration is the
one place that names a model's state variables, output rates, coupling inputs, BOLD drive and
units; the network, engine, bridge, signals and figures read it from the registry.

Physiological ranges are not repeated here: :attr:`LocalModel.ranges` reads them (Hz) from
``src/cmftvb/signals/physiology.yaml``, keyed by rate-variable name, where they are written once
with their sources.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

import yaml

from cmftvb import CmftvbError

#: Factor that turns a value in an engine unit into Hz (rates) or leaves it (others).
HZ_PER_UNIT = MappingProxyType({"Hz": 1.0, "kHz": 1000.0})


@cache
def _physiology() -> Mapping[str, Mapping]:
    # read as data through the top package: importing cmftvb.signals (a later stage) is not
    # needed for its YAML file
    res = resources.files("cmftvb").joinpath("signals", "physiology.yaml")
    try:
        data = yaml.safe_load(res.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CmftvbError(f"signals/physiology.yaml: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise CmftvbError("signals/physiology.yaml: top level is not a mapping")
    return MappingProxyType(data)


@dataclasses.dataclass(frozen=True)
class LocalModel:
    """The declaration of one local (node) model.

    - ``name``: the key used in presets (section ``preset[name]``), projection tables
      (``source_var``/``target_input``) and ``NetworkSpec.node_model``.
    - ``description``: one line with the model's source.
    - ``state_vars``: state variables the engine integrates, monitors and couples, in the
      engine's order (index = ``EdgeList.src_var``). Internal states that are never monitored
      or coupled (the cerebellar second-order covariances) are not listed.
    - ``rate_vars``: the firing rates the model outputs, named as in the simulation outputs;
      a rate may be a state variable (the cerebellar rates) or derived from the state (the
      Wong-Wang ``r_E``, ``r_I`` = H_E, H_I).
    - ``inputs``: coupling inputs a projection can target (index = the engine's input slot).
    - ``bold_var``: the state variable that drives the hemodynamic model (MODEL.md §6 item 8:
      the first state variable, in both presets).
    - ``units``: the engine unit of every state variable, rate and input (``"1"`` for
      dimensionless). Rates are kHz or Hz in the engine; :meth:`to_hz` gives the factor to Hz,
      the unit in which people read them (figures, tables, physiological ranges).
    """

    name: str
    description: str
    state_vars: tuple[str, ...]
    rate_vars: tuple[str, ...]
    inputs: tuple[str, ...]
    bold_var: str
    units: Mapping[str, str]

    def __post_init__(self) -> None:
        where = f"local model {self.name!r}"
        for field in ("state_vars", "rate_vars", "inputs"):
            names = getattr(self, field)
            if not isinstance(names, tuple) or not names:
                raise CmftvbError(f"{where}: {field} must be a non-empty tuple")
            if len(set(names)) != len(names):
                raise CmftvbError(f"{where}: {field} has duplicate names")
        if set(self.inputs) & set(self.state_vars):
            raise CmftvbError(f"{where}: an input has the name of a state variable")
        if self.bold_var not in self.state_vars:
            raise CmftvbError(f"{where}: bold_var {self.bold_var!r} is not a state variable")
        named = {*self.state_vars, *self.rate_vars, *self.inputs}
        if set(self.units) != named:
            raise CmftvbError(
                f"{where}: units must name exactly the state variables, rates and inputs "
                f"(missing {sorted(named - set(self.units))}, extra "
                f"{sorted(set(self.units) - named)})"
            )
        for v in self.rate_vars:
            if self.units[v] not in HZ_PER_UNIT:
                raise CmftvbError(f"{where}: rate {v!r} has unit {self.units[v]!r}, not Hz/kHz")
        object.__setattr__(self, "units", MappingProxyType(dict(self.units)))

    @property
    def derived_rates(self) -> tuple[str, ...]:
        """Rates computed from the state (not state variables themselves), e.g. ``r_E``."""
        return tuple(v for v in self.rate_vars if v not in self.state_vars)

    def to_hz(self, var: str) -> float:
        """Factor from the engine unit of rate ``var`` to Hz (1000 for kHz, 1 for Hz)."""
        if var not in self.rate_vars:
            raise CmftvbError(f"local model {self.name!r}: {var!r} is not one of its rates")
        return HZ_PER_UNIT[self.units[var]]

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """Indicative physiological range ``(low, high)`` in Hz per rate that has one.

        Read from ``signals/physiology.yaml`` (sources there); rates without an entry have
        no range.
        """
        data = _physiology()
        out = {}
        for v in self.rate_vars:
            entry = data.get(v)
            if entry is None:
                continue
            try:
                lo, hi = float(entry["low_hz"]), float(entry["high_hz"])
            except (KeyError, TypeError, ValueError):
                raise CmftvbError(
                    f"signals/physiology.yaml: {v} needs numbers low_hz and high_hz"
                ) from None
            out[v] = (lo, hi)
        return out
