"""Readers for a user's cohort: valid inputs, named errors, and garbage in (hypothesis)."""

from io import BytesIO

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cmftvb import CmftvbError
from cmftvb.connectome import formats

LABELS = ["Precentral_L", "Precentral_R", "Thalamus_L", "Thalamus_R"]


def write_matrix(path, a, sep):
    if path.suffix == ".npy":
        np.save(path, a)
    else:
        path.write_text("\n".join(sep.join(repr(float(x)) for x in row) for row in a) + "\n")


def sym(n=4, seed=1):
    rng = np.random.default_rng(seed)
    a = rng.random((n, n))
    return a + a.T


@pytest.mark.parametrize(
    "suffix, sep", [(".csv", ","), (".tsv", "\t"), (".txt", " "), (".npy", "")]
)
def test_read_connectome_formats(tmp_path, suffix, sep):
    w, ln = sym(), 10 * sym(seed=2)
    write_matrix(tmp_path / f"w{suffix}", w, sep)
    write_matrix(tmp_path / f"l{suffix}", ln, sep)
    (tmp_path / "labels.txt").write_text("\n".join(LABELS) + "\n")
    c = formats.read_connectome(
        tmp_path / f"w{suffix}", tmp_path / f"l{suffix}", tmp_path / "labels.txt"
    )
    np.testing.assert_array_equal(c.weights, w)
    np.testing.assert_array_equal(c.tract_lengths, ln)
    assert c.roles.tolist() == ["cortex", "cortex", "thalamus", "thalamus"]


def test_labels_plain_text(tmp_path):
    (tmp_path / "l.txt").write_text("Left Thalamus\nRight Thalamus\n\n# comment\n")
    assert formats.read_labels(tmp_path / "l.txt") == ["Left Thalamus", "Right Thalamus"]
    (tmp_path / "c.txt").write_text("A_L\t1\t2\t3\tNone\nA_R\t-1\t2\t3\tNone\n")
    assert formats.read_labels(tmp_path / "c.txt") == ["A_L", "A_R"]
    (tmp_path / "s.txt").write_text("A_L 1 2 3\nA_R -1 2 3\n")
    assert formats.read_labels(tmp_path / "s.txt") == ["A_L", "A_R"]


def test_labels_table_and_header_matrix(tmp_path):
    (tmp_path / "dseg.tsv").write_text(
        "index\tname\n" + "".join(f"{i + 1}\t{s}\n" for i, s in enumerate(LABELS))
    )
    assert formats.read_labels(tmp_path / "dseg.tsv") == LABELS
    w = sym()
    (tmp_path / "w.csv").write_text(
        ","
        + ",".join(LABELS)
        + "\n"
        + "".join(
            f"{lab}," + ",".join(map(repr, row)) + "\n"
            for lab, row in zip(LABELS, w.tolist(), strict=True)
        )
    )
    a, names = formats.read_labelled_matrix(tmp_path / "w.csv")
    np.testing.assert_array_equal(a, w)
    assert names == LABELS


def test_mrtrix_upper_triangular_symmetrised(tmp_path):
    full = sym()
    np.fill_diagonal(full, 0.5)
    upper = np.triu(full)
    write_matrix(tmp_path / "w.csv", upper, ",")
    write_matrix(tmp_path / "l.csv", np.triu(10 * sym(seed=3)), ",")
    c = formats.read_mrtrix(tmp_path / "w.csv", tmp_path / "l.csv", LABELS)
    np.testing.assert_array_equal(c.weights, full)
    np.testing.assert_array_equal(c.weights, c.weights.T)
    assert c.meta["format"] == "mrtrix_tck2connectome"
    # a directed (full) matrix is left as is
    d = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(formats.symmetrise_triangular(d), d)


