"""What the benchmark sections share: the plan, the tables, the full lab and its peers.

Split from tests/perf/bench.py so that sections in other modules
(tests/perf/_bench_verdict.py) use the same pieces without importing the script.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.perf import _bench_lab as bl


@dataclass
class Plan:
    """How many samples each measurement takes."""
    quick: bool
    http_samples: int
    http_runs: int
    dns_names: int
    dns_runs: int
    clock_skews_s: tuple[float, ...]
    clock_runs: int
    loss_endpoints: int
    loss_samples: int
    bw_runs: int
    speed_runs: int
    worst_deadline_s: float
    cost_runs: int
    startup_runs: int
    verdict_runs: int

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(True, http_samples=10, http_runs=1, dns_names=4, dns_runs=1, clock_skews_s=(37.5,),
                       clock_runs=3, loss_endpoints=4, loss_samples=10, bw_runs=1, speed_runs=1,
                       worst_deadline_s=6.0, cost_runs=1, startup_runs=5, verdict_runs=1)
        return cls(False, http_samples=40, http_runs=3, dns_names=8, dns_runs=3,
                   clock_skews_s=(37.5, -3 * 3600.0), clock_runs=10, loss_endpoints=8, loss_samples=25,
                   bw_runs=3, speed_runs=3, worst_deadline_s=15.0, cost_runs=3, startup_runs=20,
                   verdict_runs=3)


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def text(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.headers)]
        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        out = [self.title, "=" * len(self.title), line(self.headers), line(["-" * w for w in widths])]
        out += [line(r) for r in self.rows]
        out += [f"  * {n}" for n in self.notes]
        return "\n".join(out)

    def markdown(self) -> str:
        def esc(c: str) -> str:
            return c.replace("|", "\\|")
        out = [f"#### {self.title}", "", "| " + " | ".join(map(esc, self.headers)) + " |",
               "|" + "|".join("---" for _ in self.headers) + "|"]
        out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in self.rows]
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        return "\n".join(out)


# ------------------------------------------------------------------ small helpers


def ms(seconds: float | None, digits: int = 1) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.{digits}f}"


def err_ms(value_s: float | None, truth_s: float | None) -> str:
    if value_s is None or truth_s is None:
        return "n/a"
    return f"{(value_s - truth_s) * 1000:+.1f}"


def med(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tables: list[Table] = []
        self.problems: list[str] = []
        self.targets: list[tuple[str, str]] = []

    def problem(self, what: str) -> None:
        self.problems.append(what)
        log("PROBLEM: " + what)

    def target(self, what: str, ok: bool | None) -> None:
        self.targets.append((what, verdict(ok)))

    def emit(self, table: Table) -> None:
        self.tables.append(table)
        print(table.text() + "\n", flush=True)


def http_module(ca_file: str, valid: Sequence[int] = (200,), timeout: str = "10s",
                family: str = "ip4") -> dict[str, Any]:
    """A blackbox_exporter http module: HEAD over ``family`` only (no fallback to the other)."""
    return {"prober": "http", "timeout": timeout,
            "http": {"method": "HEAD", "preferred_ip_protocol": family, "ip_protocol_fallback": False,
                     "valid_status_codes": list(valid), "tls_config": {"ca_file": ca_file},
                     "no_follow_redirects": True}}


def dns_module(name: str, qtype: str, timeout: str = "5s") -> dict[str, Any]:
    return {"prober": "dns", "timeout": timeout,
            "dns": {"query_name": name, "query_type": qtype, "transport_protocol": "udp",
                    "preferred_ip_protocol": "ip4", "ip_protocol_fallback": False}}


def bb_value(parsed: dict[str, float], metric: str, **labels: str) -> float | None:
    for key, value in parsed.items():
        if not key.startswith(metric):
            continue
        if all(f'{k}="{v}"' in key for k, v in labels.items()):
            return value
    return None


# ------------------------------------------------------------------ 2-4. full runs


@dataclass
class FullLab:
    lab: Any
    config: Path
    names: list[str]
    resolvers: list[str]
    ntp_servers: list[str]
    check_urls: list[str]
    service_addresses: list[str]


def build_full_lab(lab: Any, deadline_s: float = 15.0) -> FullLab:
    """8 endpoints, 4 resolvers, 3 NTP servers, as issue 8 asks."""
    from tests.lab.lab import CHECK_HOSTS, DATE_HOSTS, NTP_HOSTS, PAYMENT_HOSTS

    resolvers = [a for _, a in lab.resolvers] + [lab.dns("honest"), lab.dns("honest")]
    ntp3 = lab.ntp(0.0, name="cn.pool.ntp.org")
    ntp_servers = [*NTP_HOSTS, "cn.pool.ntp.org"]
    cfg = lab.write_config(
        deadline_s=deadline_s,
        dns={"resolvers": [{"name": f"Lab DNS {i + 1}", "address": a} for i, a in enumerate(resolvers)]},
        clock={"ntp_servers": ntp_servers})
    addrs = [lab.host_address(h) for h in (*PAYMENT_HOSTS, *DATE_HOSTS, *CHECK_HOSTS, *NTP_HOSTS)]
    addrs += resolvers + [ntp3]
    return FullLab(lab, cfg, list(PAYMENT_HOSTS), resolvers, ntp_servers,
                   [f"http://{h}/generate_204" for h in CHECK_HOSTS], list(dict.fromkeys(addrs)))


def serial_script(fl: FullLab, *, guard_s: float | None = None, name: str = "serial-equivalent.sh") -> Path:
    """What a support engineer asks a user to run, one command after another.

    ``guard_s``: openssl s_client runs under ``timeout`` (it has no timeout of its
    own, and waits for ever on a server that accepts and never answers).
    """
    guard = f"timeout {guard_s:g} " if guard_s else ""
    ca = fl.lab.ca_file
    lines = ["#!/bin/bash", "# The serial equivalent of `payprobe run` (bench.py writes this file)."]
    lines += [f"curl -sS -o /dev/null --max-time 5 -w '%{{http_code}} %{{time_total}}\\n' {u}" for u in fl.check_urls]
    # Options before the first name apply to both queries of the one dig command.
    lines += [f"dig @{r} +tries=1 +time=2 +noall +answer +stats {n} A {n} AAAA"
              for r in fl.resolvers for n in fl.names]
    lines += [f"sntp -t 2 {s}" for s in fl.ntp_servers]
    for host in fl.names:
        lines.append(f"curl -sS -I -o /dev/null --cacert {ca} --max-time 5 -w "
                     f"'%{{http_code}} %{{time_connect}} %{{time_appconnect}} %{{time_starttransfer}}\\n' https://{host}/")
        lines.append(f"{guard}openssl s_client -connect {host}:443 -servername {host} -CAfile {ca} -brief "
                     f"</dev/null 2>&1 | head -20")
    path = Path(fl.lab.dir) / name
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


def blackbox_for(fl: FullLab, *, timeout: str = "10s", port: int = 9116
                 ) -> tuple[bl.Blackbox, list[tuple[str, str]]]:
    """blackbox_exporter with a module per probe a full run makes, and the (target, module) pairs."""
    modules: dict[str, Any] = {"http_lab": http_module(str(fl.lab.ca_file), timeout=timeout),
                               "http_204": http_module(str(fl.lab.ca_file), valid=(204,), timeout=timeout)}
    pairs: list[tuple[str, str]] = [(u, "http_204") for u in fl.check_urls]
    for i, name in enumerate(fl.names):
        for qtype in ("A", "AAAA"):
            modules[f"dns_{i}_{qtype}"] = dns_module(name, qtype, timeout=min(timeout, "5s", key=_go_seconds))
    for r in fl.resolvers:
        for i, _name in enumerate(fl.names):
            pairs += [(r, f"dns_{i}_A"), (r, f"dns_{i}_AAAA")]
    pairs += [(f"https://{h}/", "http_lab") for h in fl.names]
    return bl.Blackbox(fl.lab, modules, port=port), pairs


def _go_seconds(duration: str) -> float:
    """Seconds of a Go duration like "5s" (the only form used here)."""
    return float(duration.rstrip("s"))
