"""Bad input (issue 5, item 5): every reader refuses malformed input with one clear message.

What tests/test_connectome_formats.py and test_connectome_core.py already cover (garbage bytes
and truncation raise only CmftvbError; named errors of the CSV and zip readers) is not repeated.
This file adds:

- the message contract itself, as a property: one line, naming the file, for generated garbage
  thrown at every reader (including garbage *inside* well-formed zips, .mat and NIfTI files);
- every defect class (NaN, Inf, negative, non-square, wrong shape, ragged, label mismatch) for
  every matrix/BOLD format, NIfTI defects, participants-table defects;
- files the workflow writes and reads back (prepared connectome, network JSON): a corrupt one is
  refused with a message, not a traceback;
- atomic writes: a failed write leaves neither the file nor a temporary file;
- end to end, as a user runs it: a bad participants table, a bad config key or type, a missing
  subject or subject file, and a bad subject file stop the workflow with the one-line message,
  no Python traceback, and no output of the failed step.
"""

from __future__ import annotations

import json
import re
import string
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_determinism import snakemake, study_config

from cmftvb import CmftvbError, datasets, io
from cmftvb.connectome import Connectome, formats, load_any
from cmftvb.network import NetworkSpec

LABELS = ["Precentral_L", "Precentral_R", "Thalamus_L", "Thalamus_R"]
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def one_clear_line(exc: BaseException, path: Path | str) -> None:
    """The message contract of ARCHITECTURE.md "Errors": one line naming the file."""
    msg = str(exc)
    assert "\n" not in msg, f"message on several lines: {msg!r}"
    assert Path(path).name in msg, f"message does not name {Path(path).name}: {msg!r}"


def readers(path: Path) -> dict:
    """Every reader that takes a user file, called on ``path``."""
    return {
        "read_matrix": lambda: formats.read_matrix(path),
        "read_labels": lambda: formats.read_labels(path),
        "read_bold": lambda: formats.read_bold(path),
        "read_bold_n": lambda: formats.read_bold(path, variable="tc", n_nodes=4),
        "read_participants": lambda: formats.read_participants(path),
        "read_parcellation": lambda: formats.read_parcellation(path),
        "read_bold_nifti": lambda: formats.read_bold_nifti(path, path),
        "read_connectome": lambda: formats.read_connectome(path, path, path),
        "read_mrtrix": lambda: formats.read_mrtrix(path, path, LABELS),
        "load_any": lambda: load_any(path),
        "load_npz": lambda: io.load_npz(path),
        "read_json": lambda: io.read_json(path),
    }


def assert_every_reader_clear(path: Path) -> None:
    for name, call in readers(path).items():
        try:
            call()
        except CmftvbError as exc:
            one_clear_line(exc, path)
        except Exception as exc:  # pragma: no cover - the failure this test looks for
            pytest.fail(f"{name}({path.name}) let {type(exc).__name__} escape: {exc}")


# ------------------------------------------------------------------ message contract
MAGIC = [
    b"",
    b"\x93NUMPY\x01\x00",
    b"PK\x03\x04",
    b"MATLAB 5.0 MAT-file",
    b"\x1f\x8b\x08",
    b"\x5c\x01\x00\x00",
    b"participant_id\tage\n",
    b"0,1\n1,0\n",
    b"{",
]
SUFFIXES = [".csv", ".tsv", ".txt", ".npy", ".mat", ".nii", ".nii.gz", ".zip", ".npz", ".json"]


@SETTINGS
@given(magic=st.sampled_from(MAGIC), tail=st.binary(max_size=300), suffix=st.sampled_from(SUFFIXES))
def test_garbage_message_is_one_line_naming_the_file(tmp_path, magic, tail, suffix):
    path = tmp_path / f"subject-07_garbage{suffix}"
    path.write_bytes(magic + tail)
    assert_every_reader_clear(path)


_text = st.text(alphabet=string.digits + ".-+eE,;# \t\nnaifNAIF_LRx", max_size=120)


@SETTINGS
@given(w=_text, ln=_text, c=_text, nested=st.booleans())
def test_garbage_inside_a_wellformed_zip(tmp_path, w, ln, c, nested):
    """A valid archive whose members hold garbage: refused naming the archive (and member)."""
    d = "conn/" if nested else ""
    path = tmp_path / "sub-01_connectome.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{d}weights.txt", w)
        zf.writestr(f"{d}tract_lengths.txt", ln)
        zf.writestr(f"{d}centres.txt", c)
    try:
        Connectome.from_tvb_zip(path)
    except CmftvbError as exc:
        one_clear_line(exc, path)


