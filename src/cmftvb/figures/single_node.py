"""Single-node figures: input-output curves of the cerebellar mean field (MODEL.md §2.6)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cmftvb import CmftvbError
from cmftvb.figures import style
from cmftvb.figures.tables import series_by_group
from cmftvb.models import crbl, nodecurve, presets

#: Validity range of the cerebellar mean field's mossy input (Hz), declared by the model.
MOSSY_VALIDITY_HZ = crbl.MOSSY_VALIDITY_HZ


def rates_by_preset(
    mossy_hz: Sequence[float], preset_names: Iterable[str], overrides: Iterable = ()
) -> dict[str, dict[str, np.ndarray]]:
    """Preset name -> {population: steady-state rate (M,) in Hz} of one isolated node.

    Rates from :func:`cmftvb.models.nodecurve.node_curve` at the constant mossy inputs
    ``mossy_hz`` (M,) in Hz. ``overrides``: (dotted key, value) pairs of the study; preset
    overrides apply to the node, projection overrides (``projections.*``) do not.
    """
    mossy = np.asarray(mossy_hz, dtype=float)
    pairs = [(k, str(v)) for k, v in overrides if not str(k).startswith("projections")]
    out = {}
    for name in preset_names:
        preset = presets.apply_overrides(presets.load_preset(name), pairs)
        table = nodecurve.node_curve(mossy, preset)
        out[str(name)] = {pop: table[:, i + 1] for i, pop in enumerate(crbl.POPS)}
    return out


def multistable_by_preset(
    mossy_hz: Sequence[float], preset_names: Iterable[str], overrides: Iterable = ()
) -> dict[str, list[tuple[float, np.ndarray]]]:
    """Preset name -> the mossy inputs (Hz) at which one isolated node has more than one stable
    state, each with its stable states ((k, 4) GrC, GoC, MLI, PC rates in Hz), from
    :func:`cmftvb.models.nodecurve.scan_fixed_points` (first order; a grid of starts, stability
    from the Jacobian's eigenvalues). ``overrides`` as for :func:`rates_by_preset`."""
    pairs = [(k, str(v)) for k, v in overrides if not str(k).startswith("projections")]
    out = {}
    for name in preset_names:
        preset = presets.apply_overrides(presets.load_preset(name), pairs)
        found = []
        for m in mossy_hz:
            stable = [q["rates_hz"] for q in nodecurve.scan_fixed_points(float(m), preset)
                      if q["stable"]]  # fmt: skip
            if len(stable) > 1:
                found.append((float(m), np.asarray(stable, dtype=float)))
        out[str(name)] = found
    return out


def _check_inputs(mossy_hz, rates_hz, what: str) -> tuple[np.ndarray, dict, list[str]]:
    x = np.asarray(mossy_hz, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise CmftvbError(f"{what}: mossy_hz must be a finite, increasing 1-D array (Hz)")
    if not rates_hz:
        raise CmftvbError(f"{what}: no rates given")
    form = "{population: rates} or {variant: {pop: rates}}"
    _nested, variants = series_by_group(rates_hz, what, form)
    for name, d in variants.items():
        for p, arr in d.items():
            if np.shape(arr) != x.shape:
                raise CmftvbError(
                    f"{what}: rates of {(name + '/' if name else '') + str(p)!r} have shape "
                    f"{np.shape(arr)}, expected {x.shape} to match mossy_hz"
                )
    return x, variants, style.pops_in(p for d in variants.values() for p in d)


def _legend(variants: dict, reference, reference_label: str, vhi: float) -> list[Line2D]:
    handles = []
    if len(variants) > 1:
        handles += [
            Line2D(
                [],
                [],
                color=style.SERIES_COLORS[k % 7],
                ls=style.SERIES_STYLES[k % 4],
                lw=2,
                label=n,
            )
            for k, n in enumerate(variants)
        ]
    if reference:
        handles.append(
            Line2D([], [], marker="o", ls="", mfc="white", mec="black", label=reference_label)
        )
    handles.append(Line2D([], [], color="#555555", ls=":", label=f"validity limit ({vhi:g} Hz)"))
    return handles


@style.styled
def node_curves(
    mossy_hz: np.ndarray,
    rates_hz: Mapping[str, Any],
    *,
    validity_hz: tuple[float, float] = MOSSY_VALIDITY_HZ,
    reference: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    reference_label: str = "reference (MODEL.md §2.6)",
    title: str | None = None,
    multistable: Mapping[str, Sequence[tuple[float, np.ndarray]]] | None = None,
) -> Figure:
    """Single-node input–output curves of GrC, GoC, MLI and PC vs mossy input (MODEL.md §2.6).

    ``mossy_hz`` (M,): constant mossy input (Hz); ``rates_hz``: population -> steady-state rate
    (M,) in Hz, or variant name (an α_PC value, a preset) -> {population -> rates} to overlay
    several (see :func:`rates_by_preset`). The validity range (default 0–70 Hz,
    :data:`MOSSY_VALIDITY_HZ`) is marked. ``reference``: optional population -> (mossy_hz,
    rate_hz) check points drawn as open circles and named ``reference_label`` in the legend
    (default: the MODEL.md §2.6 table). ``multistable``: variant name (or ``""`` for a single
    variant) -> [(mossy Hz, stable states (k, 4) Hz)] (:func:`multistable_by_preset`); every
    stable state of such an input is marked with a diamond, so the inputs with more than one
    stable state stand out.
    """
    x, variants, pops = _check_inputs(mossy_hz, rates_hz, "node_curves")
    multi = {str(k): v for k, v in (multistable or {}).items() if len(v)}
    ncol = 2 if len(pops) in (2, 4) else min(3, len(pops))
    fig = style.new_figure(4.2 * ncol + 0.6, 3.1 * (-(-len(pops) // ncol)) + 1.8)
    axes = style.panel_grid(fig, len(pops), ncol)
    vlo, vhi = float(validity_hz[0]), float(validity_hz[1])
    # the validity limit stays visible even when the inputs stop short of it
    x_hi = max(float(x[-1]), vhi + 0.1 * (vhi - vlo))
    for i, (ax, pop) in enumerate(zip(axes, pops, strict=True)):
        style.mark_data(ax)
        ax.axvspan(vhi, x_hi, color="#000000", alpha=0.08, lw=0, zorder=0)
        ax.axvline(vhi, color="#555555", ls=":", lw=1.2, zorder=1)
        for k, (name, d) in enumerate(variants.items()):
            if pop in d:
                color = (
                    style.pop_color(pop, i) if len(variants) == 1 else style.SERIES_COLORS[k % 7]
                )
                ls = style.SERIES_STYLES[k % len(style.SERIES_STYLES)]
                y = np.asarray(d[pop], dtype=float)
                ax.plot(x, y, color=color, ls=ls, lw=2.0, label=name or None)
        for k, name in enumerate(variants):
            single = len(variants) == 1
            color = style.pop_color(pop, i) if single else style.SERIES_COLORS[k % 7]
            marks = multi.get(str(name), multi.get("", []) if single else [])
            for m, states in marks:
                y = np.asarray(states, dtype=float)[:, crbl.POPS.index(pop)]
                ax.plot([m] * y.size, y, "D", ms=6, mfc="none", mec=color, mew=1.5, zorder=5)
        if reference and pop in reference:
            rx, ry = (np.asarray(v, dtype=float) for v in reference[pop])
            ax.plot(rx, ry, "o", mfc="white", mec="black", ms=6, zorder=4, label="reference")
        ax.set_xlim(min(x[0], vlo), x_hi)
        ax.set_ylim(bottom=0)
        ax.set_title(pop)
        if i >= len(pops) - ncol:
            ax.set_xlabel("mossy-fibre input (Hz)")
        if i % ncol == 0:
            ax.set_ylabel("steady-state rate (Hz)")
        ax.grid(color="#EEEEEE", lw=0.8)
        ax.set_axisbelow(True)
    handles = _legend(variants, reference, reference_label, vhi)
    if multi:
        handles.append(Line2D([], [], marker="D", ls="", mfc="none", mec="black",
                              label="input with several stable states (each marked)"))  # fmt: skip
    title = title or "Cerebellar mean field, single node: input–output curves"
    style.title_legend(fig, handles, title, ncol=min(len(handles), 4))
    note = (
        "Steady-state population rates of one isolated node under constant mossy input, "
        f"first order, no noise. The model is valid for mossy input {vlo:g}–{vhi:g} Hz "
        "(MODEL.md §2.6); shading marks inputs beyond it."
    )
    if multi:
        where = "; ".join(
            f"{name or 'node'}: {', '.join(f'{m:g}' for m, _ in v)} Hz" for name, v in multi.items()
        )
        note += (
            f" Several stable states (diamonds; fixed points from a grid of starts, stable by "
            f"the Jacobian's eigenvalues) at mossy {where}; the curve follows the state reached "
            "from silence."
        )
    style.footnote(fig, note)
    return fig
