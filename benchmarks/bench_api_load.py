"""Load test of the REST API: concurrent clients, real packages, a killed and restarted server.

Starts `shencha api` on a free local port with a fresh store (SQLite in a
temporary folder, or a new PostgreSQL database when `SHENCHA_TEST_PG_URL`
is set or `--db` names one), creates an API key with `shencha api-keys add`,
then runs a bounded asyncio client (httpx): `--clients` concurrent clients
send `--submissions` applications in total, cycling over `--packages` real
fixture packages (each zipped once). Every submission has its own
Idempotency-Key; after about `--retry-rate` of them the client re-sends an
earlier key of its own, which must answer the same job. Each client polls
its job (`GET /api/v1/jobs/{id}`) until it is done, then sends the next.

When `--kill-at` of the submissions have been accepted, the API process is
killed with SIGKILL (`--kill-mode group`: the API with its review pool, like
a machine or container dying; `process`: the API process alone, its pool
processes orphaned), restarted on the same store and port, and the clients
carry on; a request that meets the dead server is retried (a submission
with its own key, so it cannot create a second job).

At the end: every accepted submission's job must be `done` (none lost), the
store must hold exactly one job per key and exactly one report per
application, made by that job (none duplicated), and every deliberate retry
must have answered the same job. Prints submissions, retries, jobs
done/failed, wall time, throughput, status-poll latency p50/p95/p99 (outside
the restart window, and over the whole run), submit latency p95 and the load
average; exits 1 when a check fails.

    python -m benchmarks.bench_api_load [--submissions 200 --clients 20 --workers 2]

`tests/test_api_load_smoke.py` runs the same client at a tiny scale.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.common import FIXTURES

# Bundled samples whose documents are text PDFs (plus a few photos and, in
# jz_jiangsu, one DXF): OCR runs once per photo, later reviews read it from
# the store's OCR cache. jz_beijing_clean is left out: its review takes ~45 s.
DEFAULT_PACKAGES = [FIXTURES / "packages" / name for name in (
    "wh_hubei_missing_plan", "jz_shanxi_defects", "fm_guangxi_defects", "wh_zhejiang_defects",
    "jz_jiangsu_defects")]
PG_ENV = "SHENCHA_TEST_PG_URL"
SCOPES = "submit,read_reports"


def zip_package(folder: Path) -> bytes:
    """The package folder as one .zip (its files at the root, application.json included)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_pg_database(url: str) -> str:
    """A new empty PostgreSQL database on the server `url` names; returns its URL."""
    from sqlalchemy import create_engine, text

    name = f"load_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False)


def create_api_key(db_url: str, name: str = "load-platform") -> str:
    """`shencha api-keys add NAME --scopes submit,read_reports`: the key it prints once."""
    out = subprocess.run([sys.executable, "-m", "shencha.cli", "api-keys", "add", name, "--scopes", SCOPES,
                          "--db", db_url], capture_output=True, text=True, check=True,
                         env={**os.environ, "SHENCHA_DB": db_url})
    return out.stdout.strip().splitlines()[-1].strip()


