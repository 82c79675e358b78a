"""Names of the signal features: built here and parsed here, nowhere else.

Feature (metric) names of the tidy tables (rule signals, then the study's fitness table):

- ``<pop>_rate_hz``: mean rate of a population in a node (Hz);
- ``<pop>_<band>_rel_area``, ``<pop>_<band>_dominant_hz``, ``<pop>_<band>_mode_share``: band
  features of a population's spectrum (:func:`cmftvb.signals.ephys.band_features`,
  :func:`cmftvb.signals.ephys.spectral_modes`);
- ``coh_<a>_<b>_<band>``: mean magnitude-squared coherence of populations ``a`` and ``b`` of a
  node over a band;
- ``<pop>_dominant_hz``, ``<pop>_peak_hz``, ``<pop>_peak_ratio``, ``<pop>_has_peak`` (0/1),
  ``<pop>_power_<band>`` (Hz^2): rhythm evidence from the un-normalised spectrum of a
  population in a node (:func:`cmftvb.signals.rhythms.rhythm_table`);
- ``coh_nodes_crbl_crbl_<band>``, ``coh_nodes_crbl_cerebral_<band>`` and ``coh_nodes_floor``
  (region ``global``): mean coherence between nodes
  (:func:`cmftvb.signals.analyses.node_coherence`).

Array keys of the signals file (:data:`cmftvb.io.SIGNALS`): ``psd_<pop>``, ``nodes_<pop>``,
``coh_<a>__<b>``, ``coh_nodes_<a>__<b>`` (double underscore: population names hold single ones,
e.g. ``r_E``), ``psdabs_<pop>`` (un-normalised spectra), ``nodecoh`` (coherence between nodes,
(S, B, N, N)) with ``nodecoh_bands``.
"""

from __future__ import annotations

import dataclasses

from cmftvb.signals.ephys import BANDS

#: Populations whose rates the engine monitors, in output order: the Wong-Wang excitatory and
#: inhibitory rates (Hz) and the cerebellar mean field's granule, Golgi, molecular-layer
#: interneuron and Purkinje rates (kHz).
POPULATIONS = ("r_E", "r_I", "GrC", "GoC", "MLI", "PC")
#: Populations monitored in kHz (MODEL.md §3); the others are in Hz.
RATES_KHZ = ("GrC", "GoC", "MLI", "PC")
#: Band features of one population's spectrum.
BAND_FEATURES = ("rel_area", "dominant_hz", "mode_share")
RATE = "rate_hz"
#: Rhythm features of one population in one node (besides ``power_<band>``).
RHYTHM_FEATURES = ("dominant_hz", "peak_hz", "peak_ratio", "has_peak")
#: Pair groups of the coherence between nodes.
NODE_COHERENCE_GROUPS = ("crbl_crbl", "crbl_cerebral")
NODE_COHERENCE_FLOOR = "coh_nodes_floor"
NODE_COHERENCE = "nodecoh"
NODE_COHERENCE_BANDS = "nodecoh_bands"


def rate_metric(pop: str) -> str:
    return f"{pop}_{RATE}"


def band_metric(pop: str, band: str, feature: str) -> str:
    if feature not in BAND_FEATURES:
        raise ValueError(f"unknown band feature {feature!r}")
    return f"{pop}_{band}_{feature}"


def coherence_metric(a: str, b: str, band: str) -> str:
    return f"coh_{a}_{b}_{band}"


def rhythm_metric(pop: str, feature: str) -> str:
    """``<pop>_<feature>`` for a feature of :data:`RHYTHM_FEATURES`."""
    if feature not in RHYTHM_FEATURES:
        raise ValueError(f"unknown rhythm feature {feature!r}")
    return f"{pop}_{feature}"


def power_metric(pop: str, band: str) -> str:
    """Absolute band power of a population's spectrum (Hz^2 for rates in Hz)."""
    return f"{pop}_power_{band}"


def node_coherence_metric(group: str, band: str) -> str:
    """Mean coherence between nodes of a pair group (:data:`NODE_COHERENCE_GROUPS`)."""
    if group not in NODE_COHERENCE_GROUPS:
        raise ValueError(f"unknown node pair group {group!r}")
    return f"coh_nodes_{group}_{band}"


