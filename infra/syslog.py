"""Syslog for audit messages (IHE ATNA): RFC 5424 messages over UDP (RFC
5426), TCP or TLS (RFC 5425 octet-counting framing).

One connection per message: an audit message is rare next to the work that
caused it, and a fresh connection survives the repository's restarts. A
failed send is the caller's to log; this module never raises past `send`.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
from dataclasses import dataclass

log = logging.getLogger(__name__)

FACILITY_AUTHPRIV = 10  # RFC 5424 table 1: security/authorization messages
SEVERITY_NOTICE = 5
BOM = b"\xef\xbb\xbf"  # RFC 5424 6.4: an UTF-8 MSG starts with the BOM


@dataclass(frozen=True)
class SyslogTarget:
    transport: str  # udp, tcp or tls
    host: str
    port: int
    ca_file: str = ""  # tls: the CA that signed the repository's certificate
    cert_file: str = ""  # tls: our client certificate (mutual TLS), with its key
    key_file: str = ""
    timeout: float = 5.0


def parse_target(url: str, *, ca_file: str = "", cert_file: str = "", key_file: str = "") -> SyslogTarget | None:
    """`udp://host:514`, `tcp://host:601`, `tls://host:6514`; "" for none."""
    if not url:
        return None
    transport, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    if transport not in ("udp", "tcp", "tls") or not host or not port.isdigit():
        raise ValueError(f"syslog target {url!r}: use udp://host:port, tcp://host:port or tls://host:port")
    return SyslogTarget(transport, host.strip("[]"), int(port), ca_file, cert_file, key_file)


def syslog_message(payload: bytes, *, app_name: str, msg_id: str, at: dt.datetime | None = None) -> bytes:
    """One RFC 5424 message: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG."""
    stamp = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="milliseconds")
    stamp = stamp.replace("+00:00", "Z")
    pri = FACILITY_AUTHPRIV * 8 + SEVERITY_NOTICE
    header = f"<{pri}>1 {stamp} {_field(socket.gethostname())} {_field(app_name)} - {_field(msg_id)} -"
    return header.encode("ascii", "replace") + b" " + BOM + payload


def _field(value: str) -> str:
    """A header field: printable US-ASCII without spaces, at most 48 characters; '-' when empty."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:48]
    return cleaned or "-"


def send(target: SyslogTarget, message: bytes) -> bool:
    """Deliver one message; False (and a warning logged) when it could not be."""
    try:
        if target.transport == "udp":
            with socket.socket(_family(target.host), socket.SOCK_DGRAM) as sock:
                sock.sendto(message, (target.host, target.port))
            return True
        with socket.create_connection((target.host, target.port), timeout=target.timeout) as sock:
            stream = _tls(target).wrap_socket(sock, server_hostname=target.host) if target.transport == "tls" else sock
            stream.sendall(str(len(message)).encode() + b" " + message)  # RFC 5425 4.3 octet counting
            if stream is not sock:
                stream.close()
        return True
    except (OSError, ssl.SSLError) as failure:
        log.warning("audit syslog to %s://%s:%s failed: %s", target.transport, target.host, target.port, failure)
        return False


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _tls(target: SyslogTarget) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=target.ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if target.cert_file:
        context.load_cert_chain(target.cert_file, target.key_file or None)
    return context
