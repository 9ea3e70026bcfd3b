"""Network lab fixtures (see tests/lab/README.md).

- ``lab``: a started, healthy :class:`tests.lab.lab.Lab` for one test.
- ``lab_factory``: start more labs (or a bare namespace) in one test.

Tests that use them are marked ``@pytest.mark.lab``. When the lab cannot run
(not Linux, not root, a tool missing) they skip with the reason, except under
``CI=true``, where they fail: CI must never silently skip the lab.
"""

from __future__ import annotations

import atexit
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.lab import Lab
from tests.lab.namespace import cleanup_all_labs, lab_unavailable_reason, netns_names, sweep_stale_namespaces


def _require_lab() -> None:
    reason = lab_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"network lab unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lab: needs the network lab (root, Linux, network namespaces)")
    if lab_unavailable_reason() is not None:
        return
    sweep_stale_namespaces()
    atexit.register(cleanup_all_labs)
    # A SIGTERM (CI cancelling a job) becomes KeyboardInterrupt, so pytest runs
    # the fixture teardowns that delete the namespaces, as on Ctrl-C.
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        def _on_sigterm(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt("SIGTERM")
        signal.signal(signal.SIGTERM, _on_sigterm)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A lab test that forgot the fixture still gets the skip/fail rule.
    for item in items:
        if item.get_closest_marker("lab") is not None:
            item.add_marker(pytest.mark.usefixtures("_lab_available"))


@pytest.fixture
def _lab_available() -> None:
    _require_lab()


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    """Start labs: ``lab_factory()`` or ``lab_factory(services=False)`` (bare namespace)."""
    _require_lab()
    labs: list[Lab] = []

    def start(**kwargs: Any) -> Lab:
        lab = Lab(tmp_path, **kwargs)
        labs.append(lab)
        return lab

    yield start
    errors = []
    for lab in reversed(labs):
        try:
            lab.close()
        except Exception as exc:  # noqa: BLE001 - report every leak, not just the first
            errors.append(str(exc))
    survivors = set(netns_names()) & {lab.name for lab in labs}
    if survivors:
        errors.append(f"namespaces {sorted(survivors)} outlived the test")
    if errors:
        pytest.fail("lab teardown left things behind: " + "; ".join(errors), pytrace=False)


@pytest.fixture
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    """A started, healthy lab: honest DNS, NTP, TLS payment hosts, 204 servers."""
    return lab_factory()
