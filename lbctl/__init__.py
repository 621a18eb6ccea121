"""lbctl: an operator's shell and scripting client for the HAProxy Runtime API (trio-lb and HAProxy 2.6)."""

__version__ = "0.1.0"