@pytest.mark.parametrize(
    "w, lengths, labels, message",
    [
        (np.ones((4, 3)), "ok", LABELS, "not square \\(4 x 3\\)"),
        (np.full((4, 4), np.nan), "ok", LABELS, "non-finite"),
        (-np.ones((4, 4)), "ok", LABELS, "negative"),
        (np.ones((4, 4)), "ok", LABELS[:3], "3 labels for 4 regions"),
        (np.ones((4, 4)), None, LABELS, "no tract lengths"),
        (np.ones((4, 4)), "zero", LABELS, "no tract length"),
        (np.ones((4, 4)), "small", LABELS, "does not match"),
    ],
)
def test_read_connectome_errors(tmp_path, w, lengths, labels, message):
    write_matrix(tmp_path / "w.csv", w, ",")
    lpath = None
    if lengths is not None:
        lpath = tmp_path / "l.csv"
        size = 3 if lengths == "small" else 4
        write_matrix(lpath, np.zeros((4, 4)) if lengths == "zero" else np.ones((size, size)), ",")
    with pytest.raises(CmftvbError, match=message) as exc:
        formats.read_connectome(tmp_path / "w.csv", lpath, labels)
    assert ".csv" in str(exc.value) or "labels" in str(exc.value)


def test_missing_weights_file(tmp_path):
    with pytest.raises(CmftvbError, match="w.csv: weights file not found"):
        formats.read_connectome(tmp_path / "w.csv", tmp_path / "l.csv", LABELS)


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.npy", lambda: _npy_bytes(sym())[:-20], "truncated"),
        ("e.csv", lambda: b"", "empty"),
        ("r.csv", lambda: b"1,2,3\n4,5,6\n7,8\n", "ragged"),
    ],
)
def test_bad_matrix_file(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content())
    with pytest.raises(CmftvbError, match=message):
        formats.read_matrix(tmp_path / name)


# ------------------------------------------------------------------ BOLD
def test_bold_tsv_time_by_region(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))  # time x regions
    (tmp_path / "b.tsv").write_text(
        "\t".join(LABELS) + "\n" + "".join("\t".join(map(repr, row)) + "\n" for row in x.tolist())
    )
    bold, labels = formats.read_bold(tmp_path / "b.tsv")
    np.testing.assert_array_equal(bold, x.T)
    assert labels == LABELS
    with pytest.raises(CmftvbError, match="no axis of 5 regions"):
        formats.read_bold(tmp_path / "b.tsv", n_nodes=5)


def test_bold_mat_named_variable_and_orientation(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 30))
    scipy.io.savemat(tmp_path / "b.mat", {"tc": x, "other": np.ones((2, 2))})
    with pytest.raises(CmftvbError, match="2 2-D numeric variables"):
        formats.read_bold(tmp_path / "b.mat")
    bold, _ = formats.read_bold(tmp_path / "b.mat", variable="tc")
    np.testing.assert_array_equal(bold, x)
    scipy.io.savemat(tmp_path / "t.mat", {"ts": x.T})
    bold, _ = formats.read_bold(tmp_path / "t.mat", n_nodes=4)
    np.testing.assert_array_equal(bold, x)
    with pytest.raises(CmftvbError, match="no variable 'nope'"):
        formats.read_bold(tmp_path / "b.mat", variable="nope")
    scipy.io.savemat(tmp_path / "n.mat", {"tc": np.full((4, 30), np.nan)})
    with pytest.raises(CmftvbError, match="non-finite"):
        formats.read_bold(tmp_path / "n.mat")


