"""``peppol-response pki init`` and ``pki check``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from peppol_response.as4.pki import load_identity
from peppol_response.cli import cli
from peppol_response.testing.pki import KeyCache


def test_init_then_check(tmp_path: Path, key_cache: KeyCache) -> None:
    assert key_cache.directory is not None
    runner = CliRunner()
    target = tmp_path / "pki"
    result = runner.invoke(cli, ["pki", "init", str(target), "--key-cache", str(key_cache.directory),
                                 "--label", "cli", "--seat", "PXX000011", "--seat", "PXX000012",
                                 "--revoke", "PXX000012", "--password", "pw-cli-test"])
    assert result.exit_code == 0, result.output
    assert "PXX000012  REVOKED" in result.output
    manifest = json.loads((target / "manifest.json").read_text())
    assert set(manifest["access_points"]) == {"PXX000011", "PXX000012"}
    assert (target / manifest["access_points"]["PXX000011"]["key"]).stat().st_mode & 0o077 == 0
    ident = load_identity(target / manifest["access_points"]["PXX000011"]["pkcs12"], password="pw-cli-test")
    assert ident.seat_id == "PXX000011"
    assert "pw-cli-test" not in result.output

    again = runner.invoke(cli, ["pki", "init", str(target)])
    assert again.exit_code == 2  # refuses to overwrite without --force

    def check(seat: str) -> tuple[int, dict[str, object]]:
        res = runner.invoke(cli, ["pki", "check", str(target / f"ap/{seat}/cert.pem"), "--anchor",
                                  str(target / "ca/root-ca.pem"), "--intermediate", str(target / "ca/ap-ca.pem"),
                                  "--crl", str(target / "crl/ap-ca.crl"), "--json"])
        return res.exit_code, json.loads(res.output)

    code, info = check("PXX000011")
    assert (code, info["trusted"], info["seat_id"], info["revocation"]) == (0, True, "PXX000011", "good")
    code, info = check("PXX000012")
    assert (code, info["trusted"], info["error"]) == (1, False, "CertificateRevokedError")

    res = runner.invoke(cli, ["pki", "check", str(target / "ap/PXX000011/cert.pem"), "--peppol", "test"])
    assert res.exit_code == 1
    assert "UntrustedCertificateError" in res.output
