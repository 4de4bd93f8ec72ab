from __future__ import annotations

from pathlib import Path

import pytest

from tests.as4.testpki import LocalPki, make_pki


@pytest.fixture(scope="session")
def pki() -> LocalPki:
    return make_pki()


@pytest.fixture(scope="session")
def as4_vectors(conformance_dir: Path) -> Path:
    folder = conformance_dir / "as4"
    if not folder.is_dir():
        pytest.skip(f"the AS4 vectors are not here ({folder})")
    return folder
