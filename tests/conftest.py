"""Shared fixtures: the sample subject (never copied into the project)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT.parent / "shared" / "data" / "cmftvb-sample-103818"


@pytest.fixture
def sample_dir() -> Path:
    """Folder of the sample subject, ``../shared/data/cmftvb-sample-103818/``."""
    if not (SAMPLE_DIR / "SC_dirCB.zip").is_file():
        pytest.skip(f"sample subject not available at {SAMPLE_DIR}")
    return SAMPLE_DIR


@pytest.fixture
def sample_zip(sample_dir: Path) -> Path:
    """Path of the sample subject's TVB zip (HCP 103818, 126 nodes), or skip."""
    return sample_dir / "SC_dirCB.zip"
