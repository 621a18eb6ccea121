"""trio-lb: an HAProxy-compatible load balancer on trio and h11.

This module holds the version only: lbctl and the pure core import subpackages
of trio_lb without pulling in trio.
"""

__version__ = "0.1.0"
