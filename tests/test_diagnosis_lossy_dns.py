"""A lossy link that takes most of the name lookups (issue 12, item 3), and its neighbours.

At 40 % loss both ways, most lookups time out: at the system resolver, at the
alternates, for the TLS and endpoints checks. What is left to tell loss from a
DNS fault or from "offline" is the pattern (reports/evidence.py):

- the same name answered for one check and timed out for another;
- a resolver that had to send a query again before it was answered;
- the system resolver answering some lookups (a check URL reached by name)
  while every alternate timed out too, and tries lost after names resolved.

Each case has its neighbour where the same-looking evidence is a real DNS fault
or a network that answers nothing, and there the verdict must not move.
"""

from __future__ import annotations

from payprobe.reports import evidence
from payprobe.reports.diagnosis import diagnose

from tests.diagnosis_runs import ENDPOINTS, HOST, RESOLVERS, SETTINGS, URLS, Run, Tls, lost

ALIPAY = "Alipay OpenAPI"
WRONG_FOR_LOSS = {"offline", "dns_problem", "payment_service_outage", "inconclusive"}


def codes(causes: list[dict]) -> list[str]:
    return [c["code"] for c in causes]


def _lookups_lost(run: Run, *, except_name: str | None = None) -> Run:
    """Every lookup timed out, at every resolver and for every check, except ``except_name``'s
    host for the TLS and endpoints checks (resolved there, then its tries were lost)."""
    for name, _, host in ENDPOINTS:
        run.system[host] = "dns_timeout"
        for resolver in RESOLVERS:
            run.resolvers[resolver][host] = "dns_timeout"
        if name == except_name:
            run.tls[host] = Tls(False, "generic_timeout", "connect")
            run.eps[name].samples = [lost() for _ in run.eps[name].samples]
        else:
            run.tls[host] = Tls(False, "dns_timeout", "resolve")
            run.eps[name].resolve = "dns_timeout"
    run.urls = dict.fromkeys(URLS, "dns_timeout")
    run.ntp = dict.fromkeys(run.ntp, "generic_timeout")
    run.clock = ("unknown", 0.0)
    return run


def test_lossy_when_a_name_timed_out_in_the_dns_check_but_resolved_for_tls_is_unstable_not_offline():
    causes, summary = _lookups_lost(Run("evidence"), except_name=ALIPAY).diagnose()
    assert codes(causes)[0] == "network_unstable", codes(causes)
    assert not WRONG_FOR_LOSS & set(codes(causes))
    assert any("mobile data" in r for r in causes[0]["remedies"])
    assert summary["top_cause"] == "network_unstable"


def test_lossy_neighbour_when_nothing_resolved_anywhere_stays_offline():
    # No name answered for any check, nothing answered at all: "no internet" (it cannot be
    # told from loss, and is not guessed to be loss).
    causes, _ = _lookups_lost(Run("evidence")).diagnose()
    assert codes(causes)[0] == "offline", codes(causes)


def test_lossy_when_the_system_resolver_answered_a_check_url_and_all_resolvers_time_out_is_unstable():
    run = _lookups_lost(Run("evidence"))
    run.urls[URLS[1]] = None              # reached by name: the system resolver answered that
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "network_unstable", codes(causes)
    assert "dns_problem" not in codes(causes)


def test_lossy_neighbour_when_nothing_is_lost_after_lookups_a_dead_system_dns_stays_dns():
    # The same dead lookups, but every connection whose address was known worked (the check
    # URLs, the time servers): DNS is the fault, not the link.
    run = _lookups_lost(Run("evidence"))
    run.urls = dict.fromkeys(URLS)
    run.ntp = dict.fromkeys(run.ntp)
    run.clock = ("offset", 0.02)
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "dns_problem", codes(causes)
    assert "network_unstable" not in codes(causes)


