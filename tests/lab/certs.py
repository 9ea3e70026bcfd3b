"""Certificates for the lab's TLS servers, from a lab CA made with trustme."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

# Cert kinds a lab TLS server can present (see Lab.tls_server).
KINDS = ("valid", "expired", "not_yet_valid", "wrong_host", "mitm", "tls10", "shifted")
_DAY = dt.timedelta(days=1)


class LabCA:
    """The lab CA (trusted by payprobe through ``ca_file``) and an untrusted "MITM" CA."""

    def __init__(self, directory: Path) -> None:
        import trustme

        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="payprobe lab CA")
        self.mitm_ca = trustme.CA(organization_name="Totally Legit MITM CA")
        self.ca_file = self.dir / "lab-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.mitm_ca_file = self.dir / "mitm-ca.pem"
        self.mitm_ca.cert_pem.write_to_path(str(self.mitm_ca_file))
        self._cache: dict[tuple[str, str, float], tuple[Path, Path, str]] = {}

    def server_files(self, kind: str, hostname: str, shift_s: float = 0.0) -> tuple[Path, Path, str]:
        """(cert chain PEM, key PEM, TLS versions) for a server of this kind."""
        if kind not in KINDS:
            raise ValueError(f"unknown TLS server kind {kind!r}; one of {', '.join(KINDS)}")
        key = (kind, hostname, shift_s)
        if key in self._cache:
            return self._cache[key]
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        ca = self.ca
        names: list[str] = hostname.split(",")  # "a,b": one certificate for several names
        not_before, not_after = now - 30 * _DAY, now + 365 * _DAY
        if kind == "expired":
            not_before, not_after = now - 400 * _DAY, now - 2 * _DAY
        elif kind == "not_yet_valid":
            not_before, not_after = now + 2 * _DAY, now + 400 * _DAY
        elif kind == "wrong_host":
            names = ["wrong.lab.example"]
        elif kind == "mitm":
            ca = self.mitm_ca
        elif kind == "shifted":
            # Valid only in the shifted world: the window starts (or ends) between
            # the device's time and the world's, half-way, at most one day away
            # from the world's time, so a true clock falls outside it.
            margin = dt.timedelta(seconds=min(abs(shift_s) / 2.0, 86400.0))
            world = now + dt.timedelta(seconds=shift_s)
            if shift_s >= 0:
                not_before, not_after = world - margin, world + 365 * _DAY
            else:
                not_before, not_after = world - 365 * _DAY, world + margin
        cert = ca.issue_cert(*names, common_name=names[0], not_before=not_before, not_after=not_after)
        stem = f"{kind}-{hostname}-{shift_s:+.3f}".replace("/", "_")
        chain_path, key_path = self.dir / f"{stem}.crt", self.dir / f"{stem}.key"
        with open(chain_path, "wb") as fh:
            for blob in cert.cert_chain_pems:
                fh.write(blob.bytes())
        cert.private_key_pem.write_to_path(str(key_path))
        result = (chain_path, key_path, "tls10" if kind == "tls10" else "")
        self._cache[key] = result
        return result
