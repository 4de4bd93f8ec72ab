"""Where an access point's key, certificate and trust come from, as plain values (CLI options, a JSON
config passed to server worker processes).

Three ways, checked in this order:

* ``pki_dir`` + ``seat``: a test PKI written by ``peppol-response pki init`` (identity of that seat, the
  PKI's AP trust store with its CRL files, and its TLS CA and server certificate);
* ``keystore`` (PKCS#12; the password from ``password`` or the environment variable named by
  ``password_env``) or ``key`` + ``cert`` (+ ``chain``) PEM files;
* trust from ``trust`` (a PEM bundle: the first certificate is the anchor, the rest intermediates) or the
  Peppol G3 store of ``network`` (``test`` or ``production``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .pki import Identity, Purpose, TrustStore, load_certificates, load_identity

__all__ = ["ApFiles"]


@dataclass(frozen=True)
class ApFiles:
    """File locations of our identity and trust (no secrets: a password comes from the environment)."""

    pki_dir: str | None = None
    seat: str | None = None
    keystore: str | None = None
    key: str | None = None
    cert: str | None = None
    chain: str | None = None
    password_env: str | None = None
    trust: str | None = None
    network: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _pki(self) -> Any:
        from ..testing.pki import TestPki

        assert self.pki_dir is not None
        return TestPki.load(self.pki_dir)

    def identity(self) -> Identity:
        """Our key and certificate (ConfigError naming what is missing or wrong)."""
        password = os.environ.get(self.password_env) if self.password_env else None
        try:
            if self.keystore:
                return load_identity(self.keystore, password=password)
            if self.key and self.cert:
                return load_identity(self.key, certificate=self.cert, chain=self.chain, password=password)
            if self.pki_dir:
                if not self.seat:
                    raise ConfigError("--seat is needed with --pki (which access point of the test PKI we are)")
                ident: Identity = self._pki().ap(self.seat)
                return ident
        except OSError as exc:
            raise ConfigError(f"cannot read our key or certificate: {exc}") from None
        raise ConfigError("no identity: give --keystore, --key with --cert, or --pki with --seat")

    def trust_store(self) -> TrustStore:
        """The store that decides which access point certificates we trust."""
        if self.trust:
            try:
                certs = load_certificates(Path(self.trust).read_bytes())
            except OSError as exc:
                raise ConfigError(f"cannot read the trust bundle: {exc}") from None
            if not certs:
                raise ConfigError(f"{self.trust} holds no certificate")
            return TrustStore(tuple(certs[:1]), tuple(certs[1:]), Purpose.AP, name=f"trust bundle {self.trust}")
        if self.pki_dir:
            store: TrustStore = self._pki().ap_trust_store()
            return store
        if self.network in ("test", "production"):
            return TrustStore.peppol(Purpose.AP, test=self.network == "test")
        raise ConfigError("no trust: give --trust PEM, --pki DIR or --network test|production")

    def tls_ca(self) -> str | None:
        """The CA bundle HTTPS clients should use: the test PKI's TLS CA, else None (system CAs)."""
        return str(self._pki().tls_ca_file) if self.pki_dir else None

    def tls_server(self) -> tuple[str, str] | None:
        """The test PKI's TLS server certificate and key files for ``localhost`` (None without a PKI)."""
        if not self.pki_dir:
            return None
        pki = self._pki()
        return str(pki.path("tls-localhost.cert.pem")), str(pki.path("tls-localhost.key.pem"))