@SETTINGS
@given(
    value=st.one_of(
        st.floats(),
        st.lists(st.floats(), min_size=1, max_size=12).map(np.array),
        st.just(np.array([["a", "b"]])),
        st.just(np.zeros((2, 3, 4))),
        st.just(np.zeros((0, 5))),
        st.just(np.full((4, 3), np.inf)),
    ),
    name=st.sampled_from(["tc", "sc", "x"]),
)
def test_garbage_inside_a_wellformed_mat(tmp_path, value, name):
    path = tmp_path / "sub-01_bold.mat"
    scipy.io.savemat(path, {name: value})
    for call in (
        lambda: formats.read_bold(path),
        lambda: formats.read_bold(path, variable="tc", n_nodes=4),
    ):
        try:
            call()
        except CmftvbError as exc:
            one_clear_line(exc, path)


@SETTINGS
@given(
    data=st.sampled_from(
        [
            np.full((3, 3, 2, 4), np.nan, np.float32),
            np.full((3, 3, 2, 4), np.inf, np.float32),
            np.zeros((3, 3, 2), np.float32),
            np.zeros((3, 3, 2, 1), np.float32),
            np.full((3, 3, 2), 1.5, np.float32),
            np.zeros((3, 3, 2), np.int16),
            np.zeros((2, 2, 2, 2, 2), np.float32),
        ]
    ),
    affine=st.sampled_from([np.eye(4), np.diag([-1.0, 1.0, 1.0, 1.0]), np.diag([2.0, 2, 2, 1])]),
)
def test_garbage_inside_a_wellformed_nifti(tmp_path, data, affine):
    nib = pytest.importorskip("nibabel")
    path = tmp_path / "sub-01_img.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    good = tmp_path / "sub-01_parc.nii.gz"
    nib.save(
        nib.Nifti1Image((np.arange(18).reshape(3, 3, 2) % 3).astype(np.int16), np.eye(4)), good
    )
    for call in (
        lambda: formats.read_parcellation(path),
        lambda: formats.read_bold_nifti(path, good),
        lambda: formats.read_bold_nifti(good, path),
    ):
        try:
            call()
        except CmftvbError as exc:
            assert "\n" not in str(exc) and ("sub-01_img" in str(exc) or "sub-01_parc" in str(exc))


# ------------------------------------------------------------------ every defect x every format
def _sym(n=4, seed=1):
    a = np.random.default_rng(seed).random((n, n))
    return a + a.T


DEFECTS = {
    "nan": (lambda a: _set(a, (0, 1), np.nan), "non-finite"),
    "inf": (lambda a: _set(a, (2, 3), np.inf), "non-finite"),
    "negative": (lambda a: _set(a, (1, 0), -0.5), "negative"),
    "not_square": (lambda a: a[:, :3], "not square"),
    "wrong_size": (lambda a: _sym(5), "5 x 5|5 labels|labels for 5|4 labels for 5"),
    "one_d": (lambda a: a[0], "2-D|not square|1-D"),
}


def _set(a, ij, v):
    a = a.copy()
    a[ij] = v
    return a