class ApiServer:
    """`shencha api` in its own session (process group) on a fixed port, stderr to a file."""

    def __init__(self, db_url: str, port: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.db_url, self.port, self.log = db_url, port, log
        self.env = {**os.environ, "SHENCHA_DB": db_url, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.groups: list[int] = []  # every process group started, for the final clean-up

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> float:
        """Start and wait until the OpenAPI document answers; returns the seconds it took."""
        t0 = time.monotonic()
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shencha.cli", "api", "--port", str(self.port), "--db", self.db_url],
                env=self.env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=err)
        self.groups.append(self.proc.pid)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API exited ({self.proc.returncode}); see {self.log}")
            try:
                if httpx.get(self.base + "/api/v1/openapi.json", timeout=5).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the API did not start in {timeout:.0f} s; see {self.log}")

    def kill(self, mode: str = "group") -> None:
        """SIGKILL: the API with its pool processes (`group`) or the API process alone (`process`)."""
        assert self.proc is not None
        if mode == "group":
            os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM to the running server's group, then SIGKILL to every group left (orphaned pools)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        for group in self.groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.wait(10)


@dataclass
class LoadConfig:
    submissions: int = 200
    clients: int = 20
    retry_rate: float = 0.10
    packages: list[Path] = field(default_factory=lambda: list(DEFAULT_PACKAGES))
    zips: list[tuple[str, bytes]] | None = None  # ready-made (name, zip bytes); overrides `packages`
    kill_at: float | None = 0.5  # fraction of submissions accepted when the API is killed; None: no kill
    kill_mode: str = "group"
    restart_delay: float = 1.0
    workers: int = 2
    poll_interval: float = 1.0
    db: str | None = None  # store URL; default: PostgreSQL when SHENCHA_TEST_PG_URL is set, else a temp SQLite
    timeout: float = 3600.0  # for the whole run
    seed: int = 14
    fetch_reports: bool = True
    progress: bool = False  # a line on stderr every 30 s


@dataclass
class Call:
    kind: str  # "submit" | "retry" | "poll"
    start: float  # monotonic, first attempt
    end: float  # monotonic, the answer that counted
    attempts: int  # HTTP attempts (more than one: the server was unreachable)


@dataclass
class LoadResult:
    config: LoadConfig
    db_kind: str = ""
    submissions: int = 0  # accepted fresh submissions (distinct keys)
    retries: int = 0  # deliberate re-sends of an earlier key
    retries_same_job: int = 0
    resent_after_connection_loss: int = 0  # submissions re-sent because the server was unreachable
    resent_found_first: int = 0  # ... of which the first attempt had already been stored
    retries_resent: int = 0  # deliberate retries that also met the dead server and were sent again
    done: int = 0
    failed: int = 0
    not_finished: int = 0
    store_jobs: int = 0
    store_jobs_done: int = 0
    jobs_rerun: int = 0  # jobs claimed more than once (re-queued after the kill)
    apps_with_one_report: int = 0
    apps_with_no_report: int = 0
    apps_with_more_reports: int = 0
    reports_not_from_their_job: int = 0
    reports_fetched: int = 0
    at_kill: dict[str, int] = field(default_factory=dict)
    restarts: int = 0
    kill_t: float | None = None
    ready_t: float | None = None
    startup_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    http_requests: int = 0
    calls: list[Call] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # statuses or answers that should not happen
    transport_errors_outside: list[str] = field(default_factory=list)  # connection errors, server up
    load_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_samples: list[float] = field(default_factory=list)  # 1-minute load average every 5 s

    def problems(self) -> list[str]:
        """Every failed check; empty when the run passed."""
        out = []
        n = self.config.submissions
        if self.submissions != n:
            out.append(f"accepted {self.submissions} of {n} submissions")
        if self.done != self.submissions:
            out.append(f"{self.submissions - self.done} accepted submissions not done "
                       f"({self.failed} failed, {self.not_finished} unfinished)")
        if self.store_jobs != self.submissions:
            out.append(f"the store holds {self.store_jobs} jobs for {self.submissions} keys")
        if self.store_jobs_done != self.submissions:
            out.append(f"the store has {self.store_jobs_done} of {self.submissions} jobs done")
        if self.apps_with_one_report != self.submissions or self.apps_with_more_reports or self.apps_with_no_report:
            out.append(f"reports per application: {self.apps_with_one_report} with one, "
                       f"{self.apps_with_more_reports} with more, {self.apps_with_no_report} with none")
        if self.reports_not_from_their_job:
            out.append(f"{self.reports_not_from_their_job} reports not made by their job")
        if self.retries_same_job != self.retries:
            out.append(f"{self.retries - self.retries_same_job} of {self.retries} retries answered another job")
        if self.config.kill_at is not None and self.restarts != 1:
            out.append(f"{self.restarts} restarts (expected 1)")
        if self.config.fetch_reports and self.reports_fetched != self.done:
            out.append(f"fetched {self.reports_fetched} of {self.done} reports")
        out.extend(self.unexpected[:20])
        return out

    # -- figures ------------------------------------------------------------------------------

    def _in_window(self, c: Call) -> bool:
        if self.kill_t is None:
            return False
        ready = self.ready_t if self.ready_t is not None else float("inf")
        return c.start <= ready and c.end >= self.kill_t

    def latencies(self, kind: str, window: bool) -> list[float]:
        """Seconds per call (first attempt to the answer); `window=False` leaves out calls overlapping it."""
        return sorted(c.end - c.start for c in self.calls
                      if c.kind == kind and (window or not self._in_window(c)))

    def report(self) -> str:
        cfg = self.config
        lines = []
        add = lines.append
        names = [p for p, _ in cfg.zips] if cfg.zips else [p.name for p in cfg.packages]
        add(f"store: {self.db_kind}; API review workers: {cfg.workers}; clients: {cfg.clients}; "
            f"poll interval: {cfg.poll_interval:.1f} s; packages ({len(names)}): {', '.join(names)}")
        add(f"submissions: {self.submissions} accepted of {cfg.submissions} (distinct Idempotency-Keys)")
        add(f"retries: {self.retries} deliberate re-sends of an earlier key, {self.retries_same_job} answered "
            f"the same job; {self.resent_after_connection_loss} submissions re-sent after the connection was lost "
            f"({self.resent_found_first} of them had been stored by the first attempt), "
            f"{self.retries_resent} deliberate retries re-sent after it")
        add(f"jobs: {self.done} done, {self.failed} failed, {self.not_finished} unfinished; "
            f"{self.jobs_rerun} claimed again after the kill")
        add(f"store: {self.store_jobs} jobs ({self.store_jobs_done} done); applications with exactly one report: "
            f"{self.apps_with_one_report}, with more: {self.apps_with_more_reports}, with none: "
            f"{self.apps_with_no_report}; reports not made by their job: {self.reports_not_from_their_job}; "
            f"reports fetched over HTTP: {self.reports_fetched}")
        if self.kill_t is not None:
            down = (self.ready_t - self.kill_t) if self.ready_t else float("nan")
            state = ", ".join(f"{k} {v}" for k, v in self.at_kill.items())
            add(f"kill: SIGKILL ({cfg.kill_mode}) at {self.at_kill.get('accepted', 0)} accepted submissions; "
                f"jobs in the store just after it: {state}; unreachable {down:.1f} s (restarted {cfg.restart_delay:.1f} s "
                f"after the kill, answering {self.startup_s[-1]:.1f} s after that)")
        add(f"wall time: {self.wall_s:.1f} s (first submission to last job done)")
        if self.transport_errors_outside:
            kinds = sorted(set(self.transport_errors_outside))
            add(f"connection errors while the server was up (retried): {len(self.transport_errors_outside)} "
                f"({', '.join(kinds)})")
        add(f"throughput: {self.done / self.wall_s * 60:.1f} jobs/min ({self.done / self.wall_s:.3f} jobs/s); "
            f"{self.http_requests} HTTP requests ({self.http_requests / self.wall_s:.1f}/s)")
        for window, label in ((False, "excluding the restart window"), (True, "including the restart window")):
            polls = self.latencies("poll", window)
            add(f"status poll latency ({label}): n={len(polls)} p50 {pct(polls, 50) * 1000:.0f} ms, "
                f"p95 {pct(polls, 95) * 1000:.0f} ms, p99 {pct(polls, 99) * 1000:.0f} ms, "
                f"max {max(polls, default=0) * 1000:.0f} ms")
        for window, label in ((False, "excluding the restart window"), (True, "including it")):
            subs = sorted(self.latencies("submit", window) + self.latencies("retry", window))
            add(f"submit latency ({label}): n={len(subs)} p50 {pct(subs, 50) * 1000:.0f} ms, "
                f"p95 {pct(subs, 95) * 1000:.0f} ms, max {max(subs, default=0) * 1000:.0f} ms")
        mean = statistics.fmean(self.load_samples) if self.load_samples else float("nan")
        add(f"load average (1/5/15 min): start {fmt_load(self.load_start)}, end {fmt_load(self.load_end)}; "
            f"1-min during the run: mean {mean:.2f}, max {max(self.load_samples, default=float('nan')):.2f} "
            f"({os.cpu_count()} CPUs, shared)")
        problems = self.problems()
        add("checks: " + ("PASSED: every accepted submission done, none lost, none duplicated, "
                          "every retry answered the same job" if not problems else "FAILED"))
        lines.extend(f"  - {p}" for p in problems)
        return "\n".join(lines)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of sorted `values`; 0 when empty."""
    if not values:
        return 0.0
    rank = max(1, int(-(-q * len(values) // 100)))
    return values[min(rank, len(values)) - 1]


def fmt_load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


@dataclass
class _Plan:
    """One client's work: fresh submissions (global index) and, after some, a retry of an earlier key."""

    submissions: list[int]
    retry_after: set[int]


def make_plans(cfg: LoadConfig) -> list[_Plan]:
    rng = random.Random(cfg.seed)
    plans = [_Plan([i for i in range(cfg.submissions) if i % cfg.clients == c], set()) for c in range(cfg.clients)]
    # A retry needs an earlier key of the same client: any submission of a client after its first works
    # (the key re-sent is one of that client's keys so far, the one just accepted included).
    candidates = [i for p in plans for i in p.submissions]
    n_retries = min(len(candidates), round(cfg.retry_rate * cfg.submissions))
    for i in rng.sample(candidates, n_retries):
        plans[i % cfg.clients].retry_after.add(i)
    return plans


class _Run:
    def __init__(self, cfg: LoadConfig, result: LoadResult, server: ApiServer, key: str,
                 zips: list[tuple[str, bytes]]) -> None:
        self.cfg, self.result, self.server, self.zips = cfg, result, server, zips
        self.headers = {"Authorization": f"Bearer {key}"}
        self.tag = uuid.uuid4().hex[:8]
        self.accepted: dict[str, dict] = {}  # key -> {"job_id", "application_id", "package"}
        self.final: dict[str, dict] = {}  # job_id -> last job answer
        self.resent: list[tuple[str, float]] = []  # (key, wall-clock time of the re-send that answered)
        self.kill_event = asyncio.Event()
        self.deadline = time.monotonic() + cfg.timeout
        self.rng = random.Random(cfg.seed + 1)

    def key(self, i: int) -> str:
        return f"load-{self.tag}-{i:04d}"

    async def _request(self, http: httpx.AsyncClient, kind: str, method: str, url: str, ok: tuple[int, ...],
                       **kw) -> tuple[httpx.Response, Call, float]:
        """One logical call; transport errors (server down) and 5xx are retried until the deadline."""
        start, attempts, delay, last_wall = time.monotonic(), 0, 0.2, time.time()
        while True:
            attempts += 1
            self.result.http_requests += 1
            last_wall, last_mono = time.time(), time.monotonic()
            try:
                r = await http.request(method, url, **kw)
            except httpx.TransportError as exc:
                r = None
                res = self.result
                if res.kill_t is None or (res.ready_t is not None and last_mono > res.ready_t):
                    res.transport_errors_outside.append(f"{kind}: {type(exc).__name__}")
            if r is not None and r.status_code in ok:
                call = Call(kind, start, time.monotonic(), attempts)
                self.result.calls.append(call)
                return r, call, last_wall
            if r is not None and r.status_code < 500:
                raise AssertionError(f"{kind} {url}: HTTP {r.status_code} {r.text[:200]}")
            if r is not None:  # a 5xx is never expected, even while restarting
                self.result.unexpected.append(f"{kind} {url}: HTTP {r.status_code} {r.text[:200]}")
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"{kind} {url}: no answer before the deadline")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 2.0)

    async def submit(self, http: httpx.AsyncClient, kind: str, i: int) -> dict:
        name, data = self.zips[i % len(self.zips)]
        r, call, wall = await self._request(
            http, kind, "POST", "/api/v1/applications", (202,), headers={"Idempotency-Key": self.key(i)},
            files=[("file", (f"{name}.zip", data, "application/zip"))])
        if call.attempts > 1 and kind == "submit":
            self.resent.append((self.key(i), wall))
        elif call.attempts > 1:
            self.result.retries_resent += 1
        return r.json()

    async def wait_done(self, http: httpx.AsyncClient, job_id: str) -> dict:
        while True:
            await asyncio.sleep(self.cfg.poll_interval * self.rng.uniform(0.5, 1.5))
            r, _, _ = await self._request(http, "poll", "GET", f"/api/v1/jobs/{job_id}", (200,))
            body = r.json()
            if body["status"] in ("done", "failed"):
                return body
            if time.monotonic() > self.deadline:
                return body

    async def client(self, http: httpx.AsyncClient, plan: _Plan) -> None:
        mine: list[int] = []
        for i in plan.submissions:
            answer = await self.submit(http, "submit", i)
            self.accepted[self.key(i)] = {**answer, "package": self.zips[i % len(self.zips)][0]}
            self.result.submissions = len(self.accepted)
            mine.append(i)
            if self.cfg.kill_at is not None and len(self.accepted) >= self.cfg.kill_at * self.cfg.submissions:
                self.kill_event.set()
            if i in plan.retry_after:
                earlier = self.rng.choice(mine)
                again = await self.submit(http, "retry", earlier)
                first = self.accepted[self.key(earlier)]
                self.result.retries += 1
                if (again["job_id"], again["application_id"]) == (first["job_id"], first["application_id"]):
                    self.result.retries_same_job += 1
                else:
                    self.result.unexpected.append(f"retry of {self.key(earlier)} answered {again}, first {first}")
            self.final[answer["job_id"]] = await self.wait_done(http, answer["job_id"])

    async def killer(self) -> None:
        if self.cfg.kill_at is None:
            return
        await self.kill_event.wait()
        self.result.at_kill = {"accepted": len(self.accepted)}
        self.result.kill_t = time.monotonic()
        await asyncio.to_thread(self.server.kill, self.cfg.kill_mode)
        self.result.at_kill.update(job_states(self.server.db_url))
        await asyncio.sleep(self.cfg.restart_delay)
        self.result.startup_s.append(await asyncio.to_thread(self.server.start))
        self.result.ready_t = time.monotonic()
        self.result.restarts += 1

    async def sample_load(self, stop: asyncio.Event) -> None:
        t0, last = time.monotonic(), 0.0
        while not stop.is_set():
            self.result.load_samples.append(os.getloadavg()[0])
            if self.cfg.progress and time.monotonic() - last >= 30:
                last = time.monotonic()
                print(f"[{last - t0:6.0f} s] accepted {len(self.accepted)}, finished {len(self.final)}, "
                      f"load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
            try:
                await asyncio.wait_for(stop.wait(), 5)
            except TimeoutError:
                pass

    async def fetch_reports(self, http: httpx.AsyncClient) -> None:
        sem = asyncio.Semaphore(self.cfg.clients)

        async def one(view: dict) -> None:
            async with sem:
                try:
                    r, _, _ = await self._request(http, "report", "GET", f"/api/v1/reports/{view['report_id']}",
                                                  (200,))
                except (AssertionError, TimeoutError) as exc:
                    self.result.unexpected.append(f"report {view['report_id']}: {exc}"[:300])
                    return
                body = r.json()
                if (r.headers.get("content-digest", "").startswith("sha-256=:")
                        and body.get("report_id") == view["report_id"]):
                    self.result.reports_fetched += 1
                else:
                    self.result.unexpected.append(f"report {view['report_id']}: no digest or another report")

        await asyncio.gather(*(one(v) for v in self.final.values() if v["status"] == "done"))

    async def run(self) -> None:
        plans = make_plans(self.cfg)
        limits = httpx.Limits(max_connections=self.cfg.clients * 2)
        stop = asyncio.Event()
        sampler = asyncio.create_task(self.sample_load(stop))
        killer = asyncio.create_task(self.killer())
        async with httpx.AsyncClient(base_url=self.server.base, headers=self.headers, timeout=120,
                                     limits=limits) as http:
            t0 = time.monotonic()
            outcomes = await asyncio.gather(*(self.client(http, p) for p in plans), return_exceptions=True)
            self.result.wall_s = time.monotonic() - t0
            for exc in outcomes:
                if isinstance(exc, BaseException):
                    self.result.unexpected.append(f"client stopped: {type(exc).__name__}: {exc}"[:300])
            if self.cfg.kill_at is not None and not killer.done():
                self.kill_event.set()  # every client finished before the kill point: kill now, for the check
            await killer
            if self.cfg.fetch_reports:
                await self.fetch_reports(http)
        stop.set()
        await sampler


def job_states(db_url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from shencha.schema import JobRow
    from shencha.store import Store

    with Store(db_url).session() as session:
        rows = session.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all()
    return {status: n for status, n in sorted(rows)}


def check_store(db_url: str, run: _Run) -> None:
    """One job per key, every job done, exactly one report per application, made by its job."""
    from sqlalchemy import func, select

    from shencha.review import application_key
    from shencha.schema import ApplicationRow, JobRow, ReportRow
    from shencha.store import Store

    res = run.result
    with Store(db_url).session() as session:
        jobs = {row.idempotency_key: row for row in session.scalars(select(JobRow))}
        res.store_jobs = len(jobs)
        res.store_jobs_done = sum(1 for row in jobs.values() if row.status == "done")
        res.jobs_rerun = sum(1 for row in jobs.values() if row.attempts > 1)
        for key, answer in run.accepted.items():
            row = jobs.get(key)
            if row is None or row.id != answer["job_id"] or row.application_no != answer["application_id"]:
                res.unexpected.append(f"{key}: the store's job does not match the answer {answer}")
                continue
            reports = session.execute(
                select(ReportRow.application_id, ReportRow.version, ReportRow.source_path).join(ApplicationRow)
                .where(ApplicationRow.key == application_key(row.application_no))).all()
            if not reports:
                res.apps_with_no_report += 1
            elif len(reports) > 1:
                res.apps_with_more_reports += 1
            else:
                res.apps_with_one_report += 1
                app_id, version, source = reports[0]
                if not source.startswith(f"api/{row.id}/") or row.report_key != f"app-{app_id}-v{version}":
                    res.reports_not_from_their_job += 1
        n_reports = session.scalar(select(func.count()).select_from(ReportRow))
        if n_reports != len(run.accepted):
            res.unexpected.append(f"the store holds {n_reports} reports for {len(run.accepted)} submissions")
        for key, wall in run.resent:
            row = jobs.get(key)
            if row is not None and row.created_at.timestamp() < wall:
                res.resent_found_first += 1
    res.resent_after_connection_loss = len(run.resent)


async def run_load(cfg: LoadConfig) -> LoadResult:
    result = LoadResult(config=cfg)
    result.load_start = os.getloadavg()
    zips = cfg.zips or [(p.name, zip_package(p)) for p in cfg.packages]
    with tempfile.TemporaryDirectory(prefix="shencha-load-") as tmp:
        db_url = cfg.db or (fresh_pg_database(os.environ[PG_ENV]) if os.environ.get(PG_ENV)
                            else f"sqlite:///{Path(tmp) / 'shencha.db'}")
        result.db_kind = db_url.split(":", 1)[0]
        key = await asyncio.to_thread(create_api_key, db_url)
        server = ApiServer(db_url, free_port(), Path(tmp) / "api.log",
                           env={"SHENCHA_API_WORKERS": str(cfg.workers)})
        run = _Run(cfg, result, server, key, zips)
        try:
            result.startup_s.append(await asyncio.to_thread(server.start))
            await run.run()
        finally:
            await asyncio.to_thread(server.stop)
            log = server.log.read_text("utf-8", "replace") if server.log.exists() else ""
        for view in run.final.values():
            if view["status"] == "done":
                result.done += 1
            elif view["status"] == "failed":
                result.failed += 1
                result.unexpected.append(f"job {view['job_id']} failed: {view.get('error_code')} {view.get('error')}")
        result.not_finished = len(run.accepted) - result.done - result.failed
        check_store(db_url, run)
        if result.problems() and log.strip():
            result.unexpected.append("API stderr (tail): " + log[-1500:])
    result.load_end = os.getloadavg()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--retry-rate", type=float, default=0.10, help="deliberate retries per submission")
    parser.add_argument("--packages", nargs="+", type=Path, default=DEFAULT_PACKAGES, help="package folders")
    parser.add_argument("--workers", type=int, default=2, help="SHENCHA_API_WORKERS of the server")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="mean seconds between status polls")
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction accepted when the API is killed")
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--kill-mode", choices=("group", "process"), default="group")
    parser.add_argument("--db", default=None, help=f"store URL (default: a fresh database on ${PG_ENV}, else SQLite)")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    cfg = LoadConfig(submissions=args.submissions, clients=args.clients, retry_rate=args.retry_rate,
                     packages=args.packages, workers=args.workers, poll_interval=args.poll_interval,
                     kill_at=None if args.no_kill else args.kill_at, kill_mode=args.kill_mode, db=args.db,
                     timeout=args.timeout, progress=True)
    result = asyncio.run(run_load(cfg))
    print(result.report())
    sys.exit(1 if result.problems() else 0)


if __name__ == "__main__":
    main()
