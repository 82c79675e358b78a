"""Security (issue 5, item 6): safe zips, constrained identifiers, verified downloads, no code
from config.

- Every zip reader (:func:`read_zip_members`, :meth:`Connectome.from_tvb_zip`, :func:`load_any`)
  refuses members that could escape a folder (``..``, absolute, drive, UNC, backslash paths),
  links and ambiguous (duplicate) members; ``.npz``/``.npy`` never unpickle.
- Values that become file paths (subject ids, wildcards) are constrained before any path is
  built: the workflow's ``wildcard_constraints`` cover every wildcard of every rule, and a
  participants table with ``../../etc`` or ``a/b`` stops the workflow with one line.
- Downloads are verified by sha256 before use; a tampered file never stays at the destination
  and the prepared sample zip is checked again before it is read.
- Nothing in a config is evaluated: no eval/exec/unsafe loaders in the code (AST check), YAML
  tags are not executed, and Python-looking config values stay strings or fail validation.
"""

from __future__ import annotations

import ast
import functools
import http.server
import pickle
import re
import stat
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_determinism import ROOT, snakemake, study_config

from cmftvb import CmftvbError, datasets
from cmftvb.connectome import Connectome, load_any, read_zip_members

GOOD = {
    "weights.txt": "0 1\n1 0\n",
    "tract_lengths.txt": "0 5\n5 0\n",
    "centres.txt": "Precentral_L 1 2 3\nPrecentral_R -1 2 3\n",
}

ZIP_READERS = {
    "read_zip_members": read_zip_members,
    "from_tvb_zip": Connectome.from_tvb_zip,
    "load_any": load_any,
}

UNSAFE_NAMES = [
    "../weights.txt",
    "a/../../weights.txt",
    "/etc/weights.txt",
    "//server/share/weights.txt",
    "C:/weights.txt",
    "C:weights.txt",
    "..\\weights.txt",
    "a\\..\\..\\weights.txt",
    "\\weights.txt",
]


