"""cmftvb.batch.simulate_batch (rule simulate): the engine call it makes, with the preset's
noise and speed unless the config overrides them, and the record saved with the batch."""

from __future__ import annotations

import logging
import types

import numpy as np
import pytest

import cmftvb.engine
from cmftvb import batch


class _Net:
    model, preset = "cmf", "corrected"
    params = {"integration": {"noise_sigma": 0.001, "speed": 3.0}}

    def summary(self):
        return "network summary"


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def fake_simulate(connectome, network, **kwargs):
        seen.append((connectome, network, kwargs))
        kwargs["progress"](50.0, 2.0, 3.0)
        return types.SimpleNamespace(bold_input=np.zeros((2, 3, 4)))

    monkeypatch.setattr(cmftvb.engine, "simulate", fake_simulate)
    return seen


def run(**over):
    kwargs = {
        "G": "1.5",
        "seeds": ["1", 2],
        "duration_ms": 12000.0,
        "dt_ms": 0.1,
        "monitor_period_ms": 4.0,
        "engine": "numba",
        "subject": "101309",
        **over,
    }
    return batch.simulate_batch("CON", _Net(), **kwargs)


def test_engine_call_and_record(calls, caplog):
    with caplog.at_level(logging.INFO, logger="cmftvb.batch"):
        _, meta = run()
    ((con, net, kwargs),) = calls
    assert con == "CON" and isinstance(net, _Net)
    progress = kwargs.pop("progress")
    assert kwargs == {
        "duration": 12000.0,
        "dt": 0.1,
        "seeds": [1, 2],
        "noise_sigma": 0.001,
        "G": 1.5,
        "speed": 3.0,
        "monitor": "mean",
        "monitor_period": 4.0,
        "subject": "101309",
        "engine": "numba",
    }
    assert callable(progress)
    # 50 % of 12 s at 2 simulated s per wall s, 3 s left
    assert "50.0% | 6.0 of 12.0 s simulated | 2 simulated s per wall s | ETA 3 s" in caplog.text
    assert meta == {
        "subject": "101309",
        "model": "cmf",
        "preset": "corrected",
        "G": 1.5,
        "lane_axis": "seed",
        "seeds": [1, 2],
        "units": batch.UNITS,
        "network_summary": "network summary",
        "store": "activity",
    }


def test_config_overrides_the_preset_noise_and_speed(calls):
    run(noise_sigma=0.0, speed=5)
    kwargs = calls[0][2]
    assert kwargs["noise_sigma"] == 0.0 and kwargs["speed"] == 5.0


def test_J_i_and_initial_are_forwarded_only_when_given(calls):
    run()
    # the engine's defaults: the preset's scalar J_i and random initial history
    assert "J_i" not in calls[0][2] and "initial" not in calls[0][2]
    J_i = np.array([0.9, 1.1, 1.0, 1.2])
    run(J_i=J_i, initial={"S_E": 0.16, "S_I": 0.5})
    assert calls[1][2]["J_i"] is J_i and calls[1][2]["initial"] == {"S_E": 0.16, "S_I": 0.5}


def test_bad_store_names_the_key(calls):
    from cmftvb import CmftvbError

    with pytest.raises(CmftvbError, match="config key 'simulation.store': 'raw' is not one of"):
        run(store="raw")
    assert calls == []  # refused before the engine runs
