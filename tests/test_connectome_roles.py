"""Node roles from labels (ARCHITECTURE.md "Node roles", MODEL.md §7)."""

import collections

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.connectome import load_any, roles
from cmftvb.datasets import aal2_labels


def test_sample_subject_roles(sample_zip):
    c = load_any(sample_zip)
    counts = collections.Counter(c.roles.tolist())
    # MODEL.md §7: 27 cerebellar-cortex nodes and 6 DCN, 93 cerebral nodes.
    assert counts["crbl_hemisphere"] + counts["crbl_vermis"] == 27
    assert counts["dcn"] == 6
    assert counts["crbl_vermis"] == 7
    assert sum(counts[r] for r in roles.ROLE_GROUPS["cerebral"]) == 93
    # FreeSurfer names: 2 thalami, 12 other subcortical, 1 brain stem.
    assert (counts["thalamus"], counts["subcortical"], counts["brainstem"]) == (2, 12, 1)
    # every cerebellar label parses into the sample's 33 parts, each exactly once
    parts = [
        roles.crbl_part(s)
        for s, r in zip(c.labels, c.roles, strict=True)
        if r in ("crbl_hemisphere", "crbl_vermis", "dcn")
    ]
    assert None not in parts and len(set(parts)) == 33


def test_aal2_roles():
    labs = aal2_labels()
    r = dict(zip(labs, roles.annotate(labs), strict=True))
    assert r["Thalamus_L"] == r["Thalamus_R"] == "thalamus"
    for name in ("Caudate", "Putamen", "Pallidum", "Hippocampus", "Amygdala"):
        assert r[f"{name}_L"] == r[f"{name}_R"] == "subcortical"
    assert r["ParaHippocampal_L"] == "cortex"
    assert r["Precentral_L"] == r["OFCmed_R"] == "cortex"
    assert collections.Counter(r.values()) == {"cortex": 82, "subcortical": 10, "thalamus": 2}


@pytest.mark.parametrize(
    "label, role",
    [
        ("Cerebelum_Crus1_L", "crbl_hemisphere"),
        ("Cerebelum_4_5_R", "crbl_hemisphere"),
        ("Vermis_1_2", "crbl_vermis"),
        ("Left-Cerebellum-Cortex", "crbl_hemisphere"),
        ("Right_Interposed", "dcn"),
        ("Left_Emboliform", "dcn"),
        ("Pons", "brainstem"),
        ("Left-VentralDC", "subcortical"),
        ("Left-Accumbens-area", "subcortical"),
        ("ctx-lh-precuneus", "cortex"),
    ],
)
def test_rules(label, role):
    assert roles.annotate([label])[0] == role


def test_side_and_parts():
    assert roles.side("Frontal_Mid_Orb_L_1") == "L"
    assert roles.side("Right-Thalamus-Proper") == "R"
    assert roles.side("Brain-Stem") == "M"
    assert roles.side("ctx-rh-precuneus") == "R" and roles.side("Vermis_VI") == "M"
    assert roles.crbl_part("Cerebelum_Crus2_R") == ("R", "CrusII")
    assert roles.crbl_part("Vermis_VIIIb") == ("V", "VIIIb")
    assert roles.crbl_part("Left_Fastigial") == ("L", "Fastigial")
    assert roles.crbl_part("Precentral_L") is None


def test_overrides_dict_and_tsv(tmp_path):
    labs = ["Foo_L", "Thalamus_L"]
    assert roles.annotate(labs, {"Foo_L": "brainstem"}).tolist() == ["brainstem", "thalamus"]
    t = tmp_path / "o.tsv"
    t.write_text("label\trole\nThalamus_L\tsubcortical  # a comment\n")
    assert roles.annotate(labs, t).tolist() == ["cortex", "subcortical"]
    t.write_text("Foo_L\tcerebellum\n")
    with pytest.raises(CmftvbError, match="unknown role 'cerebellum'"):
        roles.annotate(labs, t)
    t.write_text("Foo_L brainstem\n")
    with pytest.raises(CmftvbError, match="o.tsv:1"):
        roles.annotate(labs, t)
    with pytest.raises(CmftvbError, match="not found"):
        roles.annotate(labs, tmp_path / "missing.tsv")
    with pytest.raises(CmftvbError, match="Foo_L"):
        roles.annotate(labs, default=None)


def test_groups_and_indices():
    r = np.array(["cortex", "dcn", "crbl_vermis", "thalamus"])
    assert roles.indices(r, "cerebral").tolist() == [0, 3]
    assert roles.indices(r, "crbl_cortex").tolist() == [2]
    assert roles.indices(r, ["dcn", "cortex"]).tolist() == [0, 1]
    with pytest.raises(CmftvbError, match="unknown role"):
        roles.indices(r, "cerebellum")
