"""Random streams: one per (subject, model, G, seed), independent of batch, job and machine.

Each lane of a batched simulation owns a :class:`numpy.random.Generator` (PCG64) seeded from a
:class:`numpy.random.SeedSequence` whose entropy is the sha256 of the lane's key
``(subject, model, G, seed)`` (canonical JSON; G written with ``repr`` of the float, so 2 and 2.0
give the same stream). From that sequence two children are spawned: child 0 drives the additive
noise, child 1 the random initial history. A lane therefore draws the same numbers whether it
runs alone or in a batch, and whatever the noise chunk size (the noise of a lane is drawn in
order, step after step, from its own generator).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from cmftvb import CmftvbError


def lane_key(subject: str, model: str, G: float, seed: int) -> str:
    """Canonical text of a lane's key (what is hashed into the entropy)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise CmftvbError(f"seed {seed!r}: must be an integer")
    return json.dumps([str(subject), str(model), repr(float(G)), int(seed)])


def seed_sequence(subject: str, model: str, G: float, seed: int) -> np.random.SeedSequence:
    """SeedSequence whose entropy is the sha256 (256 bits) of :func:`lane_key`."""
    digest = hashlib.sha256(lane_key(subject, model, G, seed).encode()).digest()
    return np.random.SeedSequence(int.from_bytes(digest, "little"))


def lane_generators(
    subject: str, model: str, G: float, seed: int
) -> tuple[np.random.Generator, np.random.Generator]:
    """(noise generator, initial-condition generator) of one lane, both PCG64."""
    noise_ss, init_ss = seed_sequence(subject, model, G, seed).spawn(2)
    return np.random.Generator(np.random.PCG64(noise_ss)), np.random.Generator(
        np.random.PCG64(init_ss)
    )


class NoiseSource:
    """Standard normal draws for several lanes, chunk by chunk, lane-major.

    ``fill(out)`` writes ``out[l]`` (shape (S, M)) = the next ``S * M`` draws of lane ``l``
    (C order over step then variable), so the sequence a lane sees does not depend on the chunk
    size nor on the other lanes.
    """

    def __init__(self, generators: list[np.random.Generator], n_var: int):
        self.generators = list(generators)
        self.n_var = int(n_var)

    def fill(self, out: np.ndarray) -> None:
        n_lanes, _, n_var = out.shape
        if n_var != self.n_var or n_lanes != len(self.generators):
            raise ValueError("noise buffer shape does not match the lanes")
        for lane, gen in enumerate(self.generators):
            if out[lane].flags.c_contiguous:
                gen.standard_normal(out=out[lane])
            else:
                out[lane] = gen.standard_normal(out.shape[1:])
