"""Fixtures for the test PKI (imported by tests/conftest.py): one PKI per session, RSA keys cached on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from peppol_response.testing.pki import KeyCache, TestPki, create_test_pki


@pytest.fixture(scope="session")
def key_cache(request: pytest.FixtureRequest) -> KeyCache:
    """RSA keys kept in pytest's cache directory between runs (key generation is the slow part)."""
    return KeyCache(Path(request.config.cache.mkdir("peppol-test-keys")))


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory, key_cache: KeyCache) -> TestPki:
    """A test PKI without network revocation sources (CRL files): PXX000001, PXX000002 good, PXX000003 revoked."""
    return create_test_pki(tmp_path_factory.mktemp("pki"), key_cache=key_cache, label="session")


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> TestPki:
    """An impostor PKI: the same CA and seat names as ``test_pki`` but other keys. Nothing in it may be trusted."""
    keys = KeyCache(Path(request.config.cache.mkdir("peppol-test-keys-impostor")))
    return create_test_pki(tmp_path_factory.mktemp("other-pki"), key_cache=keys, label="session")
