"""Entry point of the standalone app: the same as the `ganstudio` command (no arguments opens the window)."""

import sys

from ganstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
