"""Connectome container, .npz / TVB zip round trips, and safe zip reading."""

import stat
import zipfile

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.connectome import Connectome, load_any, read_zip_members


def small(n=4, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.random((n, n))
    np.fill_diagonal(w, 0)
    ln = 10 + 50 * rng.random((n, n))
    labels = ["Precentral_L", "Precentral_R", "Thalamus_L", "Left_Dentate"][:n]
    return Connectome(w, ln, labels, centres=rng.normal(size=(n, 3)), meta={"source": "t"})


def test_roles_default_from_labels():
    c = small()
    assert c.roles.tolist() == ["cortex", "cortex", "thalamus", "dcn"]
    assert c.volumes.shape == (4,) and np.isnan(c.volumes).all()
    assert c.has_empirical.dtype == bool and not c.has_empirical.any()


def test_npz_round_trip(tmp_path):
    c = small()
    c.meta["x"] = [1, 2]
    c.save(tmp_path / "c.npz")
    d = Connectome.load(tmp_path / "c.npz")
    for k, v in c.arrays().items():
        np.testing.assert_array_equal(v, d.arrays()[k])
    assert d.meta["x"] == [1, 2]
    assert d.digest() == c.digest()
    assert load_any(tmp_path / "c.npz").digest() == c.digest()


def test_tvb_zip_round_trip_exact(tmp_path):
    c = small()
    c.to_tvb_zip(tmp_path / "c.zip")
    d = Connectome.from_tvb_zip(tmp_path / "c.zip")
    np.testing.assert_array_equal(d.weights, c.weights)
    np.testing.assert_array_equal(d.tract_lengths, c.tract_lengths)
    np.testing.assert_array_equal(d.centres, c.centres)
    assert d.labels.tolist() == c.labels.tolist()


def test_tvb_zip_readable_by_tvb_library(tmp_path):
    """Our zip is a TVB connectivity: tvb-library reads the same arrays."""
    tvb_conn = pytest.importorskip("tvb.datatypes.connectivity")
    c = small()
    c.to_tvb_zip(tmp_path / "c.zip")
    t = tvb_conn.Connectivity.from_file(str(tmp_path / "c.zip"))
    np.testing.assert_allclose(t.weights, c.weights, rtol=1e-15)
    np.testing.assert_allclose(t.tract_lengths, c.tract_lengths, rtol=1e-15)
    assert list(t.region_labels) == c.labels.tolist()


def test_sample_subject_loads(sample_zip):
    c = load_any(sample_zip)
    assert c.n == 126
    assert c.weights.max() == 1.0  # MODEL.md §7: normalised to a maximum of 1
    assert not np.allclose(c.weights, c.weights.T)  # MODEL.md §7: not symmetric
    assert c.labels[0] == "Precentral_L" and c.labels[-1] == "Right_X"


def test_sample_subject_agrees_with_tvb_library(sample_zip):
    tvb_conn = pytest.importorskip("tvb.datatypes.connectivity")
    t = tvb_conn.Connectivity.from_file(str(sample_zip))
    c = load_any(sample_zip)
    np.testing.assert_array_equal(c.weights, t.weights)
    np.testing.assert_array_equal(c.tract_lengths, t.tract_lengths)
    np.testing.assert_array_equal(c.centres, t.centres)
    assert c.labels.tolist() == list(t.region_labels)


def test_load_any_errors(tmp_path):
    with pytest.raises(CmftvbError, match="not found"):
        load_any(tmp_path / "nope.zip")
    (tmp_path / "c.h5").write_bytes(b"x")
    with pytest.raises(CmftvbError, match="unknown connectome format"):
        load_any(tmp_path / "c.h5")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(CmftvbError, match="bad.npz"):
        load_any(tmp_path / "bad.npz")


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            if isinstance(data, zipfile.ZipInfo):
                zf.writestr(data, b"target")
            else:
                zf.writestr(name, data)


GOOD = {
    "weights.txt": "0 1\n1 0\n",
    "tract_lengths.txt": "0 5\n5 0\n",
    "centres.txt": "A_L 1 2 3\nA_R -1 2 3\n",
}


@pytest.mark.parametrize("bad", ["../weights.txt", "/etc/weights.txt", "a/../../x.txt", "C:x.txt"])
def test_zip_path_traversal_refused(tmp_path, bad):
    _zip(tmp_path / "z.zip", {**GOOD, bad: "0"})
    with pytest.raises(CmftvbError, match="unsafe member path"):
        Connectome.from_tvb_zip(tmp_path / "z.zip")
    assert not (tmp_path.parent / "weights.txt").exists()


def test_zip_symlink_refused(tmp_path):
    link = zipfile.ZipInfo("centres.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    _zip(tmp_path / "z.zip", {"weights.txt": GOOD["weights.txt"], "l": link})
    with pytest.raises(CmftvbError, match="symbolic link"):
        read_zip_members(tmp_path / "z.zip")


def test_zip_size_limits(tmp_path):
    _zip(tmp_path / "z.zip", {**GOOD, "big.txt": "0" * 5000})
    with pytest.raises(CmftvbError, match="too large"):
        read_zip_members(tmp_path / "z.zip", max_member_bytes=4000)
    with pytest.raises(CmftvbError, match="too large"):
        read_zip_members(tmp_path / "z.zip", max_total_bytes=4000)
    with pytest.raises(CmftvbError, match="too many members"):
        read_zip_members(tmp_path / "z.zip", max_members=2)


def test_zip_corrupt_truncated_missing(tmp_path, sample_zip):
    data = sample_zip.read_bytes()
    (tmp_path / "t.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(CmftvbError, match="t.zip"):
        Connectome.from_tvb_zip(tmp_path / "t.zip")
    _zip(tmp_path / "m.zip", {"weights.txt": GOOD["weights.txt"]})
    with pytest.raises(CmftvbError, match="no tract_lengths"):
        Connectome.from_tvb_zip(tmp_path / "m.zip")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"weights.txt": "0 1 2\n1 0 2\n"}, "not square"),
        ({"weights.txt": "0 nan\n1 0\n"}, "non-finite"),
        ({"weights.txt": "0 -1\n1 0\n"}, "negative"),
        ({"weights.txt": "0 1\n1\n"}, "ragged"),
        ({"tract_lengths.txt": "0 5 1\n5 0 1\n1 1 0\n"}, "does not match"),
        ({"centres.txt": "A_L 1 2 3\n"}, "1 labels for 2 regions"),
        ({"centres.txt": "A_L 1 2 3\nA_L 1 2 3\n"}, "duplicate label"),
        ({"weights.txt": "0 x\n1 0\n"}, "non-numeric"),
    ],
)
def test_zip_content_validation(tmp_path, change, message):
    _zip(tmp_path / "z.zip", {**GOOD, **change})
    with pytest.raises(CmftvbError, match=message) as exc:
        Connectome.from_tvb_zip(tmp_path / "z.zip")
    assert "z.zip" in str(exc.value)


def test_missing_length_for_weighted_edge():
    with pytest.raises(CmftvbError, match="no tract length"):
        from cmftvb.connectome import validate

        validate.tract_lengths(np.zeros((2, 2)), "x", 2, np.ones((2, 2)))


def test_npz_member_declaring_huge_array_refused(tmp_path):
    """A corrupt .npz header must not make numpy allocate the declared size."""
    import io

    buf = io.BytesIO()
    np.save(buf, np.ones(3))
    raw = buf.getvalue()
    old, new = b"'shape': (3,), }", b"'shape': (99999999999,), }"
    i = raw.index(old)
    pad = len(new) - len(old)
    end = raw.index(b"\n", i)
    raw = raw[:i] + new + raw[i + len(old) : end - pad] + raw[end:]
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as zf:
        zf.writestr("weights.npy", raw)
    with pytest.raises(CmftvbError, match="declares 799999999992 bytes but holds 152"):
        load_any(tmp_path / "big.npz")
