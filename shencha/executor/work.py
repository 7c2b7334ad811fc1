"""The review work itself, as plain functions any worker process runs (local pool or Ray task).

Nothing here imports Ray. Stores are opened once per worker process and URL.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..diff import compare
from ..review import ReviewOptions, rereview_application, review_path
from ..store import Store
from .base import RereviewOutcome, ReviewJob, ReviewOutcome

_STORES: dict[str, Store] = {}
_RULESETS: dict[str, object] = {}


def store_for(url: str) -> Store:
    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = Store(url)
    return store


# -- batch review ---------------------------------------------------------------------------

def review_one(db_url: str, index: int, job: ReviewJob, ocr_workers: int | None = None,
               ruleset_path: str | None = None, progress: bool = False) -> ReviewOutcome:
    """Review one package from a path this process can read."""
    from extractor.ingest import IngestOptions
    from extractor.ocr import OcrOptions

    start = time.perf_counter()
    store = store_for(db_url)
    options = ReviewOptions(ingest=IngestOptions(ocr=OcrOptions(workers=ocr_workers), progress=progress),
                            as_of=job.as_of, ruleset_path=ruleset_path)
    try:
        report = review_path(Path(job.path), store, options, application_id=job.application_id,
                             source_name=job.source_name, run_key=job.run_key)
    except Exception as exc:  # noqa: BLE001 - one package's defect must not stop the batch
        # No message text: it may quote a document.
        return ReviewOutcome(index, job, error=type(exc).__name__, seconds=time.perf_counter() - start)
    return _outcome(index, job, report, start)


def _outcome(index: int, job: ReviewJob, report, start: float) -> ReviewOutcome:
    pages = sum(d.pages for d in report.documents)
    ocr = sum(1 for d in report.documents for p in d.page_details if p.ocr is not None and not p.ocr.cached)
    return ReviewOutcome(index, job, report=report, seconds=time.perf_counter() - start, pages=pages, ocr_pages=ocr)


@dataclass(frozen=True)
class Staged:
    """A package put into the store for workers on other machines: a blob and how to unpack it."""

    sha256: str
    kind: str  # "folder": a zip of the folder made here; "file": the file itself (an archive or one document)
    name: str


def stage_package(store: Store, path: Path) -> Staged:
    """Put the package into the store as one blob (the folder zipped, uncompressed)."""
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                zf.write(file, file.relative_to(path).as_posix())
        data, kind = buffer.getvalue(), "folder"
    else:
        data, kind = path.read_bytes(), "file"
    sha = hashlib.sha256(data).hexdigest()
    with store.session() as session:
        store.put_blobs({sha: data}, session)
    return Staged(sha, kind, path.name or "package")


def unstage(store: Store, staged: Staged) -> None:
    """Remove a staged folder's zip (a staged file may be a document's original: it stays)."""
    if staged.kind != "folder":
        return
    from sqlalchemy import delete

    from ..schema import BlobRow

    with store.session() as session:
        session.execute(delete(BlobRow).where(BlobRow.sha256 == staged.sha256))


def review_staged(db_url: str, index: int, job: ReviewJob, staged: Staged, ruleset: tuple[str, str] | None,
                  fault_dir: str | None = None) -> ReviewOutcome:
    """Review a package staged in the store (a Ray task on any node)."""
    start = time.perf_counter()
    store = store_for(db_url)
    data = store.get_blob(staged.sha256)
    if data is None:
        return ReviewOutcome(index, job, error="StagedPackageMissing")
    folder = Path(tempfile.mkdtemp(prefix="shencha-batch-"))
    try:
        os.chmod(folder, 0o700)
        target = folder / staged.name
        if staged.kind == "folder":
            target.mkdir()
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                zf.extractall(target)  # our own zip of a folder: member names are relative
        else:
            target.write_bytes(data)
        options = ReviewOptions(as_of=job.as_of, ruleset_path=ruleset_file(ruleset, folder))
        try:
            report = review_path(target, store, options, application_id=job.application_id,
                                 source_name=job.source_name or job.path, run_key=job.run_key)
        except Exception as exc:  # noqa: BLE001 - one package's defect must not stop the batch
            return ReviewOutcome(index, job, error=type(exc).__name__, seconds=time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _maybe_crash(fault_dir, f"review-{job.run_key}")
    return _outcome(index, job, report, start)


def ruleset_file(ruleset: tuple[str, str] | None, folder: Path) -> str | None:
    """The ruleset as a file this worker can read: (path, text) from the driver."""
    if ruleset is None:
        return None
    path, text = ruleset
    if Path(path).is_file() and Path(path).read_text(encoding="utf-8") == text:
        return path  # the same machine (or a shared path): relative `extends` keep working
    local = folder / Path(path).name
    local.write_text(text, encoding="utf-8")
    return str(local)


def read_ruleset(path: str | None) -> tuple[str, str] | None:
    if path is None:
        path = os.environ.get("SHENCHA_RULESET") or None
    if path is None:
        return None
    return str(Path(path).resolve()), Path(path).read_text(encoding="utf-8")


def _maybe_crash(fault_dir: str | None, name: str) -> None:
    """Fault injection for the tests: die once, right after the write, as a killed worker would."""
    if not fault_dir:
        return
    marker = Path(fault_dir) / hashlib.sha1(name.encode()).hexdigest()
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os._exit(1)


# -- re-review ------------------------------------------------------------------------------

def rereview_chunk(db_url: str, keys: list[str], ruleset: tuple[str, str] | None, run_id: str,
                   fault_dir: str | None = None) -> list[RereviewOutcome]:
    """Check a chunk of stored cases again with one ruleset; one outcome per case."""
    from registry_sync.lookup import RegistryLookup

    store = store_for(db_url)
    loaded = _load_ruleset(ruleset)
    lookup = RegistryLookup(store.engine)  # one registry snapshot for the whole chunk
    out = []
    for key in keys:
        try:
            done = rereview_application(store, key, loaded, run_key=f"rereview:{run_id}", lookup=lookup)
        except Exception as exc:  # noqa: BLE001 - one case's defect must not stop the run
            out.append(RereviewOutcome(key, error=type(exc).__name__))
            continue
        if done is None:
            out.append(RereviewOutcome(key, error="NoReport"))
            continue
        diff = compare(done.previous, done.report)
        out.append(RereviewOutcome(
            key, application_no=done.report.application.application_no,
            previous_report=done.previous.report_id, report=done.report.report_id, version=done.report.version,
            fixed=[_brief(f) for f in diff.fixed], new=[_brief(f) for f in diff.new],
            remaining=[_brief(f) for f in diff.remaining]))
    _maybe_crash(fault_dir, f"rereview-{run_id}-{keys[0] if keys else ''}")
    return out


def _brief(finding) -> dict:
    return {"id": finding.id, "rule_id": finding.rule_id, "verdict": finding.verdict,
            "severity": finding.severity, "message": finding.message}


def _load_ruleset(ruleset: tuple[str, str] | None):
    from checks.ruleset import load_ruleset

    if ruleset is None:
        return load_ruleset()
    digest = hashlib.sha256(ruleset[1].encode("utf-8")).hexdigest()
    loaded = _RULESETS.get(digest)
    if loaded is None:
        folder = Path(tempfile.mkdtemp(prefix="shencha-ruleset-"))
        try:
            loaded = _RULESETS[digest] = load_ruleset(ruleset_file(ruleset, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return loaded


def iter_application_keys(store: Store, exclude_ids: Iterable[int] = (), page: int = 1000) -> Iterator[str]:
    """Keys of the applications that have a report, in id order, read a page at a time."""
    from sqlalchemy import exists, select

    from ..schema import ApplicationRow, ReportRow

    excluded = set(exclude_ids)
    last = 0
    while True:
        with store.session() as session:
            rows = session.execute(
                select(ApplicationRow.id, ApplicationRow.key)
                .where(ApplicationRow.id > last, exists().where(ReportRow.application_id == ApplicationRow.id))
                .order_by(ApplicationRow.id).limit(page)).all()
        if not rows:
            return
        for app_id, key in rows:
            if app_id not in excluded:
                yield key
        last = rows[-1][0]


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
