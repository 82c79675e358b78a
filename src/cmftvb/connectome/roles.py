"""Node roles from region labels (ARCHITECTURE.md "Node roles"; MODEL.md §7).

Every node gets exactly one role from its label alone: the sample subject's labels (AAL cortex
such as ``Precentral_L``, FreeSurfer subcortical such as ``Left-Thalamus-Proper`` and
``Brain-Stem``, SUIT-style cerebellar names such as ``Left_I_IV``, ``Vermis_VI``,
``Left_Dentate``), AAL/AAL2 names (``Thalamus_L``, ``Caudate_R``, ``Cerebelum_Crus1_L``,
``Vermis_1_2``) and FreeSurfer aseg names are recognised. Node indices are never used (MODEL.md
§7: "Node roles must come from labels ... never from hard-coded indices"). An override table
(mapping label -> role, or a two-column TSV ``label<TAB>role``) takes precedence over the rules.

The cerebellar helpers :func:`side` and :func:`crbl_part` parse labels into hemisphere and
lobule/nucleus, which the prewiring (:mod:`cmftvb.connectome.prewire`) needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from cmftvb import CmftvbError

#: The seven node roles (ARCHITECTURE.md).
ROLES = (
    "cortex",
    "thalamus",
    "subcortical",
    "brainstem",
    "crbl_hemisphere",
    "crbl_vermis",
    "dcn",
)

#: Role groups used by projections (ARCHITECTURE.md).
ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "cerebral": ("cortex", "thalamus", "subcortical", "brainstem"),
    "crbl_cortex": ("crbl_hemisphere", "crbl_vermis"),
    "dcn": ("dcn",),
    "all": ROLES,
}

#: Canonical cerebellar lobules of the sample subject (MODEL.md §7), anterior to posterior.
LOBULES = ("I_IV", "V", "VI", "CrusI", "CrusII", "VIIb", "VIIIa", "VIIIb", "IX", "X")
#: Vermal lobules present in the sample subject (MODEL.md §7).
VERMIS_LOBULES = ("VI", "CrusII", "VIIb", "VIIIa", "VIIIb", "IX", "X")
#: Deep cerebellar nuclei, lateral to medial.
NUCLEI = ("Dentate", "Interposed", "Fastigial")

_DCN_WORDS = ("dentate", "interpos", "emboliform", "globose", "fastigi", "dcn", "deep_cerebellar")
_THAL_WORDS = ("thalam", "thal_", "pulvinar")
_BRAINSTEM_WORDS = ("brain-stem", "brainstem", "brain_stem", "pons", "medulla", "midbrain")
_SUBCORT_WORDS = (
    "caudate",
    "putamen",
    "pallidum",
    "globus_pallidus",
    "hippocamp",
    "amygdala",
    "accumbens",
    "ventraldc",
    "striatum",
    "subthalamic",
    "substantia_nigra",
    "red_nucleus",
    "claustrum",
)
# Hippocampal/parahippocampal *cortex* in AAL is ParaHippocampal_*: keep it cortex.
_CORTEX_EXCEPTIONS = ("parahippocampal",)

_ROMAN = r"(?:I_IV|I-IV|I_II|III|IV|I|II|V|VI|VIIb|VIIIa|VIIIb|VIII|VII|IX|X)"


def _norm(label: str) -> str:
    return label.strip().lower().replace(" ", "_")


def side(label: str) -> str:
    """Hemisphere of a label: ``'L'``, ``'R'`` or ``'M'`` (midline or unknown).

    Recognises ``_L``/``_R`` suffixes (AAL, also ``_L_1``), ``Left-``/``Right-`` and
    ``Left_``/``Right_``/``lh.``/``rh.`` prefixes (FreeSurfer, SUIT) and FreeSurfer's
    ``ctx-lh-`` infix. Vermis and brain stem are
    midline.
    """
    s = label.strip()
    low = s.lower()
    if "vermis" in low or any(w in low for w in _BRAINSTEM_WORDS):
        return "M"
    if re.match(r"^(left|lh)[-_.]", low) or re.search(r"(^|[-_.])(l|left|lh)(_\d+)?$", low):
        return "L"
    if re.match(r"^(right|rh)[-_.]", low) or re.search(r"(^|[-_.])(r|right|rh)(_\d+)?$", low):
        return "R"
    if re.search(r"(^|[-_.])lh[-_.]", low):  # FreeSurfer cortical: ctx-lh-precuneus
        return "L"
    if re.search(r"(^|[-_.])rh[-_.]", low):
        return "R"
    return "M"


def _rule_role(label: str) -> str | None:
    low = _norm(label)
    if not low:
        return None
    if any(w in low for w in _DCN_WORDS):
        return "dcn"
    if "vermis" in low:
        return "crbl_vermis"
    if "cerebel" in low or "crus" in low:
        if "white" in low:
            return None
        return "crbl_hemisphere"
    # SUIT-style hemispheric lobules: Left_I_IV, Right_VIIIa, Left_X, ...
    if re.fullmatch(rf"(left|right|l|r|lh|rh)[-_.]{_ROMAN.lower()}", low) or re.fullmatch(
        rf"{_ROMAN.lower()}[-_.](left|right|l|r|lh|rh)", low
    ):
        return "crbl_hemisphere"
    if any(w in low for w in _THAL_WORDS):
        return "thalamus"
    if any(w in low for w in _BRAINSTEM_WORDS):
        return "brainstem"
    if any(w in low for w in _CORTEX_EXCEPTIONS):
        return "cortex"
    if any(w in low for w in _SUBCORT_WORDS):
        return "subcortical"
    return None


def read_overrides(path: str | os.PathLike) -> dict[str, str]:
    """Read an override table: a TSV with two columns ``label`` and ``role``.

    A header line ``label<TAB>role`` is optional; ``#`` starts a comment.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CmftvbError(f"{path}: role override table not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CmftvbError(f"{path}: cannot read role override table ({exc})") from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) != 2:
            raise CmftvbError(f"{path}:{n}: expected 'label<TAB>role', got {line!r}")
        if parts == ["label", "role"]:
            continue
        out[parts[0]] = parts[1]
    return _check_overrides(out, str(path))


