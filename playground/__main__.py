import sys

from .cli import main

if __name__ == "__main__":  # importing this module (tools that walk the package) starts nothing
    sys.exit(main())