def test_lossy_neighbour_when_one_name_times_out_everywhere_it_is_that_names_dns():
    # The system resolver times out on one name in every check while the alternates
    # answer it: a resolver without an answer for that name, not a lossy link.
    run = Run("evidence")
    host = HOST["Stripe API"]
    run.system[host] = "dns_timeout"
    run.tls[host] = Tls(False, "dns_timeout", "resolve")
    run.eps["Stripe API"].resolve = "dns_timeout"
    causes, _ = run.diagnose()
    assert codes(causes) == ["dns_problem"], codes(causes)
    places = evidence.read_places({c["name"]: c for c in run.checks()}, {})
    system = next(p for p in places if p.layer == "dns" and p.name == "system")
    assert not system.flaky


def test_lossy_when_one_provider_resolved_and_lost_every_try_while_the_others_never_resolved_blames_no_provider():
    run = _lookups_lost(Run("evidence"), except_name=ALIPAY)
    run.urls[URLS[0]] = None
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "network_unstable", codes(causes)
    assert "payment_service_outage" not in codes(causes)


def test_lossy_neighbour_when_one_provider_is_blackholed_on_a_clean_link_it_is_blamed():
    causes, _ = Run("evidence").down(ALIPAY).diagnose()
    assert codes(causes)[0] == "payment_service_outage"
    assert causes[0]["target"] == "alipay"


def test_lossy_when_resolvers_resent_queries_and_a_handshake_was_lost_is_unstable_in_chinese_too():
    # Nothing failed outright but one check URL and one handshake: the resolvers' resent
    # queries are what shows the loss spans the link.
    run = Run("evidence")
    run.urls[URLS[2]] = "generic_timeout"
    run.tls[HOST["Stripe API"]] = Tls(False, "generic_timeout", "connect")
    checks = run.checks()
    dns = next(c for c in checks if c["name"] == "dns")
    for item in dns["evidence"]:
        if item["resolver"] in RESOLVERS and item["name"] in (HOST[ALIPAY], HOST["Stripe API"]):
            item["lost"] = 1               # answered only when sent again
    for lang, word in (("en", "mobile data"), ("zh", "移动数据")):
        causes, _ = diagnose(checks, lang=lang, settings=SETTINGS)
        assert causes[0]["code"] == "network_unstable", [c["code"] for c in causes]
        assert any(word in r for r in causes[0]["remedies"])


def test_lossy_path_when_half_of_one_providers_samples_and_its_tls_try_are_lost_blames_no_provider():
    # The path to Stripe alone loses half its packets: two of four samples got through,
    # slowly (a lost SYN is sent again after a second), and the TLS check's one
    # handshake was lost. Its servers answer: not an outage.
    run = Run("evidence")
    run.eps["Stripe API"].samples = [{"failure": None, "phase": None}, lost(),
                                     {"failure": None, "phase": None}, lost()]
    run.eps["Stripe API"].slow = ("connect", 1010.0)    # the SYNs that got through late
    run.tls[HOST["Stripe API"]] = Tls(False, "generic_timeout", "connect")
    causes, _ = run.diagnose()
    assert "payment_service_outage" not in codes(causes), codes(causes)
    # Its neighbour, every sample lost as well: down, and blamed.
    run.eps["Stripe API"].samples = [lost() for _ in range(4)]
    causes, _ = run.diagnose()
    assert codes(causes)[0] == "payment_service_outage" and causes[0]["target"] == "stripe"


def test_lossy_when_the_clock_is_also_wrong_names_both_and_blames_no_provider():
    # The lossy pattern of the first test, on a phone whose clock is an hour off: the
    # clock is its own cause (it breaks TLS), the loss is the link's, neither a provider's.
    run = _lookups_lost(Run("evidence"), except_name=ALIPAY)
    run.ntp = dict.fromkeys(run.ntp)
    run.clock = ("skew", 3600.0)
    for lang in ("en", "zh"):
        causes, _ = run.diagnose(lang)
        assert {"clock_wrong", "network_unstable"} <= set(codes(causes)), codes(causes)
        assert not {"payment_service_outage", "offline"} & set(codes(causes))