def _write(path: Path, a: np.ndarray) -> Path:
    if path.suffix == ".npy":
        np.save(path, a)
    else:
        sep = {".csv": ",", ".tsv": "\t"}.get(path.suffix, " ")
        rows = np.atleast_2d(a)
        path.write_text("".join(sep.join(repr(float(x)) for x in r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("defect", list(DEFECTS))
@pytest.mark.parametrize("which", ["weights", "lengths"])
@pytest.mark.parametrize(
    "fmt", [".csv", ".tsv", ".txt", ".npy", "mrtrix.csv", "tvb.zip", "prepared.npz"]
)
def test_every_defect_in_every_connectome_format(tmp_path, defect, which, fmt):
    make, message = DEFECTS[defect]
    w, ln = _sym(), 10 * _sym(seed=2)
    if which == "lengths" and defect == "negative":
        message = "negative"
    bad_w, bad_l = (make(w), ln) if which == "weights" else (w, make(ln))
    if fmt == "tvb.zip":
        path = tmp_path / "sub-01.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("weights.txt", _text_matrix(bad_w))
            zf.writestr("tract_lengths.txt", _text_matrix(bad_l))
            zf.writestr("centres.txt", "".join(f"{s} 0 0 0\n" for s in LABELS))
        call, named = (lambda: Connectome.from_tvb_zip(path)), path
    elif fmt == "prepared.npz":
        path = tmp_path / "sub-01.npz"
        arrays = Connectome(w, ln, LABELS).arrays()
        arrays.update(weights=bad_w, tract_lengths=bad_l)
        io.save_npz(path, arrays, {})
        call, named = (lambda: Connectome.load(path)), path
    else:
        suffix = ".csv" if fmt == "mrtrix.csv" else fmt
        wp = _write(tmp_path / f"sub-01_weights{suffix}", bad_w)
        lp = _write(tmp_path / f"sub-01_lengths{suffix}", bad_l)
        (tmp_path / "labels.txt").write_text("\n".join(LABELS) + "\n")
        reader = formats.read_mrtrix if fmt == "mrtrix.csv" else formats.read_connectome
        call = lambda: reader(wp, lp, tmp_path / "labels.txt")  # noqa: E731
        # the weights define N: weights of the wrong size make the lengths mismatch
        named = wp if which == "weights" and defect != "wrong_size" else lp
    with pytest.raises(CmftvbError) as exc:
        call()
    msg = str(exc.value)
    assert "\n" not in msg and named.name in msg, msg
    if not (defect == "wrong_size" and which == "weights"):
        assert re.search(message, msg), msg


def _text_matrix(a):
    return "".join(" ".join(repr(float(x)) for x in r) + "\n" for r in np.atleast_2d(a))


@pytest.mark.parametrize(
    "labels, message",
    [
        (LABELS[:3], "3 labels for 4 regions"),
        (LABELS + ["Extra_L"], "5 labels for 4 regions"),
        (LABELS[:3] + ["Precentral_L"], "duplicate label"),
        (LABELS[:3] + [" "], "empty label|3 labels"),
    ],
)
def test_label_file_mismatch(tmp_path, labels, message):
    wp = _write(tmp_path / "w.csv", _sym())
    lp = _write(tmp_path / "l.csv", 10 * _sym(seed=2))
    (tmp_path / "sub-01_labels.txt").write_text("\n".join(labels) + "\n")
    with pytest.raises(CmftvbError, match=message) as exc:
        formats.read_connectome(wp, lp, tmp_path / "sub-01_labels.txt")
    one_clear_line(exc.value, "sub-01_labels.txt")


# ------------------------------------------------------------------ BOLD
def _bold_tsv(path: Path, x: np.ndarray, header=LABELS) -> Path:
    lines = ["\t".join(header)] if header else []
    lines += ["\t".join(repr(float(v)) for v in row) for row in x]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x: _set(x, (3, 1), np.nan), "non-finite"),
        (lambda x: _set(x, (5, 2), -np.inf), "non-finite"),
        (lambda x: x[:1], "too short"),
        (lambda x: x[:, :3], "no axis of 4 regions"),
    ],
)
@pytest.mark.parametrize("fmt", [".tsv", ".mat", ".npy"])
def test_bold_defects(tmp_path, change, message, fmt):
    x = change(np.random.default_rng(0).normal(size=(40, 4)))  # time x regions
    path = tmp_path / f"sub-01_bold{fmt}"
    if fmt == ".tsv":
        _bold_tsv(path, x, header=LABELS[: x.shape[1]])
    elif fmt == ".mat":
        scipy.io.savemat(path, {"tc": x.T})
    else:
        np.save(path, x.T)
    with pytest.raises(CmftvbError, match=message) as exc:
        formats.read_bold(path, n_nodes=4)
    one_clear_line(exc.value, path)


