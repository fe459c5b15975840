"""TLS server contexts for the MLLP and DICOM listeners, from configuration.

A listener uses TLS when its certificate and key are set; with a CA file,
clients must also present a certificate signed by it (mutual TLS, as the
IHE ATNA secure node profile asks).
"""

from __future__ import annotations

import ssl


def server_context(cert: str, key: str, ca: str = "") -> ssl.SSLContext | None:
    if not cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key or None)
    if ca:
        context.load_verify_locations(ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
