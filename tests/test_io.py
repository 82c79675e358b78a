"""cmftvb.io: atomic writes, npz round trip, errors on corrupt files, provenance."""

import os
import stat

import numpy as np
import pytest

from cmftvb import CmftvbError, io


def test_npz_round_trip_and_meta(tmp_path):
    path = tmp_path / "a.npz"
    io.save_npz(path, {"x": np.arange(5.0)}, {"provenance": io.provenance({"k": 1}, seed=3)})
    arrays, meta = io.load_npz(path)
    np.testing.assert_array_equal(arrays["x"], np.arange(5.0))
    assert meta["provenance"]["seed"] == 3
    assert meta["provenance"]["config_digest"] == io.digest({"k": 1})
    assert set(meta["provenance"]["packages"]) >= {"numpy", "tvb-library", "cmftvb"}


def test_same_input_same_bytes_whatever_the_clock(tmp_path, monkeypatch):
    import time

    for name, clock in (("a.npz", 1.0e9), ("b.npz", 1.7e9)):
        monkeypatch.setattr(time, "time", lambda clock=clock: clock)
        io.save_npz(tmp_path / name, {"x": np.ones((3, 3))}, {"m": 1})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_permissions_follow_umask(tmp_path):
    target = tmp_path / "out.txt"
    old = os.umask(0o022)
    try:
        with io.atomic_path(target) as tmp:
            tmp.write_text("ok")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


@pytest.mark.parametrize("cut", [0, 10, 200])
def test_corrupt_npz_is_a_named_error(tmp_path, cut):
    good = tmp_path / "good.npz"
    io.save_npz(good, {"x": np.arange(100.0)}, {})
    bad = tmp_path / "bad.npz"
    bad.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(CmftvbError, match="bad.npz"):
        io.load_npz(bad)


def test_read_json_errors_name_the_file(tmp_path):
    with pytest.raises(CmftvbError, match="missing.json: file not found"):
        io.read_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CmftvbError, match="bad.json: not valid JSON"):
        io.read_json(tmp_path / "bad.json")
