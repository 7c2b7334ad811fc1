"""Where registry rows come from: CSV, XLSX, JSON lines, an HTTP JSON API.

Every source yields ``(row_no, row)`` with ``row`` keyed by the source's own
headers; the mapping turns those into canonical columns. A row a source
cannot even parse (a broken JSON line, a CSV row with too many cells) is
yielded as a :class:`BrokenRow` so the sync quarantines it instead of
dropping it.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """The source as a whole cannot be read; the message is for users (Chinese)."""


@dataclass
class BrokenRow:
    reason: str
    raw: str


RowIter = Iterator[tuple[int, "dict[str, Any] | BrokenRow | None"]]
# Which rows a reader will use, by ordinal (0 for the first row): a worker
# process that validates every other batch passes one, and a source that can
# tell rows apart without parsing them hands back the others as ``None``.
Wanted = Callable[[int], bool]


class Source:
    """Base: a named, optionally fingerprinted stream of rows."""

    name: str = ""
    incremental: bool = False
    cursor: str | None = None  # for HTTP: the newest ``updated_at`` seen

    def headers(self) -> list[str] | None:
        return None

    def rows(self, wanted: Wanted | None = None) -> RowIter:  # pragma: no cover - interface
        """``(row_no, row)`` for every row; rows not ``wanted`` may come back as ``None``."""
        raise NotImplementedError

    def fingerprint(self) -> str | None:
        """sha256 of the whole input when it is a file (idempotent re-runs skip early)."""
        return None

    def progress(self) -> tuple[int, int | None]:
        """(done, total) in the source's own unit (bytes for files, rows for sheets)."""
        return (0, None)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) per the contract; GB18030 for older Chinese exports."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a cut multi-byte tail is not an error
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


class _FileSource(Source):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"找不到文件：{self.path}")
        self.name = str(self.path)
        self._size = self.path.stat().st_size
        self._raw: io.FileIO | None = None

    def fingerprint(self) -> str | None:
        return _sha256_file(self.path)

    def progress(self) -> tuple[int, int | None]:
        done = self._raw.tell() if self._raw is not None and not self._raw.closed else self._size
        return (done, self._size)

    def _open_text(self) -> io.TextIOWrapper:
        encoding = _sniff_encoding(self.path)
        self._raw = io.FileIO(self.path, "r")
        return io.TextIOWrapper(io.BufferedReader(self._raw, 1 << 20), encoding=encoding, newline="")


class CsvSource(_FileSource):
    def __init__(self, path: str | Path):
        super().__init__(path)
        self._headers: list[str] | None = None
        self._quoted: bool | None = None

    def headers(self) -> list[str]:
        if self._headers is None:
            with self._open_text() as fh:
                first = next(csv.reader(fh), None)
            if not first:
                raise SourceError(f"CSV 文件为空或没有表头：{self.path}")
            self._headers = [h.strip() for h in first]
        return self._headers

    def rows(self, wanted: Wanted | None = None) -> RowIter:
        headers = self.headers()
        width = len(headers)
        if wanted is not None and not self._has_quotes():
            records = self._records_by_line(width, wanted)
        else:
            records = self._records()
        try:
            for row_no, cells in records:
                if cells is None:
                    yield row_no, None  # not wanted: counted, not parsed
                elif len(cells) == width:
                    yield row_no, dict(zip(headers, cells))
                elif not any(c.strip() for c in cells):
                    continue  # blank line: not a row
                else:
                    yield row_no, BrokenRow(
                        f"列数为 {len(cells)}，与表头的 {width} 列不一致",
                        json.dumps(cells, ensure_ascii=False),
                    )
        except UnicodeDecodeError as exc:
            raise SourceError(f"CSV 文件编码无法识别（应为 UTF-8）：{exc.reason}") from exc
        except csv.Error as exc:
            raise SourceError(f"CSV 文件格式错误：{exc}") from exc

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        with self._open_text() as fh:
            reader = csv.reader(fh)
            next(reader, None)
            yield from enumerate(reader, start=2)  # 1 is the header line

    def _has_quotes(self) -> bool:
        """Whether any field is quoted. Without quotes a line is exactly one
        record, so rows can be counted without parsing them (the byte 0x22
        never occurs inside a multi-byte UTF-8 or GB18030 character)."""
        if self._quoted is None:
            with self.path.open("rb") as fh:
                self._quoted = any(b'"' in chunk for chunk in iter(lambda: fh.read(1 << 24), b""))
        return self._quoted

    def _records_by_line(self, width: int, wanted: Wanted) -> Iterator[tuple[int, list[str] | None]]:
        """_records() for a file without quotes: only the wanted lines are split."""
        ordinal = 0
        with self._open_text() as fh:
            next(fh, None)
            for row_no, line in enumerate(fh, start=2):
                if "\x00" in line:
                    cells = next(csv.reader((line,)))  # let csv reject it as _records() would
                else:
                    text = line.rstrip("\r\n")
                    # What csv gives for a line without quotes (an empty line has no cells).
                    if text.count(",") + 1 != width and not text.replace(",", "").strip():
                        continue  # blank: rows() would skip it, so it takes no ordinal
                    if not wanted(ordinal):
                        ordinal += 1
                        yield row_no, None
                        continue
                    cells = text.split(",") if text else []
                ordinal += 1
                yield row_no, cells


