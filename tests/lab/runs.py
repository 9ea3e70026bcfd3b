"""Running payprobe inside the lab: ``lab.payprobe``, and the config pointing it at the lab."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from payprobe.engine.config import merge

from tests.helpers import to_toml
from tests.lab.namespace import CHECK_HOSTS, DATE_HOSTS, LabCore, next_serial
from tests.lab.results import Result


class RunMixin(LabCore):
    """lab.payprobe / config_dict / write_config."""

    def payprobe(self, *args: str, config: str | Path | None = None, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> Result:
        """``python -m payprobe ARGS`` inside the namespace; JSON report on stdout parsed.

        For ``run`` without ``--format``/``--output`` it adds ``--format json --output -``.
        """
        argv = [sys.executable, "-m", "payprobe", *args]
        if args and args[0] == "run":
            if config is not None:
                argv += ["--config", str(config)]
            if "--format" not in args:
                argv += ["--format", "json"]
            if "--output" not in args:
                argv += ["--output", "-"]
        elif config is not None:
            argv += ["--config", str(config)]
        base_env = {"PAYPROBE_DATA_DIR": str(self.dir / "payprobe-data"),
                    "PAYPROBE_CONFIG_DIR": str(self.dir / "payprobe-config")}
        proc = self.exec(argv, timeout=timeout, env={**base_env, **(env or {})})
        report: dict[str, Any] | None
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            report = None
        return Result(proc.returncode, report, proc.stdout, proc.stderr, argv)

    def config_dict(self, **overrides: Any) -> dict[str, Any]:
        """The lab's payprobe config as a dict, with ``overrides`` merged in (tables key by key)."""
        base: dict[str, Any] = {
            "deadline_s": 15.0,
            "ca_file": str(self.ca_file),
            "connectivity": {"check_urls": [f"http://{h}/generate_204" for h in CHECK_HOSTS]},
            "dns": {"resolvers": [{"name": n, "address": a} for n, a in self.resolvers]},
            "clock": {"ntp_servers": list(self.ntp_servers),
                      "http_date_urls": [f"https://{h}/" for h in DATE_HOSTS]},
            "proxy": {"local_ports": [7890, 7891, 7897, 10808, 10809, 1080, 9090]},
        }
        return merge(base, overrides)

    def write_config(self, path: str | Path | None = None, **overrides: Any) -> Path:
        """Write a payprobe TOML pointing everything at the lab; return its path."""
        target = Path(path) if path else self.dir / f"config-{next_serial()}.toml"
        target.write_text(to_toml(self.config_dict(**overrides)))
        return target
