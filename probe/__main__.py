"""`python -m payprobe`."""

from payprobe.cli.main import entry

entry()