def test_bold_nifti_regional_means_centres_volumes(tmp_path):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(0)
    shape, t = (6, 5, 4), 12
    parc = np.zeros(shape, np.int16)
    parc[:3, :, :2] = 1
    parc[3:, :2, 2:] = 7
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-10.0, 5.0, 1.0]
    data = rng.normal(size=(*shape, t)).astype(np.float32)
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 0.72
    nib.save(img, tmp_path / "bold.nii.gz")
    nib.save(nib.Nifti1Image(parc, affine), tmp_path / "parc.nii.gz")
    r = formats.read_bold_nifti(tmp_path / "bold.nii.gz", tmp_path / "parc.nii.gz")
    assert r.parcellation.ids.tolist() == [1, 7]
    for k, lab in enumerate([1, 7]):
        np.testing.assert_allclose(r.bold[k], data[parc == lab].mean(axis=0), rtol=1e-6)
        ijk = np.argwhere(parc == lab).mean(axis=0)
        np.testing.assert_allclose(r.parcellation.centres[k], affine[:3, :3] @ ijk + affine[:3, 3])
        assert r.parcellation.volumes[k] == pytest.approx((parc == lab).sum() * 24.0, rel=1e-12)
    assert r.tr_s == pytest.approx(0.72)
    nib.save(nib.Nifti1Image(parc[:5], affine), tmp_path / "p2.nii.gz")
    with pytest.raises(CmftvbError, match="differs from the BOLD grid"):
        formats.read_bold_nifti(tmp_path / "bold.nii.gz", tmp_path / "p2.nii.gz")
    with pytest.raises(CmftvbError, match="must be 4-D"):
        formats.read_bold_nifti(tmp_path / "parc.nii.gz", tmp_path / "parc.nii.gz")


# ------------------------------------------------------------------ participants
def test_participants(tmp_path):
    p = tmp_path / "participants.tsv"
    p.write_text("participant_id\tage\nsub-01\t30\nsub-02\t\n")
    t = formats.read_participants(p)
    assert t["participant_id"].tolist() == ["sub-01", "sub-02"]
    assert formats.participant(t, "sub-02")["age"] == ""
    with pytest.raises(CmftvbError, match="no participant 'sub-03'"):
        formats.participant(t, "sub-03")
    p.write_text("id\tage\nsub-01\t30\n")
    with pytest.raises(CmftvbError, match="no 'participant_id' column"):
        formats.read_participants(p)
    p.write_text("participant_id\nsub-01\nsub-01\n")
    with pytest.raises(CmftvbError, match="duplicate participant_id 'sub-01'"):
        formats.read_participants(p)
    with pytest.raises(CmftvbError, match="not found"):
        formats.read_participants(tmp_path / "none.tsv")


# ------------------------------------------------------------------ garbage in
SUFFIXES = [".csv", ".tsv", ".txt", ".npy", ".mat", ".nii", ".nii.gz", ".zip", ".npz"]


def _call_all(path):
    from cmftvb.connectome import load_any

    calls = [
        lambda: formats.read_matrix(path),
        lambda: formats.read_labels(path),
        lambda: formats.read_bold(path),
        lambda: formats.read_bold(path, variable="tc", n_nodes=3),
        lambda: formats.read_participants(path),
        lambda: formats.read_parcellation(path),
        lambda: formats.read_bold_nifti(path, path),
        lambda: formats.read_connectome(path, path, path),
        lambda: formats.read_mrtrix(path, path, ["a", "b"]),
    ]
    if path.suffix in (".zip", ".npz"):
        calls.append(lambda: load_any(path))
    for call in calls:
        try:
            call()
        except CmftvbError:
            pass


