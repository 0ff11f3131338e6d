"""The desktop bundle's entry point (PyInstaller runs this as the `playground` executable)."""

import sys

from playground.cli import main

if __name__ == "__main__":
    sys.exit(main())
