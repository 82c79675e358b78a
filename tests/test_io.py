"""cmftvb.io: atomic writes, npz round trip, errors on corrupt files, provenance."""

import json
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


# --------------------------------------------------------------------- YAML
def test_read_yaml_refuses_duplicate_keys_naming_file_key_and_lines(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("study: a\ncohort:\n  tr_s: 1\n  subjects: []\n  tr_s: 2\nstudy: b\n")
    with pytest.raises(CmftvbError) as err:
        io.read_yaml(path)
    assert str(err.value) == f"{path}: line 6: duplicate key 'study' (first given on line 1)"
    path.write_text("study: a\ncohort:\n  tr_s: 1\n  subjects: []\n  tr_s: 2\n")
    with pytest.raises(CmftvbError) as err:
        io.read_yaml(path)
    assert str(err.value) == f"{path}: line 5: duplicate key 'tr_s' (first given on line 3)"


def test_read_yaml_equals_safe_load_without_duplicates(tmp_path):
    import yaml

    text = "a: 1\nb:\n  c: [1, 2]\n  d: {e: x}\nlist:\n  - {k: 1}\n  - {k: 2}\n"
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    assert io.read_yaml(path) == yaml.safe_load(text)
    # the same key in two different mappings is not a duplicate
    path.write_text("a: {k: 1}\nb: {k: 2}\n")
    assert io.read_yaml(path) == {"a": {"k": 1}, "b": {"k": 2}}


@pytest.mark.parametrize(
    ("reader", "name", "text", "message"),
    [
        (io.read_json, "missing.json", None, "missing.json: file not found"),
        (io.read_json, "bad.json", "{not json", "bad.json: not valid JSON"),
        (io.read_yaml, "nope.yaml", None, "nope.yaml: file not found"),
        (io.read_yaml, "bad.yaml", "a: [1, 2\n", "bad.yaml: not valid YAML"),
        (
            io.read_yaml,
            "code.yaml",
            "a: !!python/object/apply:os.system ['true']\n",
            "code.yaml: not valid YAML",
        ),
    ],
)
def test_read_errors_name_the_file(tmp_path, reader, name, text, message):
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(CmftvbError, match=message):
        reader(tmp_path / name)


@pytest.mark.parametrize("name", ["config.yaml", "configs/tiny.yaml", "configs/article.yaml"])
def test_shipped_configs_have_no_duplicate_keys(name):
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[1] / name
    assert io.read_yaml(path) == yaml.safe_load(path.read_text())


# --------------------------------------------------------------- file kinds
def _padded(rng, S=2, T=5, N=4, nodes=(1, 3)):
    """An engine-style (S, T, N) float64 array, NaN outside ``nodes``."""
    a = np.full((S, T, N), np.nan)
    a[:, :, list(nodes)] = rng.standard_normal((S, T, len(nodes)))
    return a


def test_simulation_packed_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    grc, se = _padded(rng), _padded(rng, nodes=(0, 1, 2, 3))
    bold_input = rng.standard_normal((2, 5, 4))
    path = tmp_path / "sim.npz"
    io.save_simulation_packed(
        path,
        time_ms=np.arange(5.0),
        labels=np.array(list("abcd")),
        seeds=[3, 4],
        variables={"GrC": grc, "S_E": se},
        bold_input=bold_input,
        params={"x": np.float64(1.5), "n": np.int64(2)},
        meta={"subject": "s"},
    )
    arrays, meta = io.load_simulation_packed(path)
    assert meta["format"] == io.SIMULATION_PACKED and meta["subject"] == "s"
    np.testing.assert_array_equal(arrays["nodes_GrC"], [1, 3])
    np.testing.assert_array_equal(arrays["nodes_S_E"], [0, 1, 2, 3])
    assert arrays["GrC"].dtype == np.float32 and arrays["GrC"].shape == (2, 5, 2)
    np.testing.assert_array_equal(arrays["GrC"], grc[:, :, [1, 3]].astype(np.float32))
    np.testing.assert_array_equal(arrays["bold_input"], bold_input.astype(np.float32))
    np.testing.assert_array_equal(arrays["seeds"], [3, 4])
    assert json.loads(str(arrays["params"])) == {"x": 1.5, "n": 2}
    # one reader per layout: the other kind's reader refuses it, naming the file and tags
    with pytest.raises(CmftvbError, match=f"sim.npz: a {io.SIMULATION_PACKED} file, expected"):
        io.load_simulation_full(path)


def test_simulation_full_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    grc = _padded(rng, S=1)[0]  # one seed: (T, N)
    path = tmp_path / "full.npz"
    items = iter([("time_ms", np.arange(5.0)), ("labels", np.array(list("abcd")))])
    items = (x for x in [*items, ("GrC", grc), ("bold_input", np.ones((5, 4)))])
    io.save_simulation_full(path, items, {"G": 1.0}, {"seeds": [0]})
    arrays, meta = io.load_simulation_full(path)
    assert meta["format"] == io.SIMULATION_FULL
    assert arrays["GrC"].dtype == np.float64
    np.testing.assert_array_equal(arrays["GrC"], grc)  # NaN padding kept (equal_nan)
    assert json.loads(str(arrays["params"])) == {"G": 1.0}
    with pytest.raises(CmftvbError, match="full.npz: a cmftvb.simulation-full/1 file"):
        io.load_simulation_packed(path)


def test_format_tags_are_distinct_and_checked(tmp_path):
    tags = [io.SIMULATION_FULL, io.SIMULATION_PACKED, io.EMPIRICAL, io.SIGNALS, io.FC]
    assert len(set(tags)) == len(tags)
    io.save_npz(tmp_path / "old.npz", {"fc": np.eye(2)}, {})
    with pytest.raises(CmftvbError, match="old.npz: a untagged file, expected cmftvb.fc/1"):
        io.load_tagged(tmp_path / "old.npz", io.FC)
    io.save_tagged(tmp_path / "fc.npz", io.FC, {"fc": np.eye(2), "seeds": np.arange(1)}, {})
    with pytest.raises(CmftvbError, match="fc.npz: cmftvb.fc/1 file lacks labels"):
        io.load_tagged(tmp_path / "fc.npz", io.FC)
    with pytest.raises(ValueError, match="unknown file kind"):
        io.save_tagged(tmp_path / "x.npz", "cmftvb.nothing/1", {}, {})


def test_tidy_table_round_trip_keeps_ids_as_text(tmp_path):
    import pandas as pd

    table = pd.DataFrame(
        {"subject": ["007", "100"], "region": ["1", "NA"], "value": [1 / 3, np.nan]}
    )
    io.write_table(table, tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text().splitlines()[1] == "007\t1\t0.3333333333"
    back = io.read_table(tmp_path / "t.tsv")
    assert list(back["subject"]) == ["007", "100"] and list(back["region"]) == ["1", "NA"]
    assert back["value"].iloc[0] == pytest.approx(1 / 3, rel=1e-9) and np.isnan(back["value"][1])


def test_job_manifest_and_its_path(tmp_path):
    out = tmp_path / "results" / "x.tsv"
    out.parent.mkdir()
    out.write_text("data\n")
    rec = io.job_manifest(
        "fitness", {"subject": "s1", "G": "1.5", "seeds": "1_2"}, [str(out)], {"k": 1}
    )
    assert rec["rule"] == "fitness" and rec["wildcards"]["seeds"] == "1_2"
    assert rec["outputs"] == [{"path": str(out), "sha256": io.sha256_file(out)}]
    prov = rec["provenance"]
    assert prov["seed"] == [1, 2] and prov["G"] == 1.5 and prov["subject"] == "s1"
    assert prov["config_digest"] == io.digest({"k": 1})
    log = tmp_path / "results" / "logs" / "fitness" / "s1" / "run.log"
    assert (
        io.manifest_path(log) == tmp_path / "results" / "provenance" / "fitness" / "s1" / "run.json"
    )
    assert io.manifest_path(tmp_path / "elsewhere.log") is None
    # a G label relative to the subject's G* (simulation.G_relative)
    rel = io.job_manifest("simulate", {"G": "r0.9", "seeds": "1"}, [], None)["provenance"]
    assert rel["G_relative"] == 0.9 and "G" not in rel


def test_read_best_g(tmp_path):
    path = tmp_path / "best_G.tsv"
    path.write_text(
        "model\tpreset\tG\tscore\tn_subjects\n"
        "cmf\tcorrected\t2\t0.3\t7\nhomogeneous\tcorrected\t1.5\t0.2\t7\n"
        "cmf\tpublished\t3\t0.1\t7\n"
    )
    assert io.read_best_g(path, "corrected") == {"cmf": 2.0, "homogeneous": 1.5}
    assert io.read_best_g(path, "other") is None
    path.write_text("model\tpreset\tG\tscore\tn_subjects\n")
    assert io.read_best_g(path, "corrected") is None


def test_job_log_collects_the_package_and_warnings(tmp_path):
    import logging
    import warnings

    path = tmp_path / "logs" / "rule" / "x.log"
    log = io.job_log(path, "rule_x")
    try:
        log.info("from the job")
        logging.getLogger("cmftvb.fitness").info("from the package")
        warnings.warn("a warning", UserWarning, stacklevel=1)
        text = path.read_text()
        assert "INFO from the job" in text and "INFO from the package" in text
        assert "UserWarning: a warning" in text
    finally:
        for name in ("cmftvb.workflow.rule_x", "py.warnings", "cmftvb"):
            for h in list(logging.getLogger(name).handlers):
                if getattr(h, "baseFilename", "") == str(path):
                    logging.getLogger(name).removeHandler(h)
                    h.close()
        logging.captureWarnings(False)