def _call_all_on(path, content: bytes | str):
    """Write ``content`` (bytes or text) at ``path`` and call every reader on it."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    _call_all(path)


_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_settings
@given(data=st.binary(max_size=600), suffix=st.sampled_from(SUFFIXES))
def test_garbage_bytes_only_cmftvb_error(tmp_path, data, suffix):
    _call_all_on(tmp_path / f"g{suffix}", data)


@_settings
@given(
    prefix=st.sampled_from(
        [
            b"\x93NUMPY",
            b"PK\x03\x04",
            b"MATLAB 5.0 MAT-file",
            b"\x1f\x8b",
            b"\x5c\x01\x00\x00",
            b"participant_id\t",
        ]
    ),
    tail=st.binary(max_size=400),
    suffix=st.sampled_from(SUFFIXES),
)
def test_garbage_with_magic_only_cmftvb_error(tmp_path, prefix, tail, suffix):
    _call_all_on(tmp_path / f"m{suffix}", prefix + tail)


@_settings
@given(
    text=st.text(alphabet="0123456789.-e,\t \nabnfiNA#", max_size=300),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
def test_garbage_text_only_cmftvb_error(tmp_path, text, suffix):
    _call_all_on(tmp_path / f"t{suffix}", text)


@_settings
@given(
    a=hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int8, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
        elements=None,
    )
)
def test_garbage_arrays_only_cmftvb_error(tmp_path, a):
    np.save(tmp_path / "a.npy", a)
    scipy.io.savemat(tmp_path / "a.mat", {"tc": a if a.ndim else a.reshape(1)})
    for p in (tmp_path / "a.npy", tmp_path / "a.mat"):
        _call_all(p)
    from cmftvb.connectome import Connectome, validate

    for fn in (
        lambda: validate.weights(a, "x"),
        lambda: validate.timeseries(a, "x"),
        lambda: Connectome(a, a, [str(i) for i in range(a.shape[0] if a.ndim else 0)]),
    ):
        try:
            fn()
        except CmftvbError:
            pass


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    """One valid file of each binary format, to be truncated or corrupted."""
    nib = pytest.importorskip("nibabel")
    d = tmp_path_factory.mktemp("valid")
    rng = np.random.default_rng(0)
    np.save(d / "w.npy", sym())
    scipy.io.savemat(d / "b.mat", {"tc": rng.normal(size=(3, 20))})
    nib.save(
        nib.Nifti1Image(rng.normal(size=(3, 3, 2, 4)).astype(np.float32), np.eye(4)), d / "b.nii"
    )
    nib.save(
        nib.Nifti1Image(np.arange(18, dtype=np.int16).reshape(3, 3, 2) % 3, np.eye(4)),
        d / "p.nii.gz",
    )
    from cmftvb.connectome import Connectome

    Connectome(sym(), 10 * sym(seed=2), LABELS).to_tvb_zip(d / "c.zip")
    Connectome(sym(), 10 * sym(seed=2), LABELS).save(d / "c.npz")
    return {p.name: p.read_bytes() for p in d.iterdir()}


@_settings
@given(
    name=st.sampled_from(["w.npy", "b.mat", "b.nii", "p.nii.gz", "c.zip", "c.npz"]),
    cut=st.floats(0.0, 1.0),
    flip=st.integers(0, 10**6),
    byte=st.integers(0, 255),
)
def test_truncated_or_corrupted_valid_files(tmp_path, valid_files, name, cut, flip, byte):
    data = bytearray(valid_files[name])
    if flip % 2:
        data[flip % len(data)] = byte  # corrupt one byte
    else:
        data = data[: int(cut * len(data))]  # truncate
    path = tmp_path / name
    path.write_bytes(bytes(data))
    _call_all(path)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_header_declaring_huge_image_refused(tmp_path, suffix):
    """A corrupt header must not make the reader allocate what the file cannot hold."""
    import gzip
    import struct

    nib = pytest.importorskip("nibabel")
    nib.save(nib.Nifti1Image(np.zeros((3, 3, 3, 2), np.float32), np.eye(4)), tmp_path / "a.nii")
    raw = bytearray((tmp_path / "a.nii").read_bytes())
    raw[42:46] = struct.pack("<hh", 30000, 30000)  # dim[1], dim[2]
    path = tmp_path / f"b{suffix}"
    path.write_bytes(gzip.compress(bytes(raw)) if suffix.endswith(".gz") else bytes(raw))
    with pytest.raises(CmftvbError, match="more than the file can hold"):
        formats.read_parcellation(path)
    with pytest.raises(CmftvbError, match="more than the file can hold"):
        formats.read_bold_nifti(path, path)
