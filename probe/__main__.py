"""`python -m payprobe`."""

import sys

from payprobe.cli.main import main

sys.exit(main())