def _zip(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            if isinstance(data, zipfile.ZipInfo):
                zf.writestr(data, b"weights.txt")
            else:
                info = zipfile.ZipInfo(name)
                zf.writestr(info, data)
    return path


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# ------------------------------------------------------------------ zips
@pytest.mark.parametrize("reader", list(ZIP_READERS))
@pytest.mark.parametrize("bad", UNSAFE_NAMES)
def test_zip_unsafe_member_refused_by_every_reader(tmp_path, reader, bad):
    inner = tmp_path / "in" / "deeper"
    inner.mkdir(parents=True)
    z = _zip(inner / "c.zip", {**GOOD, bad: "0 9\n9 0\n"})
    before = _tree(tmp_path)
    with pytest.raises(CmftvbError, match="unsafe member path") as exc:
        ZIP_READERS[reader](z)
    assert "c.zip" in str(exc.value) and "\n" not in str(exc.value)
    assert _tree(tmp_path) == before  # nothing extracted anywhere


@pytest.mark.parametrize("reader", list(ZIP_READERS))
def test_zip_symlink_member_refused_by_every_reader(tmp_path, reader):
    link = zipfile.ZipInfo("centres.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = _zip(tmp_path / "c.zip", {"weights.txt": GOOD["weights.txt"], "l": link})
    with pytest.raises(CmftvbError, match="symbolic link"):
        ZIP_READERS[reader](z)


@pytest.mark.parametrize("reader", list(ZIP_READERS))
def test_zip_duplicate_member_refused(tmp_path, reader):
    """Two members with one name: tools disagree on which one counts, so neither is used."""
    z = _zip(tmp_path / "c.zip", GOOD)
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(z, "a") as zf:
            zf.writestr("weights.txt", "0 7\n7 0\n")
    with pytest.raises(CmftvbError, match="duplicate member 'weights.txt'") as exc:
        ZIP_READERS[reader](z)
    assert "c.zip" in str(exc.value)


class _Payload:
    """Unpickling this touches a marker file: proof that a pickle was executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_npy_and_npz_never_unpickle(tmp_path):
    from cmftvb import io
    from cmftvb.connectome import formats

    marker = tmp_path / "PWNED"
    obj = np.empty(1, dtype=object)
    obj[0] = _Payload(marker)
    np.save(tmp_path / "w.npy", obj, allow_pickle=True)
    with open(tmp_path / "c.npz", "wb") as f:
        np.savez(f, weights=obj, tract_lengths=obj, labels=obj, meta=np.array("{}"))
    assert pickle.loads(pickle.dumps(obj[0])) is None and marker.exists()  # the payload works
    marker.unlink()
    with pytest.raises(CmftvbError, match="w.npy"):
        formats.read_matrix(tmp_path / "w.npy")
    for call in (lambda: load_any(tmp_path / "c.npz"), lambda: io.load_npz(tmp_path / "c.npz")):
        with pytest.raises(CmftvbError, match="c.npz"):
            call()
    assert not marker.exists()


# ------------------------------------------------------------------ identifiers and wildcards
def _package_patterns() -> dict[str, str]:
    """Wildcard patterns the workflow takes from the package (workflow/rules/config.smk),
    rebuilt here the same way from the same package names."""
    from cmftvb import datasets, gstar
    from cmftvb.models.presets import PRESETS
    from cmftvb.network import MODELS

    return {
        "SUBJECT_RE": datasets.PARTICIPANT_ID.pattern,
        "VARIANT_RE": "|".join(map(re.escape, MODELS)),
        "PRESET_RE": "|".join(map(re.escape, PRESETS)),
        "gstar.G_LABEL_RE": gstar.G_LABEL_RE,
    }


_PACKAGE_PATTERNS = _package_patterns()


def _global_constraints() -> dict[str, str]:
    """The top-level `wildcard_constraints:` blocks of the workflow, as name -> regex."""
    out = {}
    for f in _rule_files():
        for block in re.finditer(r"^wildcard_constraints:\n((?:[ \t]+.*\n)+)", f.read_text(), re.M):
            for line in block.group(1).splitlines():
                m = re.match(r"\s*(\w+)\s*=\s*(.+?),?\s*$", line)
                if m:
                    value = m.group(2).rstrip(",")
                    out[m.group(1)] = (
                        _PACKAGE_PATTERNS[value]
                        if value in _PACKAGE_PATTERNS
                        else ast.literal_eval(value)
                    )
    assert out, "the workflow has no global wildcard_constraints block"
    return out


def _rule_files() -> list[Path]:
    return [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


def _rule_constraints() -> dict[str, str]:
    """The `wildcard_constraints:` blocks inside rules (literal patterns), as name -> regex."""
    out = {}
    for f in _rule_files():
        text = f.read_text()
        blocks = r"^([ \t]+)wildcard_constraints:\n((?:\1[ \t]+.*\n)+)"
        for block in re.finditer(blocks, text, re.M):
            for line in block.group(2).splitlines():
                m = re.match(r"\s*(\w+)\s*=\s*(\".*\"),?\s*$", line)
                if m:
                    out[m.group(1)] = ast.literal_eval(m.group(2))
    return out


def test_every_wildcard_is_constrained_and_cannot_escape():
    constraints = {**_rule_constraints(), **_global_constraints()}
    used = set()
    for f in _rule_files():
        text = f.read_text()
        # wildcards in f-strings ({{name}}) and in plain strings ("{name}") of rule outputs;
        # skip Python format fields of f-strings (single braces inside f"...").
        used |= set(re.findall(r"\{\{(\w+)(?:,[^}]*)?\}\}", text))
        for s in re.findall(r'(?<![fF])"(results/[^"]*)"', text):
            used |= set(re.findall(r"\{(\w+)(?:,[^}]*)?\}", s))
    assert used, "no wildcards found: the parser of this test is out of date"
    unconstrained = sorted(used - set(constraints))
    assert not unconstrained, f"wildcards without a global constraint: {unconstrained}"
    escapes = ["..", ".", "a/b", "../../etc", "/etc", "a\\b", "", "a b", "s01\n"]
    for name, regex in constraints.items():
        for bad in escapes:
            assert not re.fullmatch(regex, bad), f"wildcard {name} accepts {bad!r}"


BAD_IDS = ["../../etc", "a/b", ".."]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_unsafe_participant_id_stops_workflow_before_any_path(tmp_path, bad):
    table = tmp_path / "participants.tsv"
    table.write_text(f"participant_id\tage\nsub-01\t30\n{bad}\t31\n")
    cfg = study_config(
        tmp_path, cohort={"source": "participants", "participants": str(table), "subjects": []}
    )
    wd = tmp_path / "wd"
    r = snakemake(wd, cfg, "-n")
    assert r.returncode != 0
    lines = [ln for ln in r.stdout.splitlines() if f"subject id {bad!r}" in ln]
    assert len(lines) == 1 and str(table) in lines[0], r.stdout
    assert "Traceback (most recent call last)" not in r.stdout
    assert not (wd / "results").exists() and not (tmp_path / "etc").exists()


def test_unsafe_target_matches_no_rule(tmp_path):
    """Asking for a path outside the constrained layout finds no rule to write it."""
    cfg = study_config(tmp_path)
    wd = tmp_path / "wd"
    for target in ("results/connectomes/a/b.npz", "results/networks/../x/cmf-corrected.json"):
        r = snakemake(wd, cfg, "-n", target)
        assert r.returncode != 0, r.stdout
        assert "MissingRuleException" in r.stdout or "No rule to produce" in r.stdout, r.stdout
    assert not (wd / "results").exists()


def test_subject_file_patterns_are_not_format_code(tmp_path):
    """A file pattern may use only {participant_id}/{subject}: no attribute or index access."""
    (tmp_path / "s01").mkdir()
    (tmp_path / "s01" / "w.csv").write_text("0")
    ok = datasets.subject_files(tmp_path, "s01", {"weights": "{participant_id}/w.csv"})
    assert ok["weights"] == tmp_path / "s01" / "w.csv"
    for pattern in (
        "{participant_id.__class__}/w.csv",
        "{participant_id.__class__.__mro__[1].__subclasses__}/w.csv",
        "{participant_id[0]}01/w.csv",
        "{participant_id!r}/w.csv",
        "{participant_id:>3}/w.csv",
    ):
        with pytest.raises(CmftvbError, match="placeholder") as exc:
            datasets.subject_files(tmp_path, "s01", {"weights": pattern})
        assert "weights" in str(exc.value)
    for bad_id in ("../s01", "s01/../s01", "/tmp"):
        with pytest.raises(CmftvbError, match="participant"):
            datasets.subject_files(tmp_path, bad_id, {"weights": "{participant_id}/w.csv"})


# ------------------------------------------------------------------ downloads
@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server for the folder ``tmp_path / 'srv'``."""
    root = tmp_path / "srv"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_tampered_is_rejected_and_leaves_nothing(tmp_path, server):
    import hashlib

    root, url = server
    good = b"the real archive\n" * 100
    want = hashlib.sha256(good).hexdigest()
    (root / "f.zip").write_bytes(good[:-1] + b"X")  # tampered on the server
    dest = tmp_path / "out" / "f.zip"
    with pytest.raises(CmftvbError, match="sha256 mismatch") as exc:
        datasets.download(f"{url}/f.zip", dest, want)
    assert "f.zip" in str(exc.value)
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []
    # a tampered copy already at the destination is not trusted, and not left behind
    dest.parent.mkdir(exist_ok=True)
    dest.write_bytes(b"tampered")
    with pytest.raises(CmftvbError, match="sha256 mismatch"):
        datasets.download(f"{url}/f.zip", dest, want)
    assert list(dest.parent.iterdir()) == []
    # the genuine file is accepted
    (root / "f.zip").write_bytes(good)
    assert datasets.download(f"{url}/f.zip", dest, want).read_bytes() == good


def test_workflow_checks_sample_checksum_before_use(tmp_path, sample_zip):
    """A sample zip already under resources/ is verified before prepare_connectome reads it:
    the tampered copy (one weight changed, still a valid zip) is refused, nothing is written."""
    wd = tmp_path / "wd"
    dest = wd / "resources" / "sample-103818" / "SC_dirCB.zip"
    dest.parent.mkdir(parents=True)
    members = read_zip_members(sample_zip)
    name = next(n for n in members if n.rsplit("/", 1)[-1].startswith("weights"))
    text = members[name].decode()
    members[name] = text.replace("0", "1", 1).encode()
    with zipfile.ZipFile(dest, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    Connectome.from_tvb_zip(dest)  # still a well-formed connectome: only the checksum tells
    cfg = study_config(
        tmp_path,
        cohort={"source": "sample", "subjects": []},
        connectome={"prewired": True},
    )
    r = snakemake(wd, cfg, "results/connectomes/103818.npz")
    assert r.returncode != 0
    assert "sha256" in r.stdout and "SC_dirCB.zip" in r.stdout, r.stdout[-3000:]
    assert not (wd / "results" / "connectomes" / "103818.npz").exists()
    assert not (wd / "results" / "empirical" / "103818.npz").exists()


# ------------------------------------------------------------------ config is data
#: Calls that run code from data, or load data with code in it.
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "execfile"}
FORBIDDEN_ATTRS = {
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
    ("yaml", "full_load"),
    ("yaml", "load_all"),
    ("pickle", "load"),
    ("pickle", "loads"),
    ("os", "system"),
    ("os", "popen"),
    ("marshal", "loads"),
}


def _python_sources() -> list[Path]:
    files = sorted((ROOT / "src" / "cmftvb").rglob("*.py")) + sorted(
        (ROOT / "scripts").glob("*.py")
    )
    assert len(files) > 20
    return files


def _forbidden_calls(tree: ast.AST) -> list[str]:
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in FORBIDDEN_CALLS:
            bad.append(f.id)
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            if (f.value.id, f.attr) in FORBIDDEN_ATTRS:
                bad.append(f"{f.value.id}.{f.attr}")
        for kw in node.keywords:
            if kw.arg in ("shell", "allow_pickle") and not (
                isinstance(kw.value, ast.Constant) and kw.value.value is False
            ):
                bad.append(f"{kw.arg}=...")
    return bad


def test_no_code_evaluation_in_python_sources():
    found = {}
    for f in _python_sources():
        bad = _forbidden_calls(ast.parse(f.read_text(), str(f)))
        if bad:
            found[str(f.relative_to(ROOT))] = bad
    assert not found, f"code evaluation or unsafe loading: {found}"
    # the checker itself finds what it must find
    probe = "eval(x)\nyaml.load(s)\nnp.load(p, allow_pickle=True)\nsubprocess.run(c, shell=True)"
    assert len(_forbidden_calls(ast.parse(probe))) == 4


def test_no_code_evaluation_in_workflow_files():
    """Snakemake files: no eval/exec, and no shell: directive that splices config or params
    into a command line (a config string would become shell code)."""
    for f in _rule_files():
        text = f.read_text()
        code = "\n".join(ln.split("#", 1)[0] for ln in text.splitlines())
        assert not re.search(r"\b(eval|exec|__import__)\s*\(", code), f
        assert not re.search(r"yaml\.(unsafe_)?load\(|pickle\.loads?\(", code), f
        for m in re.finditer(r"^\s*shell:\s*\n((?:\s+.*\n)+)", code, re.M):
            assert not re.search(r"\{(config|params)", m.group(1)), f"{f}: {m.group(1)}"


PAYLOAD = "__import__('os').system('touch {marker}')"


def test_config_yaml_tags_are_not_executed(tmp_path):
    marker = tmp_path / "PWNED"
    cfg = tmp_path / "evil.yaml"
    cfg.write_text(f'study: !!python/object/apply:os.system ["touch {marker}"]\n')
    r = snakemake(tmp_path / "wd", study_config(tmp_path), "-n", extra_configs=[cfg])
    assert r.returncode != 0
    assert not marker.exists()


def test_python_looking_config_values_stay_data(tmp_path):
    """A config string that is Python code is never run: where a key is constrained it fails
    validation with one line naming the key; where it is passed on as data (a preset override)
    it is parsed as data and refused for its type by the job that uses it."""
    marker = tmp_path / "PWNED"
    code = PAYLOAD.format(marker=marker)
    r = snakemake(tmp_path / "wd0", study_config(tmp_path, study=code), "-n")
    assert r.returncode != 0
    assert [ln for ln in r.stdout.splitlines() if "config key 'study'" in ln], r.stdout[-3000:]
    assert not (tmp_path / "wd0" / "results").exists()
    wd = tmp_path / "wd"
    cfg = study_config(
        tmp_path, network={"overrides": {"wongwang.J_N": code}}, cohort={"subjects": ["101309"]}
    )
    r = snakemake(wd, cfg, "results/networks/101309/homogeneous-corrected.json")
    assert r.returncode != 0
    # refused when the config is loaded (cmftvb.config), before any job runs
    errors = [ln for ln in r.stdout.splitlines() if "config key 'network.overrides" in ln]
    assert len(errors) == 1 and "wongwang.J_N" in errors[0], r.stdout[-3000:]
    assert "expected float" in errors[0] and "__import__" in errors[0]
    assert not (wd / "results" / "networks" / "101309" / "homogeneous-corrected.json").exists()
    assert not marker.exists()
