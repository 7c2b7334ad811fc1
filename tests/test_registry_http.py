"""The HTTP source against a real HTTP server on 127.0.0.1 (no mocked client)."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from registry_sync.lookup import RegistryLookup
from registry_sync.sources import HttpSource, SourceError
from registry_sync.sync import SyncError, last_cursor, sync
from registry_sync.testing import certificate_rows, fresh_engine

ROWS = [dict(r, updated_at=f"2026-11-{1 + i // 10:02d}T08:00:00") for i, r in enumerate(certificate_rows(25))]


class Registry:
    """What the fake authority's API does; tests switch behaviours on and off."""

    def __init__(self):
        self.rows = list(ROWS)
        self.page_size = 10
        self.fail_first = 0  # this many 500s before answering
        self.slow_first = 0  # this many requests that sleep past the client timeout
        self.slow_seconds = 3.0
        self.malformed_page: int | None = None
        self.status: int | None = None  # answer every request with this status
        self.requests: list[dict] = []

    def page(self, query: dict) -> tuple[int, bytes]:
        self.requests.append(query)
        if self.status is not None:
            return self.status, json.dumps({"error": "无权访问"}, ensure_ascii=False).encode()
        if self.fail_first > 0:
            self.fail_first -= 1
            return 500, b"internal error"
        if self.slow_first > 0:
            self.slow_first -= 1
            time.sleep(self.slow_seconds)
        page = int(query.get("page", ["1"])[0])
        since = query.get("updated_since", [None])[0]
        rows = [r for r in self.rows if since is None or r["updated_at"] > since]
        if self.malformed_page == page:
            return 200, b'{"items": [ {"cert_no": "T1'  # cut off mid-body
        chunk = rows[(page - 1) * self.page_size: page * self.page_size]
        pages = max(1, -(-len(rows) // self.page_size))
        return 200, json.dumps({"items": chunk, "page": page, "pages": pages}, ensure_ascii=False).encode()


@pytest.fixture
def api():
    registry = Registry()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            query = parse_qs(urlsplit(self.path).query)
            status, body = registry.page(query)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    registry.url = f"http://127.0.0.1:{server.server_address[1]}/api/certificates"
    yield registry
    server.shutdown()
    server.server_close()


@pytest.fixture
def engine(tmp_path):
    eng = fresh_engine("sqlite", tmp_path)
    yield eng
    eng.dispose()


def _source(api, **kw):
    kw.setdefault("page_size", 10)
    kw.setdefault("timeout", 10.0)  # generous: CI machines are shared
    kw.setdefault("backoff", 0.01)
    return HttpSource(api.url, **kw)


def test_pages_are_followed_and_loaded(api, engine):
    result = sync(engine, _source(api), as_of=date(2026, 11, 3))
    assert result.added == 25 and result.quarantined == 0
    assert [q["page"] for q in api.requests] == [["1"], ["2"], ["3"]]
    assert result.cursor == "2026-11-03T08:00:00"
    assert RegistryLookup(engine).certificate(ROWS[24]["cert_no"]).unique is not None


def test_incremental_sync_asks_only_for_updates(api, engine):
    source = _source(api)
    first = sync(engine, source, as_of=date(2026, 11, 3))
    cursor = last_cursor(engine, "certificates", source.name)
    assert cursor == first.cursor
    changed = dict(ROWS[3], status="注销", updated_at="2026-11-05T09:00:00")
    api.rows[3] = changed
    api.requests.clear()
    second = sync(engine, _source(api, updated_since=cursor), as_of=date(2026, 11, 5))
    assert api.requests[0]["updated_since"] == [cursor]
    assert second.mode == "incremental"
    # Rows absent from an incremental pull are not removed.
    assert (second.rows_read, second.changed, second.added, second.removed) == (1, 1, 0, 0)
    lookup = RegistryLookup(engine)
    assert lookup.certificate(ROWS[3]["cert_no"]).unique.record.status == "revoked"
    assert lookup.snapshot("certificates").rows == 25


def test_server_error_then_success_is_retried(api, engine):
    api.fail_first = 2
    source = _source(api)
    result = sync(engine, source)
    assert result.added == 25
    assert source.attempts == 3 + 2  # three pages, two retried failures


def test_timeout_is_retried(api, engine):
    api.slow_first = 1
    source = _source(api, timeout=1.0)
    assert sync(engine, source).added == 25
    assert source.attempts >= 4  # three pages and at least the timed-out one again
    assert api.requests[0] == api.requests[1]  # page 1 was asked for twice


def test_persistent_failure_gives_up_and_keeps_previous_snapshot(api, engine):
    first = sync(engine, _source(api), as_of=date(2026, 11, 1))
    api.fail_first = 100
    slept: list[float] = []
    with pytest.raises(SyncError, match="重试 3 次后仍然失败"):
        sync(engine, _source(api, retries=3, backoff=0.01, sleep=slept.append))
    assert slept == [0.01, 0.02, 0.04]  # exponential back-off
    assert RegistryLookup(engine).snapshot("certificates").id == first.snapshot.id


def test_malformed_page_fails_the_sync_cleanly(api, engine):
    first = sync(engine, _source(api), as_of=date(2026, 11, 1))
    api.rows = [dict(r, status="暂扣") for r in ROWS]
    api.malformed_page = 2
    with pytest.raises(SyncError, match="第 2 页返回的不是有效的 JSON"):
        sync(engine, _source(api), as_of=date(2026, 11, 2))
    lookup = RegistryLookup(engine)
    assert lookup.snapshot("certificates").id == first.snapshot.id
    # Page 1 was read before the failure, yet none of it was kept.
    assert [lookup.certificate(r["cert_no"]).unique.record.status for r in ROWS[:10]] == \
        [{"有效": "valid", "过期": "expired", "注销": "revoked", "暂扣": "suspended"}[r["status"]] for r in ROWS[:10]]


def test_client_error_is_not_retried(api, engine):
    api.status = 403
    source = _source(api)
    with pytest.raises(SyncError, match="HTTP 403"):
        sync(engine, source)
    assert source.attempts == 1


def test_not_found_is_a_clear_error(api):
    api.status = 404
    with pytest.raises(SourceError, match="拒绝了请求（HTTP 404"):
        list(_source(api).rows())


def test_connection_refused_is_retried_then_reported():
    source = HttpSource("http://127.0.0.1:9/none", retries=2, backoff=0.0, timeout=0.2)
    with pytest.raises(SourceError, match="连接失败"):
        list(source.rows())
    assert source.attempts == 3
