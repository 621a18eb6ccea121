"""TLS (issue 7), the pure part: certificates, contexts, ClientHello parsing and the TLS fetches.

Importing the package registers the ssl_* / req.ssl_* fetches (trio_lb.tls.fetches) into
trio_lb.rules.sample.FETCHES. Nothing here touches sockets: trio_lb/net drives the contexts.
"""

from __future__ import annotations

from trio_lb.tls import fetches  # noqa: F401  (registers the fetches)
from trio_lb.tls.contexts import (
    BindTLS,
    ServerTLS,
    TLSConfigError,
    TlsInfo,
    TlsRuntime,
    build_tls,
    check_tls,
    connection_info,
)
from trio_lb.tls.store import CertStore

__all__ = ["BindTLS", "CertStore", "ServerTLS", "TLSConfigError", "TlsInfo", "TlsRuntime", "build_tls",
           "check_tls", "connection_info"]