def test_bold_nifti_defects(tmp_path):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(0)
    parc = np.zeros((4, 3, 2), np.int16)
    parc[:2] = 1
    parc[2:] = 2
    nib.save(nib.Nifti1Image(parc, np.eye(4)), tmp_path / "parc.nii.gz")
    data = rng.normal(size=(4, 3, 2, 10)).astype(np.float32)
    data[1, 1, 1, 4] = np.nan
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "sub-01_bold.nii.gz")
    with pytest.raises(CmftvbError, match="non-finite") as exc:
        formats.read_bold_nifti(tmp_path / "sub-01_bold.nii.gz", tmp_path / "parc.nii.gz")
    one_clear_line(exc.value, "sub-01_bold.nii.gz")
    shifted = np.eye(4)
    shifted[0, 3] = 2.0
    nib.save(nib.Nifti1Image(parc, shifted), tmp_path / "sub-01_parc.nii.gz")
    data[1, 1, 1, 4] = 0.0
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "sub-01_bold.nii.gz")
    with pytest.raises(CmftvbError, match="affine differs") as exc:
        formats.read_bold_nifti(tmp_path / "sub-01_bold.nii.gz", tmp_path / "sub-01_parc.nii.gz")
    one_clear_line(exc.value, "sub-01_parc.nii.gz")
    nib.save(nib.Nifti1Image(parc + 0.5, np.eye(4)), tmp_path / "frac.nii.gz")
    with pytest.raises(CmftvbError, match="integers"):
        formats.read_parcellation(tmp_path / "frac.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros_like(parc), np.eye(4)), tmp_path / "empty.nii.gz")
    with pytest.raises(CmftvbError, match="no labelled voxels"):
        formats.read_parcellation(tmp_path / "empty.nii.gz")


# ------------------------------------------------------------------ participants
@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"participant_id\tage\n\t30\n", "empty participant_id"),
        (b"participant_id\n\x00\x01\x02\n", "binary"),
        (b'participant_id\tage\n"sub-01\t30\n', "participant"),
        (b"subject\tage\nsub-01\t30\n", "no 'participant_id' column"),
        (b"participant_id\nsub-01\n sub-01 \n", "duplicate participant_id 'sub-01'"),
    ],
)
def test_participants_table_defects(tmp_path, content, message):
    path = tmp_path / "participants.tsv"
    path.write_bytes(content)
    with pytest.raises(CmftvbError, match=message) as exc:
        datasets.read_participants(path)
    one_clear_line(exc.value, path)


def test_missing_participant_and_file(tmp_path):
    (tmp_path / "participants.tsv").write_text("participant_id\nsub-01\n")
    table = datasets.read_participants(tmp_path / "participants.tsv")
    with pytest.raises(CmftvbError, match="no participant 'sub-02'"):
        datasets.participant(table, "sub-02")
    with pytest.raises(CmftvbError, match="weights file for participant 'sub-01' not found"):
        datasets.subject_files(tmp_path, "sub-01", {"weights": "{participant_id}/w.csv"})


# ------------------------------------------------------------------ files read back by the workflow
@SETTINGS
@given(
    obj=st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=4),
        lambda ch: (
            st.lists(ch, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "model",
                        "preset",
                        "params",
                        "labels",
                        "roles",
                        "node_model",
                        "projections",
                        "connectome_digest",
                    ]
                ),
                ch,
                max_size=8,
            )
        ),
        max_leaves=25,
    )
)
def test_corrupt_network_json_is_refused(obj):
    """A network specification that is valid JSON of the wrong structure is refused."""
    try:
        NetworkSpec.from_json(json.dumps(obj))
    except CmftvbError as exc:
        assert "\n" not in str(exc) and "network" in str(exc)


