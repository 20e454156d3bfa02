"""`GET /metrics` in the Prometheus text format: the only module that imports prometheus_client.

Two kinds of figures. Counters and histograms are kept in process by `Metrics`, which the
dispatcher tells of each attempt (it is a cometwatch.observe.Observer), the daemon of each scan
and the push receiver of each request; they start at zero with the process, as Prometheus
expects of counters. Gauges are read from the state database at scrape time, through covering
indexes (migration 5), so a scrape stays cheap with 100,000 open deliveries and agrees with
`cometwatch status` whatever process wrote the state.

Every label is bounded: webhook names (the config's), result and status classes, event names,
forge names. Never a URL, an entry id, a path or a commit.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from flask import Blueprint, Response, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from cometwatch import __version__
from cometwatch.errors import CometwatchError
from cometwatch.observe import ResultClass

if TYPE_CHECKING:
    from cometwatch.gitrepo import Repository
    from cometwatch.web.context import SiteContext

log = logging.getLogger("cometwatch.metrics")

_SHORT = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LATENCY = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
            21600.0, 86400.0)
_SCAN = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_OPEN = ("pending", "failed")  # the open states; dead is counted beside them


def attempt_buckets(timeout: float) -> tuple[float, ...]:
    """Histogram buckets for attempt durations: the usual ones below `timeout`, then it (an
    attempt cannot last longer; +Inf catches the connect time on top)."""
    return (*(b for b in _SHORT if b < timeout), timeout)


class Metrics:
    """The counters and histograms of one daemon, in a registry of their own."""

    def __init__(self, attempt_timeout: float = 15.0, version: str = __version__) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._attempts = Counter(
            "cometwatch_delivery_attempts", "Delivery attempts, by webhook and result class "
            "(2xx, 3xx, 4xx, 5xx, timeout, error).", ["webhook", "result"], registry=r)
        self._durations = Histogram(
            "cometwatch_delivery_attempt_duration_seconds", "How long each delivery attempt "
            "took, by webhook.", ["webhook"], buckets=attempt_buckets(attempt_timeout),
            registry=r)
        self._settled = Counter(
            "cometwatch_deliveries_settled", "Deliveries reaching a state after an attempt "
            "(ok, failed = a retry is scheduled, dead), by webhook.", ["webhook", "status"],
            registry=r)
        self._latency = Histogram(
            "cometwatch_commit_to_delivery_seconds", "From an event's commit time (or its "
            "scheduled moment) to its delivery's first successful attempt.", buckets=_LATENCY,
            registry=r)
        self._events = Counter(
            "cometwatch_events_stored", "Content events stored, by event name.", ["event"],
            registry=r)
        self._scans = Histogram(
            "cometwatch_scan_duration_seconds", "How long each scan of the branch took.",
            buckets=_SCAN, registry=r)
        self._pushes = Counter(
            "cometwatch_push_requests", "Requests to POST /hooks/push, by forge and result.",
            ["forge", "result"], registry=r)
        Gauge("cometwatch_build_info", "The running cometwatch's version.", ["version"],
              registry=r).labels(version).set(1)

    # -- cometwatch.observe.Observer: called by the dispatcher ---------------------------

    def attempt(self, webhook: str, result_class: ResultClass, seconds: float) -> None:
        self._attempts.labels(webhook, result_class).inc()
        self._durations.labels(webhook).observe(max(seconds, 0.0))

    def settled(self, webhook: str, status: str) -> None:
        self._settled.labels(webhook, status).inc()

    def first_success(self, webhook: str, commit_time: float, now: float) -> None:
        self._latency.observe(max(now - commit_time, 0.0))

    # -- the daemon and the push receiver -------------------------------------------------

    def scanned(self, seconds: float, events: Mapping[str, int]) -> None:
        self._scans.observe(max(seconds, 0.0))
        for name, count in events.items():
            self._events.labels(name).inc(count)

    def push_request(self, forge: str, result: str) -> None:
        self._pushes.labels(forge, result).inc()

    def prepare(self, webhooks: Iterable[str], events: Iterable[str]) -> None:
        """Start the labelled counters of these webhooks and events at 0, so that rates and
        alerts see a series before its first increment."""
        for name in webhooks:
            for result in ("2xx", "3xx", "4xx", "5xx", "timeout", "error"):
                self._attempts.labels(name, result)
            for status in ("ok", "failed", "dead"):
                self._settled.labels(name, status)
        for event in events:
            self._events.labels(event)


class _StateGauges(Collector):
    """The gauges read from the state (and the branch's tip) at each scrape."""

    def __init__(self, site: SiteContext) -> None:
        self._site = site
        self._repo: Repository | None = None
        self._lock = threading.Lock()  # one repository handle, scrapes may overlap

    def collect(self) -> Iterator[Metric]:
        site = self._site
        now = site.clock()
        configured = {hook.name: hook for hook in site.config.webhooks}
        outbox = GaugeMetricFamily(
            "cometwatch_outbox_deliveries", "Deliveries open (pending, failed = waiting for a "
            "retry) and dead, by webhook.", labels=["webhook", "status"])
        oldest = GaugeMetricFamily(
            "cometwatch_outbox_oldest_due_age_seconds", "How long the oldest due open delivery "
            "has been due, by webhook (0: none is due).", labels=["webhook"])
        disabled = GaugeMetricFamily(
            "cometwatch_webhook_disabled", "1 while a webhook sends nothing: disabled after "
            "failing too long, or enabled = false.", labels=["webhook"])
        success = GaugeMetricFamily(
            "cometwatch_webhook_last_success_timestamp_seconds", "When a webhook last "
            "answered 2xx (absent: never).", labels=["webhook"])
        try:
            store = site.reader()
            rows = store.outbox_gauges()
            dead = store.dead_counts()
            states = store.webhook_states()
            cursor = store.cursor(site.branch)
        except CometwatchError as exc:  # no state yet, or unreadable: the counters still serve
            log.debug("metrics: the state cannot be read: %s", exc)
            return
        counts: dict[tuple[str, str], int] = {}
        earliest: dict[str, float] = {}
        for hook, status, count, next_at in rows:
            counts[hook, status] = counts.get((hook, status), 0) + count
            earliest[hook] = min(earliest.get(hook, next_at), next_at)
        for hook, count in dead.items():
            counts[hook, "dead"] = count
        names = sorted(set(configured) | {hook for hook, _ in counts})
        for hook in names:
            for status in (*_OPEN, "dead"):
                outbox.add_metric([hook, status], counts.get((hook, status), 0))
            oldest.add_metric([hook], max(now - earliest.get(hook, now), 0.0))
        for hook in sorted(set(configured) | set(states)):
            state = states.get(hook)
            off = (state is not None and state.disabled_at is not None) or \
                (hook in configured and not configured[hook].enabled)
            disabled.add_metric([hook], 1.0 if off else 0.0)
            if state is not None and state.last_success is not None:
                success.add_metric([hook], state.last_success)
        yield from (outbox, oldest, disabled, success)
        lag = self._lag(cursor.commit if cursor else None)
        if lag is not None:
            yield GaugeMetricFamily("cometwatch_cursor_lag_commits", "Commits on the watched "
                                    "branch not scanned yet.", value=lag)
        yield GaugeMetricFamily("cometwatch_fetch_failing", "1 while fetching the remote "
                                "fails (remote mode).", value=1.0 if self._fetch_failing() else 0.0)

    def _lag(self, cursor: str | None) -> int | None:
        """Commits from the cursor to the branch's tip; None without a cursor or a tip."""
        from cometwatch.gitrepo import Repository

        settings = self._site.config.repository
        branch = self._site.branch
        ref = f"refs/remotes/{settings.remote}/{branch}" if settings.remote \
            else f"refs/heads/{branch}"
        with self._lock:
            try:
                if self._repo is None:
                    self._repo = Repository(settings.path)
                tip = self._repo.resolve(ref)
                if tip is None or cursor is None:
                    return None
                return 0 if tip == cursor else self._repo.count(cursor, tip)
            except CometwatchError as exc:
                log.debug("metrics: the branch cannot be read: %s", exc)
                return None

    def _fetch_failing(self) -> bool:
        from cometwatch.daemon import fetch_failure

        if not self._site.config.repository.remote:
            return False
        return fetch_failure(self._site.state_path.parent) is not None


def blueprint(site: SiteContext) -> Blueprint:
    """GET /metrics: the site's Metrics and the state's gauges; behind `Authorization:
    Bearer` when [server] metrics_token is set."""
    from cometwatch.web.app import error_response

    routes = Blueprint("metrics", __name__)
    metrics = site.metrics
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_StateGauges(site))
    token = site.server.metrics_token

    @routes.get("")
    def scrape() -> Response:
        if token is not None:
            problem = bearer_problem(request.headers.get("Authorization", ""), token.reveal())
            if problem:
                response = error_response(401, "unauthorized", problem)
                response.headers["WWW-Authenticate"] = 'Bearer realm="cometwatch metrics"'
                return response
        body = generate_latest(metrics.registry) + generate_latest(gauges)
        # 0.0.4: the text format every Prometheus (and every other scraper) reads.
        return Response(body, content_type=CONTENT_TYPE_PLAIN_0_0_4,
                        headers={"Cache-Control": "no-store"})

    return routes


