"""Loaded by the fault suite's subprocesses (PYTHONPATH): install the resolver guard."""

import os
import runpy

if os.environ.get("PAYPROBE_FAULT_GUARD") == "1":
    runpy.run_path(os.path.join(os.path.dirname(os.path.dirname(__file__)), "guard.py"))["install"]()
