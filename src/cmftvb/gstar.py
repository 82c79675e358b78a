"""Coupling relative to the critical coupling G*: labels, the subject's reference G*, absolute G.

The feedback-inhibition-controlled (FIC, :mod:`cmftvb.fic`) resting state of a network exists
and is stable only below a critical global coupling ``G*`` (:func:`cmftvb.fic.critical_G`),
which differs between subjects (0.48-0.55 for the sample and demo subjects, issue 10). A study
can therefore give ``G`` either in absolute units (config ``simulation.G``) or as fractions of
each subject's ``G*`` (``simulation.G_relative``). This module holds the pieces both the
workflow and the command line use:

- **Labels** (:func:`format_G_label`, :func:`parse_G_label`): the ``G`` part of a run's file
  name. An absolute coupling is written as its shortest exact decimal (``2``, ``0.45``); a
  fraction of ``G*`` gets the prefix ``r`` (``r0.9`` = 0.9 G*). :data:`G_LABEL_RE` is the
  pattern of both (the workflow's wildcard constraint).
- **Reference G*** (:func:`critical_G_record`): per subject and preset, ``G*`` of every compared
  model variant, and the reference ``G*`` = the **minimum** over the variants. Both models of a
  subject then run at the *same absolute* G (``fraction x reference G*``): the engine's random
  stream is keyed by (subject, G, seed), so common random numbers between the models need the
  same G, and every variant is at or below its own ``G*`` (the smallest one bounds them all).
- **Absolute G** (:func:`absolute_G`) of a label given a record, and the check of an absolute G
  against a record (:func:`above_critical`).
- **J_i for the engine** (:func:`j_i_for_engine`, also ``cmftvb.fic.j_i_for_engine``): a FIC
  result as the finite per-node array :func:`cmftvb.engine.simulate` takes, and the initial
  state at the FIC fixed point (:func:`fic_initial`). Near G* the network is bistable: the
  resting state coexists with a high-activity one (tens of Hz), and the presets' random initial
  history (S_E up to 0.5, GrC up to 500 Hz) lands a run in the high state often enough
  (measured on the sample subject, 15 s, noise 0.001: 1 of 6 seeds at 0.9 G*, 6 of 6 at
  0.95 G*; from the FIC state 0 of 6 and 1 of 6 with one node). FIC runs therefore start at
  rest, and differ between seeds by their noise only.

Units: G dimensionless (the global coupling of MODEL.md §5).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from cmftvb import CmftvbError, _blas

__all__ = [
    "G_LABEL_RE",
    "above_critical",
    "absolute_G",
    "critical_G_record",
    "fic_on",
    "fic_initial",
    "format_G_label",
    "instability_warning",
    "j_i_for_engine",
    "parse_G_label",
    "require_fic_for_relative",
]

#: Pattern of a G label: an optional ``r`` (a fraction of the reference G*) and a decimal
#: number (an exponent allowed: ``fmt`` of very small values).
G_LABEL_RE = r"r?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?"
_LABEL = re.compile(G_LABEL_RE)

#: Bracket of the G* search: start at [0, HI_START], double ``hi`` up to HI_MAX while the FIC
#: state is still stable at ``hi`` (G* is 0.48-0.55 for the sample and demo subjects).
HI_START = 1.0
HI_MAX = 64.0
#: Default bisection tolerance on G* (0.2 % of a G* near 0.5; the upper end of the final
#: bracket is returned, so a fraction below 1 stays below the true G*). Each bisection step
#: retunes FIC and takes one eigenvalue decomposition (about 2 s for a 127-node cMF network).
TOL = 1e-3


def format_G_label(value: float, *, relative: bool = False) -> str:
    """The file-name form of a coupling: shortest exact decimal (2.0 -> ``2``), prefixed
    ``r`` when ``value`` is a fraction of the reference G*."""
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise CmftvbError(f"G: must be a finite number >= 0, got {value!r}")
    text = np.format_float_positional(v, trim="-")
    return ("r" if relative else "") + text


def parse_G_label(label: str) -> tuple[float, bool]:
    """(value, relative) of a G label: ``"r0.9"`` -> (0.9, True), ``"2"`` -> (2.0, False)."""
    text = str(label)
    if not _LABEL.fullmatch(text):
        raise CmftvbError(
            f"G label {text!r}: expected a decimal number, or 'r' and a fraction of G* (r0.9)"
        )
    relative = text.startswith("r")
    return float(text[1:] if relative else text), relative


def fic_on(preset: str, overrides: Mapping[str, Any] | Iterable | None = None) -> bool:
    """Whether preset ``preset`` with ``overrides`` (dotted key -> value, as config
    ``network.overrides``) has feedback inhibition control on (``wongwang.fic``)."""
    from cmftvb.models.presets import apply_overrides, load_preset

    pairs = overrides.items() if isinstance(overrides, Mapping) else (overrides or [])
    params = apply_overrides(load_preset(preset), [(str(k), v) for k, v in pairs])
    return bool(params["wongwang"]["fic"])


def require_fic_for_relative(
    G_relative: Iterable[float], presets: Iterable[str], overrides: Mapping | None = None
) -> None:
    """Refuse ``simulation.G_relative`` unless FIC is on in every simulated preset: G* is the
    stability limit of the FIC state, meaningless without FIC."""
    if not list(G_relative):
        return
    off = [p for p in presets if not fic_on(p, overrides)]
    if off:
        raise CmftvbError(
            f"config key 'simulation.G_relative': fractions of G* need feedback inhibition "
            f"control, but preset {off[0]!r} has wongwang.fic false (give simulation.G in "
            "absolute units, or simulate only FIC presets)"
        )
    bad = [g for g in G_relative if not 0 < float(g)]
    if bad:
        raise CmftvbError(f"config key 'simulation.G_relative': {bad[0]!r} is not > 0")


def critical_G_record(
    connectome: Any,
    networks: Mapping[str, Any],
    *,
    tol: float = TOL,
    hi_start: float = HI_START,
    hi_max: float = HI_MAX,
) -> dict[str, Any]:
    """G* of every network variant of one subject and preset, and the reference G*.

    ``networks``: variant name (e.g. ``homogeneous``, ``cmf``) -> :class:`cmftvb.network
    .NetworkSpec` on ``connectome``, each with FIC on. Each variant's G* comes from
    :func:`cmftvb.fic.critical_G` (bisection to ``tol`` on the sign of the leading eigenvalue
    of the delay-free Jacobian at the FIC state) over ``[0, hi]``, ``hi`` starting at
    ``hi_start`` and doubled up to ``hi_max`` while the state is still stable there.

    Returns a JSON-able record: ``variants`` (name -> G*), ``reference`` (the minimum),
    ``reference_variant`` (its name), ``preset``, ``connectome_digest``, ``tol``, ``method``.
    """
    from cmftvb import fic

    if not networks:
        raise CmftvbError("critical_G_record: no network variants given")
    out: dict[str, float] = {}
    presets = {net.preset for net in networks.values()}
    digests = {net.connectome_digest for net in networks.values()}
    if len(presets) != 1 or len(digests) != 1:
        raise CmftvbError(
            "critical_G_record: the variants must share one preset and one connectome "
            f"(presets {sorted(presets)}, {len(digests)} connectome digest(s))"
        )
    for name, net in networks.items():
        if not fic.fic_enabled(net):
            raise CmftvbError(
                f"critical_G: variant {name!r} (preset {net.preset!r}) has wongwang.fic false; "
                "G* is the stability limit of the FIC state"
            )
        hi = float(hi_start)
        while True:
            try:
                out[name] = float(fic.critical_G(connectome, net, lo=0.0, hi=hi, tol=tol))
                break
            except CmftvbError as exc:
                if "still stable" not in str(exc) or hi * 2 > hi_max:
                    raise CmftvbError(f"critical_G of variant {name!r}: {exc}") from None
                hi *= 2
    ref_name = min(out, key=lambda k: (out[k], k))
    return {
        "kind": "critical_G",
        "variants": out,
        "reference": out[ref_name],
        "reference_variant": ref_name,
        "preset": presets.pop(),
        "connectome_digest": digests.pop(),
        "tol": float(tol),
        "method": (
            "cmftvb.fic.critical_G per variant (smallest G where the delay-free Jacobian at "
            "the FIC state gets an eigenvalue with positive real part; upper end of the "
            "bisection bracket); reference = minimum over the variants"
        ),
    }


def _reference(record: Mapping[str, Any]) -> float:
    try:
        ref = float(record["reference"])
    except (KeyError, TypeError, ValueError):
        raise CmftvbError("critical_G record: no numeric 'reference'") from None
    if not (math.isfinite(ref) and ref > 0):
        raise CmftvbError(f"critical_G record: reference G* {ref!r} is not a positive number")
    return ref


def absolute_G(label: str, record: Mapping[str, Any] | None = None) -> float:
    """The absolute coupling of a G label: the number itself, or fraction x the record's
    reference G* (``record`` from :func:`critical_G_record`, required for ``r`` labels)."""
    value, relative = parse_G_label(label)
    if not relative:
        return value
    if record is None:
        raise CmftvbError(f"G label {label!r}: a fraction of G* needs the subject's G* record")
    return value * _reference(record)


def above_critical(G_abs: float, record: Mapping[str, Any], variant: str | None = None) -> str:
    """A one-line warning when ``G_abs`` is at or above the G* of ``variant`` (the reference
    G* when None) in ``record``; an empty string otherwise. Above G* the FIC resting state is
    unstable: the run leaves it (the regime check then flags it)."""
    if variant is not None and variant in record.get("variants", {}):
        g_star, which = float(record["variants"][variant]), f"G* of {variant}"
    else:
        g_star, which = _reference(record), "the reference G*"
    if float(G_abs) < g_star:
        return ""
    return (
        f"G {float(G_abs):g} is at or above {which} = {g_star:.4g} (preset "
        f"{record.get('preset', '?')}): the FIC resting state is unstable there and the run "
        "will leave it"
    )


def j_i_for_engine(fic_result: Any, network: Any) -> np.ndarray:
    """The per-node ``J_i`` (nA) to pass to :func:`cmftvb.engine.simulate` for ``network``.

    ``fic_result`` (:class:`cmftvb.fic.FicResult`, from :func:`cmftvb.fic.tune` or
    :meth:`cmftvb.fic.FicResult.from_saved`) must belong to this
    network: same connectome digest, node labels and node models, same model variant and
    preset. Its ``J_i`` is NaN at cerebellar-cortex nodes (no local inhibition there); those
    entries are filled with the preset's scalar ``wongwang.J_i``, which the engine does not
    read at cerebellar nodes. Returns a finite float64 array (N,); raises
    :class:`CmftvbError` (one line) on a mismatch or a non-finite or non-positive Wong-Wang
    entry.
    """
    mismatch = [
        what
        for what, ours, theirs in (
            ("connectome digest", fic_result.connectome_digest, network.connectome_digest),
            ("model variant", fic_result.model, network.model),
            ("preset", fic_result.preset, network.preset),
            ("node labels", list(map(str, fic_result.labels)), list(map(str, network.labels))),
            ("node models", list(fic_result.node_model), list(network.node_model)),
        )
        if ours != theirs
    ]
    if mismatch:
        raise CmftvbError(
            f"FIC result of {fic_result.model}-{fic_result.preset} does not belong to network "
            f"{network.model}-{network.preset}: its {', '.join(mismatch)} differ"
        )
    J_i = np.asarray(fic_result.J_i, dtype=np.float64).copy()
    ww = np.asarray(network.node_model) == "wongwang"
    bad = ww & ~(np.isfinite(J_i) & (J_i > 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise CmftvbError(
            f"FIC result: Wong-Wang node {network.labels[k]!r} (index {k}) has J_i = {J_i[k]!r}"
        )
    J_i[~ww] = float(network.params["wongwang"]["J_i"])
    return J_i


#: Variables of the FIC initial state: Wong-Wang gating, then the cerebellar rates (kHz).
_FIC_INITIAL = ("S_E", "S_I", "GrC", "GoC", "MLI", "PC")


def fic_initial(fic_result: Any) -> dict[str, float]:
    """The FIC fixed point as the engine's ``initial`` (a constant per state variable).

    ``S_E`` and ``S_I`` (dimensionless): the Wong-Wang values, the same in every node when
    ``wongwang.lamda`` is 0 (the presets; otherwise their mean over nodes); ``GrC``, ``GoC``,
    ``MLI``, ``PC`` (kHz, the engine's unit): the mean over the cerebellar-cortex nodes of their
    steady-state rates, present only when the network has such nodes. Feed it to
    :func:`cmftvb.engine.simulate` (``initial=``) together with :func:`j_i_for_engine`.
    """
    values = {
        "S_E": np.asarray(fic_result.S_E, dtype=np.float64),
        "S_I": np.asarray(fic_result.S_I, dtype=np.float64),
    }
    rates = np.asarray(fic_result.crbl_rates_hz, dtype=np.float64)
    for i, name in enumerate(_FIC_INITIAL[2:]):
        values[name] = rates[:, i] / 1000.0
    out = {}
    for name in _FIC_INITIAL:
        v = values[name][np.isfinite(values[name])]
        if v.size:
            out[name] = float(v.mean())
    if "S_E" not in out or "S_I" not in out:
        raise CmftvbError("FIC result: no Wong-Wang node with a finite S_E and S_I")
    return out


def instability_warning(connectome: Any, network: Any, fic_result: Any) -> str:
    """A one-line warning when the FIC state of ``fic_result`` (tuned at its G) is unstable:
    the leading eigenvalue of the delay-free Jacobian there (:func:`cmftvb.fic.jacobian`) has
    a non-negative real part, i.e. G is at or above this network's G* (one eigenvalue
    crossing, :func:`cmftvb.fic.critical_G`); an empty string otherwise. For an absolute G,
    this needs no G* search (one Jacobian)."""
    from cmftvb import fic

    J = fic.jacobian(connectome, network, fic_result.G, fic_result)
    with _blas.one_thread():
        ev = np.linalg.eigvals(J)
    lead = complex(ev[np.argmax(ev.real)])
    if lead.real < 0:
        return ""
    return (
        f"G {fic_result.G:g} is at or above G* of {network.model}-{network.preset} (leading "
        f"eigenvalue {lead.real:.3g} per ms at the FIC state): the FIC resting state is "
        "unstable there and the run will leave it"
    )