class JsonLinesSource(_FileSource):
    def headers(self) -> list[str] | None:
        with self._open_text() as fh:
            for line in fh:
                if line.strip():
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        return None
                    return list(obj) if isinstance(obj, dict) else None
        return None

    def rows(self, wanted: Wanted | None = None) -> RowIter:
        ordinal = 0
        with self._open_text() as fh:
            for row_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                ordinal += 1
                if wanted is not None and not wanted(ordinal - 1):
                    yield row_no, None  # one line is one row: no need to parse it
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    yield row_no, BrokenRow(f"不是有效的 JSON：{exc.msg}", line[:2000])
                    continue
                if not isinstance(obj, dict):
                    yield row_no, BrokenRow("不是 JSON 对象", line[:2000])
                    continue
                yield row_no, obj


class XlsxSource(_FileSource):
    """The first sheet (or ``sheet``); the first non-empty row is the header."""

    def __init__(self, path: str | Path, sheet: str | None = None):
        super().__init__(path)
        self.sheet = sheet
        self._done = 0
        self._total: int | None = None

    def _open(self):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a bad file
            raise SourceError(f"Excel 文件无法打开：{exc}") from exc
        ws = wb[self.sheet] if self.sheet else wb.worksheets[0]
        return wb, ws

    def progress(self) -> tuple[int, int | None]:
        return (self._done, self._total)

    def headers(self) -> list[str]:
        wb, ws = self._open()
        try:
            for values in ws.iter_rows(values_only=True):
                if any(v not in (None, "") for v in values):
                    return [("" if v is None else str(v)).strip() for v in values]
        finally:
            wb.close()
        raise SourceError(f"Excel 工作表为空：{self.path}")

    def rows(self, wanted: Wanted | None = None) -> RowIter:
        wb, ws = self._open()
        self._total = ws.max_row
        headers: list[str] | None = None
        try:
            for row_no, values in enumerate(ws.iter_rows(values_only=True), start=1):
                self._done = row_no
                if not any(v not in (None, "") for v in values):
                    continue
                if headers is None:
                    headers = [("" if v is None else str(v)).strip() for v in values]
                    continue
                yield row_no, dict(zip(headers, values))
        finally:
            wb.close()


# ------------------------------------------------------------------- HTTP


