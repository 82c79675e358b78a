"""Synthetic "empirical" BOLD (cmftvb.signals.synthetic): determinism, key domain, noise."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.connectome import Connectome
from cmftvb.engine import rng as erng
from cmftvb.engine import simulate
from cmftvb.network import build_network
from cmftvb.signals import bold as sbold
from cmftvb.signals import synthetic

ROLES = ["cortex", "cortex", "thalamus", "crbl_hemisphere", "crbl_vermis", "dcn"]
KW = dict(G=0.3, duration_s=1.0, tr_s=0.2, transient_s=0.4)  # 7 volumes = 1.4 s simulated


@pytest.fixture(scope="module")
def conn():
    rng = np.random.default_rng(0)
    n = len(ROLES)
    w = rng.random((n, n)) * 0.5
    np.fill_diagonal(w, 0)
    ln = rng.uniform(10, 60, (n, n))
    ln = (ln + ln.T) / 2
    np.fill_diagonal(ln, 0)
    return Connectome(w, ln, [f"n{i}" for i in range(n)], roles=ROLES)


def _streams(subject, model, G, seed):
    """Lane streams under the engine's current key (with or without the model)."""
    if "model" in inspect.signature(erng.lane_streams).parameters:
        return erng.lane_streams(subject, model, G, seed)
    return erng.lane_streams(subject, G, seed)


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
def test_same_inputs_give_bitwise_the_same_bold(conn, model):
    net = build_network(conn, model, "corrected")
    a = synthetic.generate_bold(conn, net, seed=4, subject="s1", snr=3.0, **KW)
    b = synthetic.generate_bold(conn, net, seed=4, subject="s1", snr=3.0, **KW)
    assert a.bold.shape == (5, conn.n)  # every node, cerebellum included
    assert np.isfinite(a.bold).all()
    assert a.bold.tobytes() == b.bold.tobytes() and a.clean.tobytes() == b.clean.tobytes()
    g = a.meta["generator"]
    assert (g["model"], g["preset"], g["G"], g["seed"]) == (model, "corrected", 0.3, 4)
    assert (a.meta["snr"], a.meta["duration_s"], a.meta["tr_s"]) == (3.0, 1.0, 0.2)
    c = synthetic.generate_bold(conn, net, seed=5, subject="s1", snr=3.0, **KW)
    assert not np.array_equal(a.clean, c.clean)


def test_generator_uses_its_own_key_domain(conn):
    """The generator's BOLD is the engine's run under subject GENERATOR_DOMAIN + subject, and
    differs from a fitting run of the same subject, model, G and seed."""
    net = build_network(conn, "homogeneous", "corrected")
    gen = synthetic.generate_bold(conn, net, seed=1, subject="s1", **KW)
    integ = net.params["integration"]

    def run(subject):
        r = simulate(
            conn, net, duration=1400.0, dt=integ["dt"], seeds=[1],
            noise_sigma=integ["noise_sigma"], G=0.3, speed=integ["speed"], monitor="mean",
            monitor_period=4.0, subject=subject,
        )  # fmt: skip
        b = sbold.bold_tvb_kernel(r.bold_input[0], 4.0, 200.0)
        return sbold.drop_transient(b, 200.0, volumes=2)

    assert np.array_equal(run(synthetic.engine_subject("s1")), gen.clean)
    fit = run("s1")
    assert not np.allclose(fit, gen.clean, rtol=0, atol=1e-9)
    assert gen.meta["generator"]["engine_subject"] == "synthetic-generator:s1"


def test_generator_streams_differ_from_every_fitting_stream():
    """For generator seeds 0..39 and fitting seeds 0..39 (same subject, model, G): no noise key
    or first noise draw of the generator equals a fitting run's."""
    steps = np.arange(4)
    for G in (0.3, 2.0):
        fit_keys = {tuple(_streams("s1", "cmf", G, s)[0]) for s in range(40)}
        fit_draws = {
            erng.normals_reference(_streams("s1", "cmf", G, s)[0], steps, 0, 2).tobytes()
            for s in range(40)
        }
        for s in range(40):
            key, init = _streams(synthetic.engine_subject("s1"), "cmf", G, s)
            assert tuple(key) not in fit_keys
            assert erng.normals_reference(key, steps, 0, 2).tobytes() not in fit_draws
            fit_init = _streams("s1", "cmf", G, s)[1].random(3)
            assert not np.array_equal(init.random(3), fit_init)


def test_reserved_subject_prefix_is_refused(conn):
    net = build_network(conn, "homogeneous", "corrected")
    with pytest.raises(CmftvbError, match="reserved"):
        synthetic.generate_bold(conn, net, seed=1, subject="synthetic-generator:x", **KW)


@pytest.mark.parametrize(
    "bad, match",
    [({"snr": 0.0}, "snr"), ({"snr": "x"}, "snr"), ({"bold_model": "nope"}, "bold_model"),
     ({"seed": 1.5}, "seed"), ({"duration_s": 0.1}, "shorter than one TR")],
)  # fmt: skip
def test_bad_arguments_raise_one_line(conn, bad, match):
    net = build_network(conn, "homogeneous", "corrected")
    kw = {**KW, "seed": 1, "subject": "s1", **bad}
    with pytest.raises(CmftvbError, match=match):
        synthetic.generate_bold(conn, net, **kw)


def test_measurement_noise_has_the_stated_snr():
    """Noise SD = std(signal) / snr per node: sample ratio within 5 standard errors
    (SE of a sample SD ratio ~ 1 / sqrt(2 T))."""
    T = 20000
    t = np.arange(T)
    clean = np.stack([np.sin(t / 50.0), 3.0 * np.cos(t / 17.0), 0.01 * t / T], axis=1)
    for snr in (0.5, 2.0, 10.0):
        noisy = synthetic.add_measurement_noise(
            clean, snr, synthetic.measurement_rng("s", "m", "p", 1.0, 1)
        )
        ratio = clean.std(axis=0) / (noisy - clean).std(axis=0)
        assert np.allclose(ratio, snr, rtol=5 / np.sqrt(2 * T))
    same = synthetic.add_measurement_noise(clean, None, np.random.default_rng(0))
    assert np.array_equal(same, clean)


def test_noise_is_deterministic_and_added_to_the_clean_bold(conn):
    net = build_network(conn, "cmf", "corrected")
    a = synthetic.generate_bold(conn, net, seed=2, subject="s1", snr=1.0, **KW)
    b = synthetic.generate_bold(conn, net, seed=2, subject="s2", snr=1.0, **KW)
    assert not np.array_equal(a.bold - a.clean, b.bold - b.clean)
    assert not np.allclose(a.bold, a.clean)


def test_J_i_is_passed_to_the_engine_only_when_given(conn):
    net = build_network(conn, "homogeneous", "corrected")
    J = np.full(conn.n, float(net.params["wongwang"]["J_i"]))
    if "J_i" in inspect.signature(simulate).parameters:
        a = synthetic.generate_bold(conn, net, seed=1, subject="s1", J_i=J, **KW)
        assert a.meta["generator"]["fic"] is True
    else:
        with pytest.raises(CmftvbError, match="J_i"):
            synthetic.generate_bold(conn, net, seed=1, subject="s1", J_i=J, **KW)
