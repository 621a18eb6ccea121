"""`python -m lbctl ...` is the `lbctl` command."""

import sys

from lbctl.cli import main

sys.exit(main())
