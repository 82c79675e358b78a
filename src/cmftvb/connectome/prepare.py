"""Connectome preparation, STUDY.md stage 1: one entry point for the workflow.

:func:`prepare` takes a loaded :class:`~cmftvb.connectome.Connectome` and returns the prepared
one: roles (re)annotated from labels with overrides, weights normalised, the 33-node cerebellum
appended if there is none, the cerebellar prewiring applied (MODEL.md §7), and everything done
recorded in ``meta["preparation"]``.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

from cmftvb import CmftvbError
from cmftvb.connectome import cerebellum as _crbl
from cmftvb.connectome import prewire as _pw
from cmftvb.connectome import roles as _roles
from cmftvb.connectome import validate as _v
from cmftvb.connectome.core import Connectome


def prepare(
    connectome: Connectome,
    *,
    normalise: str = "max",
    prewire: bool = True,
    prewired_already: bool = False,
    append_cerebellum: bool = True,
    loop_params: _crbl.LoopParams | dict | None = None,
    overrides=None,
    waytotal=None,
    cortex_to_dcn="auto",
    icv_mm3: float = _crbl.DEFAULT_ICV_MM3,
    k_p: float = _pw.K_P,
    feedback: float = _pw.FEEDBACK,
) -> Connectome:
    """Prepare a connectome for simulation.

    Steps, in order (each recorded in ``meta["preparation"]``):

    1. roles from labels (:func:`cmftvb.connectome.roles.annotate`) with ``overrides``
       (dict label -> role, or a TSV path), when overrides are given or roles are missing;
    2. if ``prewired_already`` (e.g. the sample subject, whose cerebellum the authors already
       prewired): weights are left untouched and steps 3-5 are skipped; otherwise, when
       ``prewire`` is asked for, a connectome that already carries the prewiring
       (:func:`cmftvb.connectome.validate.looks_prewired`) is refused with a
       :class:`~cmftvb.CmftvbError` naming config key ``connectome.prewired``, instead of being
       prewired a second time;
    3. ``normalise`` the weights (:func:`cmftvb.connectome.prewire.normalise`: ``none``,
       ``max``, ``log1p_max``, ``waytotal``, ``waytotal_max``; ``waytotal`` gives the per-region
       waytotals); tract lengths are untouched;
    4. if there are no cerebellar nodes and ``append_cerebellum``: append the 33-node template
       (:func:`cmftvb.connectome.cerebellum.append_cerebellum` with ``loop_params``);
    5. if ``prewire`` and the connectome has cerebellar nodes: the prewiring of MODEL.md §7
       (:func:`cmftvb.connectome.prewire.prewire`); ``cortex_to_dcn="auto"`` uses the template
       rule for an appended cerebellum or a connectome without cortex -> DCN streamlines, and
       keeps the connectome's own streamlines otherwise.
    """
    if not isinstance(connectome, Connectome):
        raise CmftvbError("prepare: expected a Connectome")
    if isinstance(loop_params, dict):
        try:
            loop_params = _crbl.LoopParams(**loop_params)
        except TypeError as exc:
            raise CmftvbError(f"loop_params: {exc}") from None
    con = connectome.replace()
    steps: list[str] = []
    if overrides:
        con = con.replace(roles=_roles.annotate(con.labels, overrides))
        steps.append("roles re-annotated with overrides")
    has_crbl = bool(np.isin(con.roles, ("crbl_hemisphere", "crbl_vermis", "dcn")).any())
    rec: dict = {
        "n_input": con.n,
        "normalise": normalise,
        "prewired_already": bool(prewired_already),
        "append_cerebellum": False,
        "prewire": None,
    }
    if prewired_already:
        if not has_crbl:
            raise CmftvbError(
                f"{con.meta.get('source', 'connectome')}: declared already prewired but has no"
                " cerebellar nodes"
            )
        rec["normalise"] = "skipped (already prewired: weights untouched)"
        steps.append("weights untouched (already prewired)")
    else:
        if prewire:
            # on the input weights, before a (possibly non-linear) normalisation hides the
            # relation: a prewired cerebellum prewired again would be wrong without a word
            where = str(con.meta.get("source", "connectome"))
            _v.refuse_prewiring_twice(con.weights, con.roles, where)
        con = con.replace(weights=_pw.normalise(con.weights, normalise, waytotal=waytotal))
        steps.append(f"normalised: {normalise}")
        appended = False
        if not has_crbl and append_cerebellum:
            con = _crbl.append_cerebellum(con, loop_params)
            appended = True
            rec["append_cerebellum"] = True
            steps.append("appended the 33-node cerebellum")
        has_crbl = has_crbl or appended
        if prewire and has_crbl:
            con, rec["prewire"] = _prewire(
                con, appended, cortex_to_dcn, icv_mm3=icv_mm3, k_p=k_p, feedback=feedback
            )
            steps.append("prewired (MODEL.md §7)")
    rec["n_output"] = con.n
    rec["role_counts"] = dict(sorted(collections.Counter(con.roles.tolist()).items()))
    rec["block_stats"] = _pw.cerebellar_block_stats(con.weights, con.roles) if has_crbl else None
    rec["steps"] = steps
    meta = dict(con.meta)
    meta["preparation"] = rec
    return dataclasses.replace(con, meta=meta)


def _prewire(
    con: Connectome, appended: bool, cortex_to_dcn, *, icv_mm3: float, k_p: float, feedback: float
) -> tuple[Connectome, dict]:
    """Step 5 of :func:`prepare`: the prewired connectome and the prewiring record.
    ``cortex_to_dcn="auto"``: the template rule for an appended cerebellum or a connectome
    without cortex -> DCN streamlines, the connectome's own streamlines otherwise."""
    mode = cortex_to_dcn
    if isinstance(mode, str) and mode == "auto":
        ctx, dcn = con.index("crbl_cortex"), con.index("dcn")
        mode = "template" if appended or not con.weights[np.ix_(dcn, ctx)].any() else "keep"
    w, record = _pw.prewire(
        con.weights,
        con.labels,
        con.roles,
        volumes=con.volumes,
        icv_mm3=icv_mm3,
        cortex_to_dcn=mode,
        k_p=k_p,
        feedback=feedback,
    )
    return con.replace(weights=w), record