def bearer_problem(header: str, token: str) -> str | None:
    """Why an Authorization header does not carry the metrics token; None when it does."""
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return "Missing bearer token."
    if not hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"),
                               token.encode("utf-8", "surrogatepass")):
        return "Invalid bearer token."
    return None



class _Merged(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


class FleetScrape:
    """Many sites' metrics in one scrape (cometwatch.fleet): each family once, each sample
    labelled `site` with its workspace."""

    def __init__(self) -> None:
        self._gauges: dict[str, tuple[SiteContext, _StateGauges]] = {}
        self._lock = threading.Lock()

    def render(self, sites: Iterable[tuple[str, SiteContext]]) -> tuple[bytes, str]:
        """(body, content type) of one scrape of `sites` (workspace, context)."""
        with self._lock:
            current = {}
            for workspace, site in sites:
                cached = self._gauges.get(workspace)
                gauges = cached[1] if cached and cached[0] is site else _StateGauges(site)
                current[workspace] = (site, gauges)
            self._gauges = current
        merged: dict[str, Metric] = {}
        for workspace, (site, gauges) in current.items():
            for collector in (site.metrics.registry, gauges):
                for family in collector.collect():
                    target = merged.get(family.name)
                    if target is None:
                        target = Metric(family.name, family.documentation, family.type,
                                        family.unit)
                        merged[family.name] = target
                    target.samples.extend(sample._replace(labels={"site": workspace,
                                                                  **sample.labels})
                                          for sample in family.samples)
        return generate_latest(_Merged(list(merged.values()))), CONTENT_TYPE_PLAIN_0_0_4