def psd_key(pop: str) -> str:
    return f"psd_{pop}"


def psdabs_key(pop: str) -> str:
    """Un-normalised spectra (Hz^2/Hz) of a population."""
    return f"psdabs_{pop}"


def nodes_key(pop: str) -> str:
    return f"nodes_{pop}"


def coherence_key(a: str, b: str) -> str:
    return f"coh_{a}__{b}"


def coherence_nodes_key(a: str, b: str) -> str:
    return f"coh_nodes_{a}__{b}"


def is_per_seed(key: str) -> bool:
    """Whether an array of the signals file has a leading seed axis (else it is shared by the
    seeds of the batch: frequencies, node indices, labels)."""
    is_coh = key.startswith("coh_") and "__" in key and not key.startswith("coh_nodes_")
    per_seed = key in ("bold", NODE_COHERENCE) or key.startswith(("psd_", "psdabs_"))
    return per_seed or is_coh


@dataclasses.dataclass(frozen=True)
class Metric:
    """A parsed feature name: ``kind`` is 'rate', 'band' or 'coherence'."""

    kind: str
    populations: tuple[str, ...]
    band: str | None = None
    feature: str | None = None


def _split_pop(text: str) -> tuple[str, str] | None:
    """(population, rest) for ``text`` = ``<pop>_<rest>`` with a known population."""
    for pop in sorted(POPULATIONS, key=len, reverse=True):
        if text.startswith(pop + "_"):
            return pop, text[len(pop) + 1 :]
    return None


def parse_metric(name: str) -> Metric | None:
    """The parts of a feature name built by this module; None for any other metric
    (``fc_fit``, ``fcd_ks``, region-wise errors)."""
    if name.startswith("coh_"):
        first = _split_pop(name[4:])
        second = _split_pop(first[1]) if first else None
        if second and second[1] in BANDS:
            return Metric("coherence", (first[0], second[0]), band=second[1])
        return None
    head = _split_pop(name)
    if head is None:
        return None
    pop, rest = head
    if rest == RATE:
        return Metric("rate", (pop,))
    for feature in BAND_FEATURES:
        band = rest[: -len(feature) - 1] if rest.endswith("_" + feature) else None
        if band in BANDS:
            return Metric("band", (pop,), band=band, feature=feature)
    return None


# ------------------------------------------------------------------------------------------
# Array keys of a streamed simulation file (:data:`cmftvb.io.SIMULATION_SIGNALS`, the rule
# simulate under ``simulation.store: signals``; :class:`cmftvb.signals.stream_run.StudySignals`).
# Besides ``bold``, ``freqs_hz``, ``psdabs_<pop>``, ``nodes_<var>``, ``coh_<a>__<b>``,
# ``coh_nodes_<a>__<b>``, ``nodecoh`` and ``nodecoh_bands`` of the signals file:

#: Number of samples behind the Welch spectra (after the transient), for their degrees of freedom.
WELCH_SAMPLES = "welch_samples"
#: Number of Welch segments behind the coherence between nodes.
NODE_COHERENCE_SEGMENTS = "nodecoh_segments"
#: Sample times (ms) of the rate excerpt.
EXCERPT_TIME = "excerpt_time_ms"


def mean_key(var: str) -> str:
    """Time mean (S, k) of a monitored variable after the transient, in engine units."""
    return f"mean_{var}"


def modes_key(pop: str) -> str:
    """Spectral-mode shares (S, k, B) of a population, bands in ``ephys.BANDS`` order."""
    return f"modes_{pop}"


def excerpt_key(pop: str) -> str:
    """The first seconds of a population's rate (S, t, k), as monitored (engine units)."""
    return f"excerpt_{pop}"


def ephys_bold_key(pop: str) -> str:
    """A population's rate through the hemodynamic model (S, V, k) at the cerebellar-cortex
    nodes that have it (``ephys_bold_nodes_<pop>``)."""
    return f"ephysbold_{pop}"


def ephys_bold_nodes_key(pop: str) -> str:
    return f"ephysbold_nodes_{pop}"
