"""Provenance (issue 5, item 7): every output of the tiny study says where it came from.

For every result file of one run of the test study (the session's shared run; logs and
benchmarks are not results) a provenance record must be found: inside the file for ``.npz``
(``meta["provenance"]``) and ``.json`` (key ``provenance``), and for every output of every job
in the job's provenance manifest ``results/provenance/<rule>/<wildcards>.json``, which lists the
job's outputs with their sha256 (so the record is tied to the exact bytes) and the record.

A record holds the config digest, which must equal the digest of the effective config computed
here independently (config.yaml, the run's --configfile merged over it, schema defaults filled
in, as the Snakefile does); the versions of the packages that computed it, equal to the
installed ones; the git commit of the code (a commit of this repository); and, where the file
belongs to one subject or seed(s), those, equal to the ones in its path.
"""

from __future__ import annotations

import json
import platform
import re
import socket
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from test_determinism import ROOT, completed_study

from cmftvb import io
from cmftvb.models.presets import merged

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
PACKAGES = ("cmftvb", "numpy", "scipy", "numba", "tvb-library", "snakemake", "pandas")


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """The session's shared uninterrupted run of the test study (test_determinism)."""
    return completed_study(tmp_path_factory)


def effective_config(configfile: Path) -> dict:
    """The config a run used: config.yaml, the --configfile over it, schema defaults."""
    from snakemake.utils import validate

    cfg = merged(
        yaml.safe_load((ROOT / "config.yaml").read_text()), yaml.safe_load(configfile.read_text())
    )
    validate(cfg, str(SCHEMA), set_default=True)
    return cfg


def is_commit_of_this_repo(commit: str) -> bool:
    if not re.fullmatch(r"[0-9a-f]{40}", commit or ""):
        return False
    r = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return r.returncode == 0


def manifests(results: Path) -> dict[str, dict]:
    """Output path (relative to results/) -> its entry in the job provenance manifests."""
    out: dict[str, dict] = {}
    for m in sorted((results / "provenance").rglob("*.json")):
        record = json.loads(m.read_text())
        for entry in record.get("outputs", []):
            if not Path(entry["path"]).is_relative_to("results"):
                continue  # e.g. the sample download under resources/
            rel = str(Path(entry["path"]).relative_to("results"))
            assert rel not in out, f"{rel} is listed by two manifests"
            out[rel] = {**entry, "provenance": record.get("provenance"), "manifest": m}
    return out


def embedded(path: Path) -> dict | None:
    if path.suffix == ".npz":
        return io.load_npz(path)[1].get("provenance")
    if path.suffix == ".json":
        return json.loads(path.read_text()).get("provenance")
    return None


def check_record(rel: str, rec: dict | None, digest: str) -> None:
    assert isinstance(rec, dict), f"{rel}: no provenance record"
    assert rec.get("config_digest") == digest, f"{rel}: config digest {rec.get('config_digest')}"
    pk = rec.get("packages", {})
    for name in PACKAGES:
        assert pk.get(name) == metadata.version(name), f"{rel}: {name} {pk.get(name)}"
    assert is_commit_of_this_repo(rec.get("git_commit")), f"{rel}: git {rec.get('git_commit')}"
    assert rec.get("python") == platform.python_version()
    # subject / seed(s) of the file, from its path
    parts = Path(rel).parts
    if len(parts) > 1 and parts[0] in ("simulations", "signals", "fitness", "networks"):
        assert str(rec.get("subject")) == parts[1], f"{rel}: subject {rec.get('subject')}"
    m = re.search(r"/seeds([0-9_]+)\.", rel)
    if m:
        assert rec.get("seed") == [int(s) for s in m.group(1).split("_")], f"{rel}: seed"
    m = re.search(r"/seed([0-9]+)\.", rel)
    if m:
        assert rec.get("seed") == int(m.group(1)), f"{rel}: seed {rec.get('seed')}"


@pytest.mark.slow
def test_every_output_records_its_provenance(tiny_study):
    digest = io.digest(effective_config(tiny_study.config))
    outputs = {
        rel: p for rel, p in tiny_study.outputs().items() if not rel.startswith("provenance/")
    }
    assert outputs
    listed = manifests(tiny_study.results)
    problems = []
    for rel, path in outputs.items():
        try:
            inner = embedded(path)
            if path.suffix in (".npz", ".json"):
                check_record(rel, inner, digest)
            entry = listed.get(rel)
            assert entry is not None, f"{rel}: in no job provenance manifest"
            assert entry.get("sha256") == io.sha256_file(path), f"{rel}: sha256 in manifest"
            check_record(rel, entry["provenance"], digest)
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    assert not problems, f"{len(problems)} of {len(outputs)} outputs:\n" + "\n".join(problems)
    stale = sorted(set(listed) - set(outputs))
    assert not stale, f"manifests list files that do not exist: {stale}"


def test_provenance_record_is_reproducible_and_complete(tmp_path):
    """Two records of one config are equal (no time stamps, host names or paths) and hold
    what the issue asks for."""
    cfg = {"study": "x", "simulation": {"seeds": [1, 2]}}
    a = io.provenance(cfg, seed=[1, 2], subject="s01")
    b = io.provenance(dict(reversed(list(cfg.items()))), seed=[1, 2], subject="s01")
    assert a == b
    assert a["config_digest"] == io.digest(cfg) != io.digest({**cfg, "study": "y"})
    assert set(PACKAGES) <= set(a["packages"])
    assert is_commit_of_this_repo(a["git_commit"])
    text = json.dumps(a)
    assert socket.gethostname() not in text and str(tmp_path) not in text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), "time stamp in provenance"


def test_effective_config_digest_is_key_order_free(tmp_path):
    """The digest the test expects does not depend on how the config file is written."""
    cfg = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    p1, p2 = tmp_path / "a.yaml", tmp_path / "b.yaml"
    p1.write_text(yaml.safe_dump(cfg, sort_keys=True))
    p2.write_text(yaml.safe_dump(dict(reversed(list(cfg.items()))), sort_keys=False))
    assert io.digest(effective_config(p1)) == io.digest(effective_config(p2))
    cfg["simulation"]["seeds"] = [3]
    p2.write_text(yaml.safe_dump(cfg))
    assert io.digest(effective_config(p1)) != io.digest(effective_config(p2))
