"""API figures: bulk ingestion through the API against the file import of the same lines, and
budget vs actual over the API under 8 concurrent clients against the selector alone."""

from __future__ import annotations

import json
import statistics
import threading
import time
from datetime import timedelta

from bench import Figure, log

CLIENTS = 8
REQUESTS_PER_CLIENT = 6
BULK_REQUEST_LINES = 10_000


def _chunks(records: list[dict], size: int) -> list[list[dict]]:
    """Requests of at most `size` lines, never splitting an entry (its lines share entity and entry_ref)."""
    chunks, current = [], []
    for i, record in enumerate(records):
        current.append(record)
        last_of_entry = i + 1 == len(records) or (records[i + 1]["entity"], records[i + 1]["entry_ref"]) != (
            record["entity"], record["entry_ref"])
        if last_of_entry and len(current) >= size - 20:  # an entry has at most a few lines
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def bulk_figure(*, accounts: int, cost_centers: int, lines: int, today) -> tuple[Figure, str]:
    from django.test import Client

    import bench
    from finops.api.tokens import token_create
    from finops.demo.volume import gl_csv_rows
    from finops.ledger.importers import gl_import
    from finops.tenancy.context import tenant_context
    from finops.tenancy.models import Membership

    file_org = bench.tenant_create(accounts=accounts, cost_centers=cost_centers, role="finance")
    api_org = bench.tenant_create(accounts=accounts, cost_centers=cost_centers, role="finance")
    rows = list(gl_csv_rows(org=file_org, lines=lines, today=today))
    header, body = rows[0], rows[1:]
    data = ("\n".join(",".join(r) for r in rows) + "\n").encode()
    log(f"API bulk: {len(body):,} lines, one file into {file_org.slug}, "
        f"{BULK_REQUEST_LINES:,}-line requests into {api_org.slug} ...")
    started = time.perf_counter()
    result = gl_import(tenant=file_org, actor=None, data=data, filename="bench-bulk.csv")
    file_time = time.perf_counter() - started
    assert result.ok, result.summary()
    with tenant_context(api_org):
        member = Membership.objects.select_related("user").get(organization=api_org)
    token = token_create(tenant=api_org, actor=None, name="bench bulk", user=member.user,
                         scopes=["read", "write"]).secret
    records = [{k: (v or None) for k, v in zip(header, r, strict=True)} for r in body]
    requests = [json.dumps({"lines": chunk}) for chunk in _chunks(records, BULK_REQUEST_LINES)]
    client = Client()
    started = time.perf_counter()
    created = 0
    for payload in requests:
        response = client.post("/api/v1/gl-imports", data=payload, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}", secure=True)
        assert response.status_code == 201, response.content[:500]
        created += response.json()["created"]
    api_time = time.perf_counter() - started
    assert created == result.created, (created, result.created)
    figure = Figure(f"API bulk ingestion, {len(body):,} lines in {len(requests)} POSTs vs one file import",
                    api_time, file_time, "≥ 0.8", rows=len(body))
    return figure, f"API bulk: {created:,} entries through the API = {result.created:,} through the file"


def _gunicorn(port: int, log_path: str):
    """The web server as `make run` starts it (2 workers × 4 threads), on plain HTTP for the bench."""
    import os
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    env = {**os.environ, "SECURE_SSL_REDIRECT": "0", "API_RATE_LIMIT": str(10**6),
           "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "finops.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                "--threads", "4", "--error-logfile", log_path], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2).read()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: see {log_path}") from None
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"gunicorn did not answer within 60 s: see {log_path}")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def concurrent_figures(t, *, runs: int) -> tuple[list[Figure], str]:
    """GET budget vs actual (one cost center, year to date) by 8 clients at once over real HTTP to
    gunicorn as `make run` starts it, p50 and p95, against the selector alone (median of `runs`)."""
    import tempfile
    import urllib.request

    from budgets.reports import budget_vs_actual
    from finops.api.tokens import token_create
    from finops.tenancy.context import tenant_context
    from finops.tenancy.models import Membership

    org, version = t.org, t.version
    month = t.months[8]
    with tenant_context(org):
        member = Membership.objects.select_related("user").filter(organization=org).first()
    token = token_create(tenant=org, actor=None, name=f"bench concurrent {time.time():.0f}", user=member.user,
                         scopes=["read"]).secret
    as_of = t.months[-1] + timedelta(days=31)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        budget_vs_actual(tenant=org, version=version, period=month, basis="ytd", cost_center=t.cost_center,
                         as_of=as_of)
        times.append(time.perf_counter() - started)
    selector = statistics.median(times)
    port = _free_port()
    url = (f"http://127.0.0.1:{port}/api/v1/budget-versions/{version.pk}/budget-vs-actual?month={month:%Y-%m}"
           f"&basis=ytd&cost_center={t.cost_center.code}&limit=200")
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def get() -> float:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
        except OSError as exc:
            failures.append(str(exc))
        return time.perf_counter() - started

    def client():
        for _ in range(REQUESTS_PER_CLIENT):
            elapsed = get()
            with lock:
                latencies.append(elapsed)

    log_file = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False).name
    server = _gunicorn(port, log_file)
    try:
        for _ in range(4):  # each worker process warms up (imports, connections)
            get()
        single = statistics.median([get() for _ in range(5)])
        log(f"API budget vs actual over HTTP: one client {single * 1000:.0f} ms; "
            f"{CLIENTS} clients × {REQUESTS_PER_CLIENT} requests ...")
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not failures, failures[:3]
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))]
    label = f"GET budget vs actual over HTTP (gunicorn 2×4), one cost center YTD, {CLIENTS} concurrent clients"
    return ([Figure(f"{label}: p50", p50, selector, note="vs the selector alone"),
             Figure(f"{label}: p95", p95, selector, note="vs the selector alone")],
            f"API budget vs actual: {len(latencies)} requests over HTTP, all 200; selector alone "
            f"{selector * 1000:.1f} ms, one client alone {single * 1000:.0f} ms")
