"""Lets `python -m ganstudio` work like the `ganstudio` command."""

import sys

from .cli import main

sys.exit(main())
