"""The 33-node cerebellum of the sample subject, as a template to append (MODEL.md §7).

Connectomes without cerebellar nodes (most public ones, e.g. the 94-region AAL2 demo cohort)
get the sample subject's 33 cerebellar nodes appended: per hemisphere the lobules I_IV, V, VI,
CrusI, CrusII, VIIb, VIIIa, VIIIb, IX, X and the nuclei Dentate, Interposed, Fastigial, plus the
vermal lobules VI, CrusII, VIIb, VIIIa, VIIIb, IX, X (27 cerebellar-cortex nodes, 6 DCN). Labels
and order follow the sample subject; centres are MODEL.md §7's (left hemisphere and vermis as
published, right hemisphere mirrored x -> -x).

Everything here is data plus documented rules, not measurements of a particular subject:

* :data:`DEFAULT_VOLUMES_MM3` — lobule volumes for the parallel-fibre rule
  (:func:`cmftvb.connectome.prewire.parallel_fibre_block`) when no parcellation gives them.
* :func:`template_cortex_to_dcn` — an anatomical rule for the cerebellar cortex -> DCN block
  (block 2 of the prewiring), which otherwise needs a tractogram with intra-cerebellar
  streamlines.
* :class:`LoopParams` / :func:`append_cerebellum` — the cerebro-cerebellar loop (cortex -> pons
  -> contralateral cerebellar cortex; cerebellum -> contralateral thalamus and cortex) with
  block sums of the order of the sample subject's.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.resources

import numpy as np

from cmftvb import CmftvbError
from cmftvb.connectome import roles as _roles
from cmftvb.connectome.core import Connectome


def _read_centres(name: str = "cerebellum_centres.tsv") -> dict[str, tuple[float, float, float]]:
    """label -> (x, y, z) MNI mm from the package's tab-separated table ``name`` (columns
    ``label x_mm y_mm z_mm``; ``#`` lines are comments)."""
    text = importlib.resources.files("cmftvb.connectome").joinpath(name).read_text("utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    rows = csv.DictReader(lines, delimiter="\t")
    return {r["label"]: (float(r["x_mm"]), float(r["y_mm"]), float(r["z_mm"])) for r in rows}


#: Left-hemisphere and vermis centres in MNI mm, MODEL.md §7 (the sample subject's centres),
#: read from ``cerebellum_centres.tsv`` beside this module.
LEFT_AND_VERMIS_CENTRES_MM: dict[str, tuple[float, float, float]] = _read_centres()

#: The 33 cerebellar labels in the sample subject's order (MODEL.md §7).
CRBL_LABELS: tuple[str, ...] = (
    *(f"Left_{x}" for x in _roles.LOBULES),
    *(f"Left_{x}" for x in _roles.NUCLEI),
    *(f"Vermis_{x}" for x in _roles.VERMIS_LOBULES),
    *(f"Right_{x}" for x in _roles.NUCLEI),
    *(f"Right_{x}" for x in _roles.LOBULES),
)


def crbl_centres() -> np.ndarray:
    """Centres (33, 3) in MNI mm of :data:`CRBL_LABELS`; right hemisphere = left mirrored."""
    out = []
    for lab in CRBL_LABELS:
        if lab.startswith("Right_"):
            x, y, z = LEFT_AND_VERMIS_CENTRES_MM["Left_" + lab[6:]]
            out.append((-x, y, z))
        else:
            out.append(LEFT_AND_VERMIS_CENTRES_MM[lab])
    return np.array(out, dtype=np.float64)


#: Default intracranial volume, mm³ (typical adult ICV, ~1.5 l; used by the parallel-fibre rule
#: of MODEL.md §7 when the subject's ICV is unknown).
DEFAULT_ICV_MM3 = 1.5e6

#: Default grey-matter volume of each lobule, mm³ (one hemisphere, or the vermal part), used by
#: the parallel-fibre rule when the subject's parcellation gives none. These are round numbers of
#: the order reported by SUIT-atlas volumetry of healthy adults (Diedrichsen et al. 2009,
#: NeuroImage 46:39-46, atlas; lobular volumes of this order in e.g. Park et al. 2014,
#: NeuroImage 95:217-231): total cerebellar cortex ~ 100-120 cm³, Crus I the largest hemispheric
#: lobule, lobule X and the vermal parts of Crus II/VIIb the smallest. They are approximate and
#: meant only to give parallel-fibre weights of the sample subject's magnitude (with K_p = 101.68
#: and ICV 1.5e6 mm³ the largest weight, CrusI-Vermis_VI, is 0.59; the sample's is 0.564).
#: Users with a cerebellar parcellation should pass measured volumes instead.
DEFAULT_VOLUMES_MM3: dict[str, float] = {
    "I_IV": 4500.0,
    "V": 4500.0,
    "VI": 10000.0,
    "CrusI": 15000.0,
    "CrusII": 10000.0,
    "VIIb": 5000.0,
    "VIIIa": 5500.0,
    "VIIIb": 4500.0,
    "IX": 4000.0,
    "X": 800.0,
    "Vermis_VI": 2500.0,
    "Vermis_CrusII": 300.0,
    "Vermis_VIIb": 400.0,
    "Vermis_VIIIa": 1500.0,
    "Vermis_VIIIb": 1000.0,
    "Vermis_IX": 1500.0,
    "Vermis_X": 600.0,
}


def default_volume(label: str) -> float:
    """Default volume (mm³) of a cerebellar-cortex label (NaN if not a known lobule)."""
    part = _roles.crbl_part(label)
    if part is None or part[1] in _roles.NUCLEI:
        return float("nan")
    side, lob = part
    return DEFAULT_VOLUMES_MM3["Vermis_" + lob] if side == "V" else DEFAULT_VOLUMES_MM3[lob]


#: Share of each cerebellar-cortex zone's Purkinje-cell output sent to (Dentate, Interposed,
#: Fastigial). Rule (corticonuclear zones; Voogd & Glickstein 1998, Trends Neurosci 21:370-375;
#: Apps & Hawkes 2009, Nat Rev Neurosci 10:670-681): the lateral hemisphere (Crus I, Crus II,
#: VIIb) projects mainly to the dentate; the intermediate zone, dominant in the anterior lobe
#: (I_IV, V), VI and the paramedian lobules (VIIIa, VIIIb), mainly to the interposed nuclei;
#: the vermis and the flocculonodular lobe (IX, X) mainly to the fastigial nucleus (the
#: flocculus also to the vestibular nuclei, which the model lacks). Every hemispheric lobule
#: reaches all three ipsilateral nuclei (as in the sample subject, where all 60 hemispheric
#: lobule -> ipsilateral nucleus entries are non-zero); vermal lobules reach both sides.
DCN_SHARES: dict[str, tuple[float, float, float]] = {
    "lateral": (0.7, 0.2, 0.1),
    "intermediate": (0.3, 0.55, 0.15),
    "flocculonodular": (0.15, 0.25, 0.6),
    "vermis": (0.1, 0.2, 0.7),
}
#: Zone of each hemispheric lobule for :data:`DCN_SHARES`.
LOBULE_ZONE: dict[str, str] = {
    "I_IV": "intermediate",
    "V": "intermediate",
    "VI": "intermediate",
    "CrusI": "lateral",
    "CrusII": "lateral",
    "VIIb": "lateral",
    "VIIIa": "intermediate",
    "VIIIb": "intermediate",
    "IX": "flocculonodular",
    "X": "flocculonodular",
}
#: Sum of the cerebellar cortex -> DCN block in the sample subject (MODEL.md §7: 96 non-zero
#: entries, mean 0.031, sum 2.96); the template is scaled to this sum.
CORTEX_TO_DCN_SUM = 2.96


def template_cortex_to_dcn(
    ctx_labels, dcn_labels, *, total: float = CORTEX_TO_DCN_SUM
) -> np.ndarray:
    """Cerebellar cortex -> DCN weights by the zonal rule of :data:`DCN_SHARES`.

    Returns the block ``B[dcn, ctx]`` (rows = DCN targets, TVB convention). Every source lobule
    carries the same total output, split over the three ipsilateral nuclei (hemispheric
    lobules) or over both sides' nuclei, half each (vermal lobules), by zone; the block is then
    scaled so that its sum is ``total`` (default 2.96, the sample subject's, MODEL.md §7). With
    the 27 + 6 template nodes this gives 102 non-zero entries, mean 0.029 (sample: 96, 0.031).
    """
    ctx = [_roles.crbl_part(str(lab)) for lab in ctx_labels]
    dcn = [_roles.crbl_part(str(lab)) for lab in dcn_labels]
    for lab, part in zip(list(ctx_labels) + list(dcn_labels), ctx + dcn, strict=True):
        if part is None:
            raise CmftvbError(
                f"label {lab!r}: not a cerebellar lobule or nucleus known to the template"
            )
    block = np.zeros((len(dcn), len(ctx)))
    for j, (cside, lob) in enumerate(ctx):
        shares = DCN_SHARES["vermis" if cside == "V" else LOBULE_ZONE[lob]]
        for i, (dside, nuc) in enumerate(dcn):
            if cside == "V":
                block[i, j] = 0.5 * shares[_roles.NUCLEI.index(nuc)]
            elif cside == dside:
                block[i, j] = shares[_roles.NUCLEI.index(nuc)]
    s = block.sum()
    if s > 0:
        block *= total / s
    return block


@dataclasses.dataclass(frozen=True)
class LoopParams:
    """Cerebro-cerebellar loop of an appended cerebellum (block sums, dimensionless weights).

    Defaults are the sample subject's block sums (MODEL.md §7; measured on its weights: cerebral
    -> cerebellar cortex 0.0119, cerebellar cortex -> cerebral 0.0425, cerebral -> DCN 2.7e-4,
    DCN -> cerebral 2.2e-4), rounded. They assume a connectome normalised to a maximum weight of
    1 (as the sample is), so normalise before appending. Each total is spread uniformly over the
    entries its rule creates:

    * ``mossy_total``: cerebral cortex -> contralateral hemispheric lobules (cortico-ponto-
      cerebellar mossy fibres cross in the pons); vermal lobules receive from both sides.
    * ``crbl_to_cerebral_total``: cerebellar cortex -> contralateral cortex and thalamus (the
      tractogram sees the cerebello-thalamo-cortical path as direct streamlines; the sample
      has these entries); vermis -> both sides.
    * ``cerebral_to_dcn_total``: cerebral cortex -> contralateral DCN (mossy-fibre collaterals).
    * ``dcn_to_thalamus_total``: DCN -> contralateral thalamus (the superior cerebellar
      peduncle decussates); to contralateral cortex if the connectome has no thalamus.
    * ``length_factor``: tract length = factor x Euclidean distance between centres (mm). The
      default 1 is the plain distance; the sample's cerebro-cerebellar tract lengths are about
      2x the distance between its centres (median ratio 2.0), so 2 mimics tractography.
    * ``default_length_mm``: length used where a cerebral node's centre is unknown (the median
      cerebro-cerebellar tract length of the sample subject, 159 mm).
    """

    mossy_total: float = 0.012
    crbl_to_cerebral_total: float = 0.042
    cerebral_to_dcn_total: float = 2.7e-4
    dcn_to_thalamus_total: float = 2.2e-4
    length_factor: float = 1.0
    default_length_mm: float = 159.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not np.isfinite(v) or v < 0:
                raise CmftvbError(f"loop_params.{f.name}: must be a finite number >= 0, got {v!r}")
        if self.length_factor <= 0 or self.default_length_mm <= 0:
            raise CmftvbError("loop_params: length_factor and default_length_mm must be > 0")


def _uniform(mask: np.ndarray, total: float) -> np.ndarray:
    n = int(mask.sum())
    return np.where(mask, total / n, 0.0) if n else np.zeros(mask.shape)


def _contra(a: str, b: str) -> bool:
    """True if sides a and b are on opposite hemispheres, or either is midline."""
    return a == "M" or b == "M" or a != b


def append_cerebellum(con: Connectome, loop: LoopParams | None = None) -> Connectome:
    """Append the 33 template cerebellar nodes to a connectome that has none (MODEL.md §7).

    The intra-cerebellar block is left zero (the prewiring, :func:`cmftvb.connectome.prewire.
    prewire`, fills it). Cerebro-cerebellar entries follow :class:`LoopParams`. Tract lengths
    (mm): ``length_factor`` x Euclidean distance between centres, ``default_length_mm`` where
    a cerebral centre is unknown. Appended nodes get :func:`crbl_centres`, the default lobule
    volumes (:data:`DEFAULT_VOLUMES_MM3`; NaN for nuclei) and ``has_empirical = False``.
    """
    loop = loop or LoopParams()
    present = [
        lab
        for lab, r in zip(con.labels, con.roles, strict=True)
        if r in ("crbl_hemisphere", "crbl_vermis", "dcn")
    ]
    if present:
        raise CmftvbError(
            f"{con.meta.get('source', 'connectome')}: already has cerebellar nodes"
            f" ({', '.join(present[:3])}, ...); not appending another cerebellum"
        )
    clash = set(CRBL_LABELS) & set(con.labels.tolist())
    if clash:
        raise CmftvbError(f"connectome already has label {sorted(clash)[0]!r}")
    n0, m = con.n, len(CRBL_LABELS)
    n = n0 + m
    labels = np.array(list(con.labels) + list(CRBL_LABELS), dtype=str)
    crbl_roles = _roles.annotate(CRBL_LABELS)
    roles = np.array(list(con.roles) + list(crbl_roles), dtype=str)
    sides = np.array([_roles.side(s) for s in labels])
    w = np.zeros((n, n))
    w[:n0, :n0] = con.weights

    new = np.arange(n0, n)
    is_ctx_c = np.isin(roles, _roles.ROLE_GROUPS["crbl_cortex"]) & (np.arange(n) >= n0)
    is_dcn = (roles == "dcn") & (np.arange(n) >= n0)
    is_cortex = (roles == "cortex") & (np.arange(n) < n0)
    is_thal = (roles == "thalamus") & (np.arange(n) < n0)
    contra = np.array([[_contra(a, b) for b in sides] for a in sides])

    # W[target, source]
    mossy = is_ctx_c[:, None] & is_cortex[None, :] & contra
    w += _uniform(mossy, loop.mossy_total)
    back = (is_cortex | is_thal)[:, None] & is_ctx_c[None, :] & contra
    w += _uniform(back, loop.crbl_to_cerebral_total)
    to_dcn = is_dcn[:, None] & is_cortex[None, :] & contra
    w += _uniform(to_dcn, loop.cerebral_to_dcn_total)
    thal_targets = is_thal if is_thal.any() else is_cortex
    from_dcn = thal_targets[:, None] & is_dcn[None, :] & contra
    w += _uniform(from_dcn, loop.dcn_to_thalamus_total)

    centres = np.vstack([con.centres, crbl_centres()])
    dist = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1) * loop.length_factor
    lengths = np.zeros((n, n))
    lengths[:n0, :n0] = con.tract_lengths
    block = np.where(np.isnan(dist), loop.default_length_mm, dist)
    lengths[new, :] = block[new, :]
    lengths[:, new] = block[:, new]

    volumes = np.r_[con.volumes, [default_volume(s) for s in CRBL_LABELS]]
    meta = dict(con.meta)
    meta["appended_cerebellum"] = {
        "n_before": n0,
        "n_appended": m,
        "labels": "sample subject's 33 cerebellar labels (MODEL.md §7)",
        "centres": "MODEL.md §7, right hemisphere mirrored",
        "loop_params": dataclasses.asdict(loop),
        "thalamus_targets": bool(is_thal.any()),
        "unknown_cerebral_centres": int(np.isnan(con.centres).any(axis=1).sum()),
        "block_sums": {
            "cerebral_to_crbl_cortex": float(w[np.ix_(is_ctx_c, np.arange(n) < n0)].sum()),
            "crbl_cortex_to_cerebral": float(w[np.ix_(np.arange(n) < n0, is_ctx_c)].sum()),
            "cerebral_to_dcn": float(w[np.ix_(is_dcn, np.arange(n) < n0)].sum()),
            "dcn_to_cerebral": float(w[np.ix_(np.arange(n) < n0, is_dcn)].sum()),
        },
    }
    return Connectome(
        weights=w,
        tract_lengths=lengths,
        labels=labels,
        roles=roles,
        centres=centres,
        volumes=volumes,
        has_empirical=np.r_[con.has_empirical, np.zeros(m, bool)],
        meta=meta,
    )