def _check_overrides(overrides: Mapping[str, str], where: str) -> dict[str, str]:
    bad = {k: v for k, v in overrides.items() if v not in ROLES}
    if bad:
        k, v = next(iter(bad.items()))
        raise CmftvbError(
            f"{where}: unknown role {v!r} for label {k!r} (roles: {', '.join(ROLES)})"
        )
    return dict(overrides)


def annotate(
    labels: Iterable[str],
    overrides: Mapping[str, str] | str | os.PathLike | None = None,
    *,
    default: str | None = "cortex",
) -> np.ndarray:
    """Role of every label (array of str, same order as ``labels``).

    Rules, first match wins: deep-nucleus names -> ``dcn``; ``Vermis`` -> ``crbl_vermis``;
    cerebellar names (``Cerebelum``/``Cerebellum``/``Crus``, or a side plus a lobule numeral such
    as ``Left_I_IV``) -> ``crbl_hemisphere``; ``Thalamus`` -> ``thalamus``; brain stem / pons /
    medulla / midbrain -> ``brainstem``; basal ganglia, hippocampus, amygdala, accumbens,
    ventral diencephalon -> ``subcortical``; anything else -> ``default`` (``cortex``; pass
    ``default=None`` to make an unrecognised label an error). ``overrides`` (dict or TSV path)
    maps exact labels to roles and wins over the rules.
    """
    labels = [str(lab) for lab in labels]
    if overrides is None:
        table: dict[str, str] = {}
    elif isinstance(overrides, Mapping):
        table = _check_overrides(overrides, "role overrides")
    else:
        table = read_overrides(overrides)
    roles = []
    for lab in labels:
        role = table.get(lab) or _rule_role(lab) or default
        if role is None:
            raise CmftvbError(f"label {lab!r}: cannot infer a node role; add it to the overrides")
        if role not in ROLES:
            raise CmftvbError(f"default role {role!r} is not one of {', '.join(ROLES)}")
        roles.append(role)
    return np.array(roles, dtype=str) if roles else np.array([], dtype="<U16")


_LOBULE_ALIASES = {
    "i_iv": "I_IV",
    "i-iv": "I_IV",
    "1_2": "I_IV",
    "3": "I_IV",
    "4_5": "V",
    "v": "V",
    "vi": "VI",
    "6": "VI",
    "crusi": "CrusI",
    "crus1": "CrusI",
    "crus_i": "CrusI",
    "crusii": "CrusII",
    "crus2": "CrusII",
    "crus_ii": "CrusII",
    "viib": "VIIb",
    "7b": "VIIb",
    "viiia": "VIIIa",
    "8a": "VIIIa",
    "viiib": "VIIIb",
    "8b": "VIIIb",
    "8": "VIIIa",
    "ix": "IX",
    "9": "IX",
    "x": "X",
    "10": "X",
}


def crbl_part(label: str) -> tuple[str, str] | None:
    """Parse a cerebellar label into ``(side, part)``.

    ``side`` is ``'L'``, ``'R'`` or ``'V'`` (vermis); ``part`` is one of :data:`LOBULES` or
    :data:`NUCLEI`. Returns None if the label is not recognisably one of the sample subject's 33
    cerebellar parts (MODEL.md §7). Understands the sample's SUIT-style names (``Left_CrusI``,
    ``Vermis_VIIIb``, ``Right_Fastigial``) and AAL names (``Cerebelum_Crus1_L``, ``Vermis_6``).
    """
    low = _norm(label)
    for nuc in NUCLEI:
        if nuc.lower()[:6] in low or (
            nuc == "Interposed" and ("emboli" in low or "globose" in low)
        ):
            s = side(label)
            return (s, nuc) if s in "LR" else None
    if "vermis" in low:
        rest = re.sub(r"vermis[-_]?", "", low)
        lob = _LOBULE_ALIASES.get(rest.strip("_-"))
        return ("V", lob) if lob in VERMIS_LOBULES else None
    s = side(label)
    if s not in "LR":
        return None
    core = re.sub(r"^(left|right|lh|rh)[-_.]", "", low)
    core = re.sub(r"[-_.](l|r|left|right)(_\d+)?$", "", core)
    core = re.sub(r"^cerebell?um[-_]", "", core)
    lob = _LOBULE_ALIASES.get(core)
    return (s, lob) if lob else None


def indices(roles: Iterable[str], group: str | Iterable[str]) -> np.ndarray:
    """Indices of nodes whose role belongs to ``group`` (a role group name, a role, or a list)."""
    roles = np.asarray(list(roles))
    if isinstance(group, str):
        wanted = ROLE_GROUPS.get(group, (group,))
    else:
        wanted = tuple(group)
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        raise CmftvbError(f"unknown role or role group {unknown[0]!r}")
    return np.flatnonzero(np.isin(roles, wanted))
