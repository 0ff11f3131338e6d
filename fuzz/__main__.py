"""`python -m fuzz`: see fuzz/driver.py."""

import sys

from .driver import main

sys.exit(main())
