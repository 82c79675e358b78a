"""A small test network shared by tests/test_fic.py and tests/test_gstar.py."""

from __future__ import annotations

import numpy as np

from cmftvb.connectome import Connectome

ROLES = ["cortex"] * 4 + ["thalamus"] + ["crbl_hemisphere"] * 2 + ["crbl_vermis"] + ["dcn"] * 2


def small_connectome(seed: int = 3) -> Connectome:
    """Ten nodes with every role group; blocks scaled so that the mossy input is tens of Hz."""
    rng = np.random.default_rng(seed)
    n = len(ROLES)
    r = np.asarray(ROLES)
    cer = np.isin(r, ["cortex", "thalamus"])
    cb = np.isin(r, ["crbl_hemisphere", "crbl_vermis"])
    dcn = r == "dcn"
    W = rng.uniform(0.2, 1.0, (n, n)) * (rng.random((n, n)) < 0.7)
    W[np.ix_(cb, cer | dcn)] *= 0.05  # mossy input
    W[np.ix_(cer, cb)] *= 0.05  # cerebellar cortex -> cerebral
    W[np.ix_(dcn, cb)] *= 0.5  # cerebellar cortex -> DCN
    W[np.ix_(cb, cb)] *= 0.3  # parallel fibres
    np.fill_diagonal(W, 0.0)
    W /= W.max()
    L = rng.uniform(10.0, 90.0, (n, n))
    L = (L + L.T) / 2
    np.fill_diagonal(L, 0.0)
    labels = [f"n{i}_{role}" for i, role in enumerate(ROLES)]
    return Connectome(weights=W, tract_lengths=L, labels=labels, roles=ROLES)