def _redact(url: str) -> str:
    """The URL as logged: no query string (it may carry tokens), no user info."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class HttpSource(Source):
    """A paginated JSON API.

    Each page is ``{"items": [...], "next": URL|null}``; without ``next``,
    ``has_more`` or ``page``/``pages`` drive ``?page=N``. Pages are asked for
    with ``page``, ``page_size`` and, when incremental, ``updated_since``.
    5xx, 429, timeouts and dropped connections are retried with exponential
    back-off; other 4xx fail at once with the server's words.
    """

    def __init__(
        self,
        url: str,
        *,
        updated_since: str | None = None,
        page_size: int = 1000,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        token: str | None = None,
    ):
        self.url = url
        self.name = _redact(url)
        self.updated_since = updated_since
        self.incremental = updated_since is not None
        self.page_size = page_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.token = token if token is not None else os.environ.get("SHENCHA_REGISTRY_TOKEN")
        self.cursor = updated_since
        self.pages = 0
        self.attempts = 0
        self._rows = 0

    def progress(self) -> tuple[int, int | None]:
        return (self._rows, None)

    def _get(self, client: httpx.Client, url: str, params: dict[str, Any] | None) -> Any:
        page_no = self.pages + 1
        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self.backoff * (2 ** (attempt - 1))
                log.info("registry http retry %d for page %d in %.1fs (%s)", attempt, page_no, delay, last)
                self.sleep(delay)
            self.attempts += 1
            try:
                resp = client.get(url, params=params)
            except httpx.TimeoutException:
                last = "请求超时"
                continue
            except httpx.TransportError as exc:
                last = f"连接失败（{type(exc).__name__}）"
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                last = f"HTTP {resp.status_code}"
                continue
            if resp.status_code >= 400:
                body = resp.text.strip().replace("\n", " ")[:200]
                raise SourceError(
                    f"登记库接口拒绝了请求（HTTP {resp.status_code}，第 {page_no} 页）：{body or resp.reason_phrase}"
                    + ("。请检查访问令牌（SHENCHA_REGISTRY_TOKEN）。" if resp.status_code in (401, 403) else "")
                )
            try:
                return resp.json()
            except ValueError as exc:
                raise SourceError(f"登记库接口第 {page_no} 页返回的不是有效的 JSON：{exc}") from exc
        raise SourceError(
            f"登记库接口第 {page_no} 页在重试 {self.retries} 次后仍然失败（最后一次：{last}）：{self.name}"
        )

    def rows(self, wanted: Wanted | None = None) -> RowIter:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        params: dict[str, Any] | None = {"page": 1, "page_size": self.page_size}
        if self.updated_since:
            params["updated_since"] = self.updated_since
        url = self.url
        page = 1
        with httpx.Client(timeout=self.timeout, headers=headers, follow_redirects=True) as client:
            while True:
                data = self._get(client, url, params)
                self.pages += 1
                if not isinstance(data, dict):
                    raise SourceError(f"登记库接口第 {self.pages} 页格式错误：应为 JSON 对象")
                items = next((data[k] for k in ("items", "data", "records") if k in data), None)
                if not isinstance(items, list):
                    raise SourceError(f"登记库接口第 {self.pages} 页格式错误：缺少 items 列表")
                for item in items:
                    self._rows += 1
                    if not isinstance(item, dict):
                        yield self._rows, BrokenRow("不是 JSON 对象", json.dumps(item, ensure_ascii=False)[:2000])
                        continue
                    stamp = item.get("updated_at")
                    if isinstance(stamp, str) and (self.cursor is None or stamp > self.cursor):
                        self.cursor = stamp
                    yield self._rows, item
                nxt = data.get("next")
                if nxt:
                    url, params = urljoin(url, str(nxt)), None
                    continue
                if not items:
                    break
                more = data.get("has_more")
                pages = data.get("pages")
                current = data.get("page")
                if not isinstance(current, int):
                    current = page
                if more is False or (isinstance(pages, int) and current >= pages):
                    break
                if more is None and pages is None and len(items) < self.page_size:
                    break  # a short page without hints is the last one
                page = current + 1
                params = {"page": page, "page_size": self.page_size}
                if self.updated_since:
                    params["updated_since"] = self.updated_since


def open_source(spec: str, *, sheet: str | None = None, **http: Any) -> Source:
    """A source from a path or URL, by scheme or file extension."""
    if spec.startswith(("http://", "https://")):
        return HttpSource(spec, **http)
    suffix = Path(spec).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return XlsxSource(spec, sheet=sheet)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return JsonLinesSource(spec)
    if suffix in (".csv", ".txt", ""):
        return CsvSource(spec)
    if suffix == ".xls":
        raise SourceError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）")
    raise SourceError(f"不支持的登记库文件类型：{suffix}（支持 CSV、XLSX、JSON Lines 或 HTTP 接口）")
