"""The model registry: every local model and every network model, in one place.

- :data:`LOCAL_MODELS`: name -> :class:`~cmftvb.models.base.LocalModel`, the declarations of
  the node models (``wongwang``, ``crbl``), each written once in its own module.
- :data:`NETWORK_MODELS`: the network variants compared by the study (``homogeneous``, ``cmf``):
  which local model runs on which node role (MODEL.md §4, docs/ARCHITECTURE.md "Node roles").

The helpers below derive what the rest of the package used to spell out by hand: the
population tuple (:func:`populations`), state variables and inputs per model
(:func:`model_vars`, :func:`model_inputs`), BOLD drives (:func:`bold_vars`), and the union of
variable names in a fixed order (:func:`state_vars`, :func:`rate_vars`).

Naming: a *local model* (``wongwang``, ``crbl``) runs in one node; a *network model* (the
workflow's ``{model}`` wildcard: ``homogeneous``, ``cmf``) assigns local models to nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cmftvb import CmftvbError
from cmftvb.models import crbl, wongwang
from cmftvb.models.base import LocalModel

#: Local models by name, in the engine's order (Wong-Wang first: its variables come first in
#: the simulation outputs).
LOCAL_MODELS: Mapping[str, LocalModel] = MappingProxyType(
    {m.name: m for m in (wongwang.MODEL, crbl.MODEL)}
)

#: The local model of a node no rule of its network model names.
DEFAULT_LOCAL_MODEL = "wongwang"

#: Network models: name -> ordered ``(role or role group, local model)`` rules; a node takes
#: the local model of the last rule that names its role, else :data:`DEFAULT_LOCAL_MODEL`.
#: ``homogeneous``: Wong-Wang everywhere; ``cmf``: the cerebellar mean field in the cerebellar
#: cortex (hemispheres and vermis), Wong-Wang elsewhere (MODEL.md §4).
NETWORK_MODELS: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "homogeneous": (),
        "cmf": (("crbl_cortex", "crbl"),),
    }
)


def local_model(name: str) -> LocalModel:
    """The declaration of local model ``name``; :class:`CmftvbError` if unknown."""
    try:
        return LOCAL_MODELS[name]
    except (KeyError, TypeError):
        raise CmftvbError(
            f"local model {name!r}: unknown (choose from {', '.join(LOCAL_MODELS)})"
        ) from None


def network_models() -> tuple[str, ...]:
    """Names of the network models (``homogeneous``, ``cmf``)."""
    return tuple(NETWORK_MODELS)


def network_rules(name: str) -> tuple[tuple[str, str], ...]:
    """The ``(role or group, local model)`` rules of network model ``name``."""
    if name not in NETWORK_MODELS:
        raise CmftvbError(f"model {name!r}: unknown (choose from {', '.join(NETWORK_MODELS)})")
    return NETWORK_MODELS[name]


def populations(model: str = "crbl") -> tuple[str, ...]:
    """The populations (rate variables) of a local model; default the cMF's GrC, GoC, MLI, PC."""
    return local_model(model).rate_vars


def model_vars() -> dict[str, tuple[str, ...]]:
    """State variables per local model, in the engine's order."""
    return {k: m.state_vars for k, m in LOCAL_MODELS.items()}


def model_inputs() -> dict[str, tuple[str, ...]]:
    """Coupling inputs per local model (index = the engine's input slot)."""
    return {k: m.inputs for k, m in LOCAL_MODELS.items()}


def bold_vars() -> dict[str, str]:
    """The BOLD drive (a state variable) per local model."""
    return {k: m.bold_var for k, m in LOCAL_MODELS.items()}


def _union(names) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def state_vars() -> tuple[str, ...]:
    """Every local model's state variables, model by model (``S_E, S_I, GrC, GoC, MLI, PC``)."""
    return _union(v for m in LOCAL_MODELS.values() for v in m.state_vars)


def rate_vars() -> tuple[str, ...]:
    """Every local model's rates, model by model (``r_E, r_I, GrC, GoC, MLI, PC``)."""
    return _union(v for m in LOCAL_MODELS.values() for v in m.rate_vars)


def units() -> dict[str, str]:
    """Engine unit of every variable and input name (names are unique across models)."""
    out: dict[str, str] = {}
    for m in LOCAL_MODELS.values():
        for k, u in m.units.items():
            if out.setdefault(k, u) != u:
                raise CmftvbError(f"local models disagree on the unit of {k!r}")
    return out


def ranges() -> dict[str, tuple[float, float]]:
    """Physiological range ``(low, high)`` in Hz of every rate that has one."""
    return {k: v for m in LOCAL_MODELS.values() for k, v in m.ranges.items()}
