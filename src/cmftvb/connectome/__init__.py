"""Connectomes: formats, validation, node roles, cerebellar prewiring (STUDY.md stage 1)."""

from cmftvb.connectome.core import Connectome, load_any, read_zip_members
from cmftvb.connectome.prepare import prepare
from cmftvb.connectome.roles import ROLE_GROUPS, ROLES, annotate

__all__ = [
    "ROLES",
    "ROLE_GROUPS",
    "Connectome",
    "annotate",
    "load_any",
    "prepare",
    "read_zip_members",
]