def test_corrupt_prepared_connectome_is_refused(tmp_path):
    path = tmp_path / "sub-01.npz"
    Connectome(_sym(), 10 * _sym(seed=2), LABELS).save(path)
    data = path.read_bytes()
    for cut in (10, len(data) // 3, len(data) - 30):
        path.write_bytes(data[:cut])
        with pytest.raises(CmftvbError) as exc:
            Connectome.load(path)
        one_clear_line(exc.value, path)
    arrays = Connectome(_sym(), 10 * _sym(seed=2), LABELS).arrays()
    arrays["roles"] = np.array(["cortex", "cortex", "thalamus", "cerebellum"])
    io.save_npz(path, arrays, {})
    with pytest.raises(CmftvbError, match="roles") as exc:
        Connectome.load(path)
    one_clear_line(exc.value, path)


# ------------------------------------------------------------------ atomic writes
def test_failed_writes_leave_nothing(tmp_path):
    target = tmp_path / "out" / "x.npz"
    with pytest.raises(TypeError):
        io.save_npz(target, {"a": np.zeros(3)}, {"bad": object()})
    with pytest.raises(RuntimeError):
        with io.atomic_path(tmp_path / "out" / "y.tsv") as tmp:
            tmp.write_text("half a table\n")
            raise RuntimeError("killed")
    assert [p.name for p in (tmp_path / "out").iterdir()] == []
    # an existing good file survives a failed rewrite unchanged
    io.write_json(tmp_path / "out" / "z.json", {"ok": 1})
    with pytest.raises(TypeError):
        io.write_json(tmp_path / "out" / "z.json", {"ok": object()})
    assert io.read_json(tmp_path / "out" / "z.json") == {"ok": 1}
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["z.json"]


# ------------------------------------------------------------------ end to end
def no_traceback(output: str) -> None:
    assert "Traceback (most recent call last)" not in output, output[-4000:]
    frames = [ln for ln in output.splitlines() if ln.lstrip().startswith('File "')]
    inner = [ln for ln in frames if "site-packages" in ln or "/src/cmftvb/" in ln]
    assert not inner, f"internal frames shown to the user: {inner}"


def one_line_with(output: str, *needles: str) -> str:
    lines = [ln for ln in output.splitlines() if all(n in ln for n in needles)]
    assert lines, f"no line with {needles} in:\n{output[-4000:]}"
    return lines[0]


@pytest.mark.parametrize(
    "changes, needles",
    [
        ({"simulation": {"duration_s": 60}}, ["simulation.duration_s", "unknown key"]),
        ({"simulation": {"seeds": [1, "two"]}}, ["simulation.seeds", "two"]),
        ({"cohort": {"subjects": ["999999"]}}, ["cohort.subjects", "999999"]),
    ],
    ids=["unknown_key", "wrong_type", "missing_subject"],
)
def test_workflow_bad_config_one_line(tmp_path, changes, needles):
    r = snakemake(tmp_path / "wd", study_config(tmp_path, **changes), "-n")
    assert r.returncode != 0
    one_line_with(r.stdout, *needles)
    no_traceback(r.stdout)
    assert not (tmp_path / "wd" / "results").exists()


def _cohort(root: Path, subjects: dict[str, dict]) -> Path:
    """A user cohort from the demo subject 101309 (94 AAL2 regions): CSV weights and lengths,
    a labels file and a BOLD TSV (time x regions, labels in the header) per subject, with the
    given per-subject edits."""
    demo = datasets.load_demo_subject("101309")
    con = demo.connectome
    rows = ["participant_id\tage"]
    for sid, edit in subjects.items():
        d = root / sid
        d.mkdir(parents=True)
        w = con.weights.copy()
        labels = list(con.labels)
        bold_labels = list(labels)
        if "weights" in edit:
            w = edit["weights"](w)
        if "bold_labels" in edit:
            bold_labels = edit["bold_labels"](bold_labels)
        _write(d / "weights.csv", w)
        _write(d / "lengths.csv", con.tract_lengths)
        (d / "labels.txt").write_text("\n".join(labels) + "\n")
        if not edit.get("no_bold"):
            _bold_tsv(d / "bold.tsv", demo.bold[:, :300].T, header=bold_labels)
        rows.append(f"{sid}\t30")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root / "participants.tsv"


def _cohort_config(tmp_path: Path, table: Path, **cohort):
    files = {
        "connectome": "",
        "weights": "{participant_id}/weights.csv",
        "lengths": "{participant_id}/lengths.csv",
        "labels": "{participant_id}/labels.txt",
        "bold": "{participant_id}/bold.tsv",
        "bold_nifti": "",
        "parcellation": "",
    }
    return study_config(
        tmp_path,
        cohort={
            "source": "participants",
            "participants": str(table),
            "root": "",
            "subjects": [],
            "connectome_format": "matrices",
            "files": files,
            **cohort,
        },
    )


@pytest.mark.slow
def test_workflow_bad_subject_files_fail_their_step_cleanly(tmp_path):
    """Three subjects: NaN in one's weights, BOLD columns of another in a different order than
    its labels, one good. The two bad prepare jobs fail with one line each naming the file;
    they leave no output (and no temporary file); the good subject is prepared."""

    def nan(w):
        w[3, 5] = np.nan
        return w

    def swapped(labels):
        labels[0], labels[1] = labels[1], labels[0]
        return labels

    table = _cohort(
        tmp_path / "cohort",
        {"sub-nan": {"weights": nan}, "sub-swap": {"bold_labels": swapped}, "sub-ok": {}},
    )
    wd = tmp_path / "wd"
    subjects = ("sub-nan", "sub-swap", "sub-ok")
    targets = [f"results/{kind}/{s}.npz" for kind in ("connectomes", "empirical") for s in subjects]
    r = snakemake(wd, _cohort_config(tmp_path, table), "--keep-going", *targets)
    assert r.returncode != 0
    line = one_line_with(r.stdout, "prepare_connectome: error:", "sub-nan")
    assert "weights.csv" in line and "non-finite" in line, line
    # the BOLD is checked where it is prepared (rule prepare_empirical); the connectome is fine
    line = one_line_with(r.stdout, "prepare_empirical: error:", "sub-swap")
    assert "bold.tsv" in line and "label" in line, line
    no_traceback(r.stdout)
    res = wd / "results"
    assert not (res / "connectomes" / "sub-nan.npz").exists()
    assert (res / "connectomes" / "sub-swap.npz").exists()
    for sid in ("sub-nan", "sub-swap"):
        assert not (res / "empirical" / f"{sid}.npz").exists()
    assert (res / "connectomes" / "sub-ok.npz").exists()
    emp, _ = io.load_npz(res / "empirical" / "sub-ok.npz")
    assert emp["bold"].shape == (300, 94), "the good subject's BOLD was not used"
    leftovers = [p for p in res.rglob(".*") if p.is_file()]
    assert not leftovers, leftovers


def test_workflow_bad_participants_table_one_line(tmp_path):
    table = tmp_path / "participants.tsv"
    table.write_text("subject\tage\nsub-01\t30\n")
    r = snakemake(tmp_path / "wd", _cohort_config(tmp_path, table), "-n")
    assert r.returncode != 0
    one_line_with(r.stdout, str(table), "no 'participant_id' column")
    no_traceback(r.stdout)
    assert not (tmp_path / "wd" / "results").exists()


def test_workflow_missing_subject_file_one_line(tmp_path):
    table = _cohort(tmp_path / "cohort", {"sub-01": {"no_bold": True}})
    r = snakemake(tmp_path / "wd", _cohort_config(tmp_path, table), "-n")
    assert r.returncode != 0
    one_line_with(r.stdout, "bold.tsv", "sub-01", "not found")
    no_traceback(r.stdout)
    assert not (tmp_path / "wd" / "results").exists()


# ------------------------------------------------ one rule for "a weight but no tract length"
def test_weight_without_length_same_rule_for_csv_and_zip(tmp_path, sample_zip):
    """The sample subject's matrices are accepted as CSV exactly as in its TVB zip: the 56
    weighted connections with a zero tract length get a zero delay in both (issue 14)."""
    from cmftvb.connectome import validate

    zc = Connectome.from_tvb_zip(sample_zip)
    np.savetxt(tmp_path / "w.csv", zc.weights, delimiter=",", fmt="%.17g")
    np.savetxt(tmp_path / "l.csv", zc.tract_lengths, delimiter=",", fmt="%.17g")
    (tmp_path / "labels.txt").write_text("\n".join(zc.labels) + "\n")
    cc = formats.read_connectome(tmp_path / "w.csv", tmp_path / "l.csv", tmp_path / "labels.txt")
    np.testing.assert_array_equal(cc.weights, zc.weights)
    np.testing.assert_array_equal(cc.tract_lengths, zc.tract_lengths)
    # counted independently of the validator: off-diagonal, weight > 0, length == 0
    n = zc.weights.shape[0]
    hand = sum(
        1
        for i in range(n)
        for j in range(n)
        if i != j and zc.weights[i, j] != 0 and zc.tract_lengths[i, j] == 0
    )
    assert hand == 56
    assert validate.weights_without_length(cc.weights, cc.tract_lengths) == hand
    assert validate.weights_without_length(zc.weights, zc.tract_lengths) == hand


def test_lengths_missing_everywhere_refused(tmp_path):
    from cmftvb.connectome import validate

    w = np.ones((4, 4))
    with pytest.raises(CmftvbError) as exc:
        validate.tract_lengths(np.zeros((4, 4)), "l.csv", 4, w)
    assert str(exc.value) == (
        "l.csv: no tract length at any of the 12 weighted connections (the lengths are"
        " missing: give a lengths matrix in mm)"
    )
    # one zero length among positive ones is accepted (zero delay)
    lengths = np.ones((4, 4))
    lengths[0, 1] = 0.0
    validate.tract_lengths(lengths, "l.csv", 4, w)
    assert validate.weights_without_length(w, lengths) == 1


def _read_as(kind: str, folder: Path, w: np.ndarray, lengths: np.ndarray) -> Connectome:
    """Write ``w``/``lengths`` (LABELS) in one input format, by hand (not through Connectome,
    which validates), and read them back with that format's reader."""
    folder.mkdir()
    if kind == "csv":
        _write(folder / "w.csv", w)
        _write(folder / "l.csv", lengths)
        (folder / "labels.txt").write_text("\n".join(LABELS) + "\n")
        return formats.read_connectome(folder / "w.csv", folder / "l.csv", folder / "labels.txt")
    if kind == "tvb_zip":
        text = {
            "weights.txt": "".join(" ".join(repr(float(x)) for x in r) + "\n" for r in w),
            "tract_lengths.txt": "".join(
                " ".join(repr(float(x)) for x in r) + "\n" for r in lengths
            ),
            "centres.txt": "".join(f"{lab} 0 0 0\n" for lab in LABELS),
        }
        with zipfile.ZipFile(folder / "c.zip", "w") as zf:
            for name, body in text.items():
                zf.writestr(name, body)
        return Connectome.from_tvb_zip(folder / "c.zip")
    io.save_npz(
        folder / "c.npz", {"weights": w, "tract_lengths": lengths, "labels": np.array(LABELS)}, {}
    )
    return Connectome.load(folder / "c.npz")


@pytest.mark.parametrize("where_zero", ["one", "every"])
def test_weight_without_length_same_verdict_in_every_format(tmp_path, where_zero):
    """One rule for CSV, TVB zip and a prepared .npz (issue 14): a zero length at one weighted
    connection is accepted with the same count everywhere; zero lengths at every weighted
    connection are refused everywhere with the same message (the zip reader used to accept
    them, giving every connection a zero delay)."""
    from cmftvb.connectome import validate

    w = _sym()
    lengths = 10 * _sym(seed=2)
    if where_zero == "one":
        lengths[0, 1] = 0.0
    else:
        lengths[:] = 0.0
    verdicts = {}
    for kind in ("csv", "tvb_zip", "npz"):
        try:
            con = _read_as(kind, tmp_path / kind, w, lengths)
        except CmftvbError as exc:
            one_clear_line(exc, {"csv": "l.csv", "tvb_zip": "c.zip", "npz": "c.npz"}[kind])
            # the file's name, then (zip) the member's, then the verdict
            verdicts[kind] = "refused: " + re.sub(r"^\S+: (tract_lengths\.txt: )?", "", str(exc))
        else:
            np.testing.assert_array_equal(con.tract_lengths, lengths)
            verdicts[kind] = (
                f"accepted, {validate.weights_without_length(con.weights, con.tract_lengths)}"
            )
    expected = (
        "accepted, 1"
        if where_zero == "one"
        else "refused: no tract length at any of the 12 weighted connections (the lengths are"
        " missing: give a lengths matrix in mm)"
    )
    assert verdicts == {"csv": expected, "tvb_zip": expected, "npz": expected}


# ------------------------------------------------ prewired connectomes
def test_prewired_sample_detected_and_prewiring_it_again_refused(sample_zip):
    from cmftvb.connectome import prewire, validate

    con = Connectome.from_tvb_zip(sample_zip)
    assert validate.looks_prewired(con.weights, con.roles)
    with pytest.raises(CmftvbError) as exc:
        validate.refuse_prewiring_twice(con.weights, con.roles, str(sample_zip))
    assert "already carries a prewired cerebellum" in str(exc.value)
    assert "connectome.prewired: true" in str(exc.value)
    one_clear_line(exc.value, sample_zip)
    # the same connectome with its DCN -> cortex feedback changed is no longer "prewired"
    r = np.asarray(con.roles)
    w = con.weights.copy()
    ctx = np.isin(r, ["crbl_hemisphere", "crbl_vermis"])
    w[np.ix_(ctx, r == "dcn")] *= 2.0
    assert not validate.looks_prewired(w, con.roles)
    assert prewire.FEEDBACK == 0.1  # the relation looks_prewired relies on


def test_demo_subject_is_not_prewired():
    from cmftvb.connectome import validate

    con = datasets.load_demo_subject("101309").connectome  # no cerebellum at all
    assert not validate.looks_prewired(con.weights, con.roles)
