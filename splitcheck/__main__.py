"""``python -m splitcheck``."""

from splitcheck.cli import main

main()
