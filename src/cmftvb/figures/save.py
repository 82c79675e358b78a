"""The one saver of every figure: PNG and SVG side by side, atomic and reproducible.

Every figure function of :mod:`cmftvb.figures` returns a :class:`~matplotlib.figure.Figure`;
:func:`save_figure` writes it. Files appear complete or not at all (each is written through
:func:`cmftvb.io.atomic_path`), and the bytes depend only on the figure: run-dependent metadata
(creation date, software string) is left out and SVG ids use a fixed hash salt, so a rerun of
the workflow gives identical files. A figure's provenance (inputs, config digest, package
versions, git commit, output checksums) is the job manifest the workflow's adapter writes
(``scripts/_adapter.py``), not metadata inside the image, which would break that sameness.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from cmftvb import CmftvbError
from cmftvb.figures.style import RC
from cmftvb.io import atomic_path

#: Metadata left out per format so that reruns write identical bytes.
_NO_RUN_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def figure_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """The PNG and SVG paths for ``path`` (given with or without a ``.png``/``.svg`` suffix).

    Only these two suffixes are stripped, so names with dots (``fc_G2.0``) are kept whole.
    """
    p = Path(path)
    if p.suffix.lower() in (".png", ".svg"):
        p = p.with_suffix("")
    return Path(f"{p}.png"), Path(f"{p}.svg")


def save_figure(fig: Figure, path: str | os.PathLike) -> list[Path]:
    """Write ``fig`` as PNG (150 dpi) and SVG beside each other; return both paths.

    ``path``: the PNG path, the SVG path or their common stem (see :func:`figure_paths`).
    Both files are rendered to temporary files first and renamed into place only when both
    are complete: a failure leaves neither (and any earlier files untouched). Uses the house
    style's savefig settings (deterministic SVG ids, text kept as text) and leaves out
    run-dependent metadata, so the same figure gives the same bytes on every run.
    """
    png, svg = figure_paths(path)
    if not isinstance(fig, Figure):
        raise CmftvbError(f"{png}: expected a matplotlib Figure, got {type(fig).__name__}")
    with matplotlib.rc_context(RC), atomic_path(png) as tmp_png, atomic_path(svg) as tmp_svg:
        fig.savefig(tmp_png, format="png", metadata=_NO_RUN_METADATA["png"])
        fig.savefig(tmp_svg, format="svg", metadata=_NO_RUN_METADATA["svg"])
    return [png, svg]
