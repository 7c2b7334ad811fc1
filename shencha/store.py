"""The case store: applications, their review runs, documents, pages, lines,
fields, findings, page images and the OCR cache — behind SQLAlchemy.

Embedded SQLite by default, PostgreSQL by URL. Reports are versioned per
application and never overwritten: every review run adds a new version
with its own copy of what was read, so a later correction never rewrites
what an officer saw earlier. File contents and page images are stored
once, by sha256.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Integer, and_, bindparam, create_engine, event, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from extractor.model import Document
from extractor.ocr import OcrPageResult

from .report import Report
from .schema import (
    ApplicationRow,
    Base,
    BlobRow,
    DocumentRow,
    FieldRow,
    FindingRow,
    LineRow,
    OcrCacheRow,
    PageRow,
    ReportRow,
    _now,
)


def default_home() -> Path:
    return Path(os.environ.get("SHENCHA_HOME") or Path.home() / ".local" / "share" / "shencha")


def default_url() -> str:
    return os.environ.get("SHENCHA_DB") or f"sqlite:///{default_home() / 'shencha.db'}"


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder: make the folder (0700) and the file (0600).

    The store holds full resident ID numbers: only the service account may
    read it. Folders that already exist are left as they are (it may be /tmp).
    """
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        db = Path(url.removeprefix("sqlite:///")).expanduser()
        private_dirs(db.parent)
        if not db.exists():
            # SQLite gives its -wal and -shm files the database file's mode.
            os.close(os.open(db, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(db, 0o600)


def private_dirs(folder: Path) -> None:
    """mkdir -p with mode 0700 for every folder it creates."""
    missing = []
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        missing.append(parent)
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)
        os.chmod(created, 0o700)  # mkdir's mode is filtered through the umask


def write_private(path: Path, data: str | bytes) -> None:
    """Write a file readable by its owner only (0600), its new folders 0700."""
    private_dirs(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
        with os.fdopen(fd, "wb") as out:
            fd = -1
            out.write(payload)
    finally:
        if fd >= 0:
            os.close(fd)


class Store:
    """All access to the case store goes through here."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        ensure_sqlite_folder(self.url)
        # Several worker processes (a batch, the API's jobs) may write at once:
        # SQLite waits up to 60 s for the lock instead of failing after 5.
        connect_args = {"timeout": 60} if self.url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(self.url, future=True, connect_args=connect_args)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        _add_new_columns(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # -- blobs -------------------------------------------------------------
    def put_blobs(self, blobs: dict[str, bytes], session: Session) -> None:
        if not blobs:
            return
        existing = set(session.scalars(select(BlobRow.sha256).where(BlobRow.sha256.in_(list(blobs)))))
        rows = [
            {"sha256": sha, "size": len(data), "media_type": "", "data": data}
            for sha, data in blobs.items()
            if sha not in existing
        ]
        if rows:
            # Content-addressed: another worker storing the same bytes meanwhile is no conflict.
            session.execute(_insert_ignore(session, BlobRow, ["sha256"]), rows)

    def get_blob(self, sha256: str) -> bytes | None:
        with self.session() as session:
            return session.scalar(select(BlobRow.data).where(BlobRow.sha256 == sha256))

    # -- reviews -----------------------------------------------------------
    def save_review(
        self, key: str, name: str, report: Report, documents: list[Document], blobs: dict[str, bytes],
        run_key: str | None = None,
    ) -> Report:
        """Store one review run as the application's next version; return the report with its ids.

        `key` is the application's identity as the submission gives it (an
        application number, or a new one per submission), never what the
        documents claim. The application keeps the company it was first
        submitted for: a later package claiming another company is flagged
        (a high finding and a note), and the application's company stays.

        The bytes of a document that could not be read (too large, wrong
        type, truncated ...) are not stored: only its hash and error are.

        `run_key` names the run (a batch or re-review run and its case):
        storing the same run again, as a retried task does, stores nothing
        and returns the version stored the first time.
        """
        blobs = _kept_blobs(documents, blobs)

        def write() -> Report:
            if run_key is not None:
                stored = self.report_for_run(key, run_key)
                if stored is not None:
                    return stored  # a retried task: this run's version is already there
            return self._save_review(key, name, report, documents, blobs, run_key)

        return _with_retries(report, write)

    def report_for_run(self, key: str, run_key: str) -> Report | None:
        """The report a run stored for the application `key`, if it did."""
        with self.session() as session:
            found = session.scalar(
                select(ReportRow.report_json).join(ApplicationRow)
                .where(ApplicationRow.key == key, ReportRow.run_key == run_key))
        return Report.model_validate_json(found) if found is not None else None

    def _save_review(self, key: str, name: str, report: Report, documents: list[Document],
                     blobs: dict[str, bytes], run_key: str | None) -> Report:
        with self.session() as session:
            app = session.scalar(select(ApplicationRow).where(ApplicationRow.key == key))
            if app is None:
                app = ApplicationRow(key=key, name=name)
                session.add(app)
                session.flush()
            claimed = report.application
            mismatch = _identity_mismatch(app, claimed.company_name, claimed.uscc)
            if mismatch:
                report.findings = [*report.findings, _mismatch_finding(app, claimed.company_name, claimed.uscc)]
                claimed.notes = [*claimed.notes, mismatch]
            else:
                app.company_name = app.company_name or claimed.company_name
                app.uscc = app.uscc or claimed.uscc
            app.industry = app.industry or claimed.industry
            app.updated_at = _now()
            version = (
                session.scalar(select(func.max(ReportRow.version)).where(ReportRow.application_id == app.id))
                or 0
            ) + 1
            report.application.id = f"app-{app.id}"
            report.report_id = f"app-{app.id}-v{version}"
            report.version = version
            self.put_blobs(blobs, session)
            findings = report.findings
            row = ReportRow(
                application_id=app.id,
                version=version,
                source_path=report.application.path,
                as_of=report.application.as_of.isoformat(),
                n_fail=sum(f.verdict == "fail" for f in findings),
                n_uncertain=sum(f.verdict == "uncertain" for f in findings),
                n_high=sum(f.severity == "high" and f.verdict == "fail" for f in findings),
                n_errors=len(report.errors),
                report_json=report.model_dump_json(),
                run_key=run_key,
            )
            session.add(row)
            session.flush()
            self._save_documents(session, row.id, documents)
            if findings:
                session.execute(
                    insert(FindingRow),
                    [
                        {
                            "report_id": row.id,
                            "finding_id": f.id,
                            "rule_id": f.rule_id,
                            "category": f.category,
                            "severity": f.severity,
                            "verdict": f.verdict,
                            "data": f.model_dump(mode="json"),
                        }
                        for f in findings
                    ],
                )
        return report

    def _save_documents(self, session: Session, report_id: int, documents: list[Document]) -> None:
        """Documents, pages, lines and fields of one version: one multi-row INSERT per table."""
        if not documents:
            return
        doc_ids = session.scalars(
            insert(DocumentRow).returning(DocumentRow.id, sort_by_parameter_order=True),
            [
                {
                    "report_id": report_id,
                    "doc_key": document.id,
                    "path": document.path,
                    "sha256": document.sha256,
                    "size": document.size,
                    "kind": document.kind.value,
                    "media_type": document.media_type,
                    "status": document.status,
                    "error_code": document.error.code if document.error else None,
                    "error_message": document.error.message if document.error else None,
                    "doc_type": document.doc_type,
                    "n_pages": len(document.pages),
                }
                for document in documents
            ],
        ).all()
        pages = [(doc_id, page) for doc_id, document in zip(doc_ids, documents, strict=True) for page in document.pages]
        page_ids = session.scalars(
            insert(PageRow).returning(PageRow.id, sort_by_parameter_order=True),
            [
                {
                    "document_id": doc_id,
                    "number": page.number,
                    "width": page.width,
                    "height": page.height,
                    "unit": page.unit,
                    "source": page.source.value,
                    "decision": page.decision,
                    "image_sha256": page.image_sha256,
                    "image_scale": page.image_scale,
                    "ocr": page.ocr.model_dump(mode="json") if page.ocr else None,
                }
                for doc_id, page in pages
            ],
        ).all() if pages else []
        lines = [
            {
                "page_id": page_id,
                "seq": seq,
                "text": line.text,
                "x0": line.bbox[0],
                "y0": line.bbox[1],
                "x1": line.bbox[2],
                "y1": line.bbox[3],
                "confidence": line.confidence,
                "source": line.source.value,
                "block": line.block,
                "table_index": line.table,
                "cell_row": line.cell[0] if line.cell else None,
                "cell_col": line.cell[1] if line.cell else None,
            }
            for page_id, (_doc, page) in zip(page_ids, pages, strict=True)
            for seq, line in enumerate(page.lines)
        ]
        if lines:
            session.execute(insert(LineRow), lines)
        fields = [
            {
                "document_id": doc_id,
                "type": f.type,
                "role": f.role,
                "page": f.page,
                "confidence": f.confidence,
                "source": f.source.value,
                "data": f.model_dump(mode="json"),
            }
            for doc_id, document in zip(doc_ids, documents, strict=True)
            for f in document.fields
        ]
        if fields:
            session.execute(insert(FieldRow), fields)

    def save_derived(self, session: Session, base_report_id: int, report: Report,
                     run_key: str | None = None, copy_lines: bool = True) -> ReportRow:
        """Store `report` as the application's next version, derived from the stored version
        `base_report_id` without reading the package again (a re-review under new rules, a
        correction's re-run of the rules).

        The base version's documents, pages and (with `copy_lines`) lines are copied inside
        the database (so evidence images and page lines work on the new version), one
        INSERT ... SELECT per table whatever their number; fields and findings come from
        `report`. A re-review of thousands of cases leaves the lines out: the page-line
        look-up falls back to the version that read the file (`corrections.page_lines`). A
        company the application was not first submitted for is flagged as in
        `save_review`. Nothing of the base version is changed. Runs in the caller's
        transaction.
        """
        base = session.get(ReportRow, base_report_id)
        if base is None:
            raise KeyError(base_report_id)
        app = session.get(ApplicationRow, base.application_id)
        claimed = report.application
        mismatch = _identity_mismatch(app, claimed.company_name, claimed.uscc)
        if mismatch:
            # A re-review's findings come fresh from the rules; a correction's carry the base's.
            if not any(f.rule_id == IDENTITY_RULE_ID for f in report.findings):
                report.findings = [*report.findings, _mismatch_finding(app, claimed.company_name, claimed.uscc)]
            if mismatch not in claimed.notes:
                claimed.notes = [*claimed.notes, mismatch]
        version = (session.scalar(select(func.max(ReportRow.version))
                                  .where(ReportRow.application_id == app.id)) or 0) + 1
        report.application.id = f"app-{app.id}"
        report.report_id = f"app-{app.id}-v{version}"
        report.version = version
        findings = report.findings
        row = ReportRow(
            application_id=app.id, version=version, source_path=base.source_path, as_of=base.as_of,
            n_fail=sum(f.verdict == "fail" for f in findings),
            n_uncertain=sum(f.verdict == "uncertain" for f in findings),
            n_high=sum(f.severity == "high" and f.verdict == "fail" for f in findings),
            n_errors=len(report.errors), report_json=report.model_dump_json(), run_key=run_key,
        )
        session.add(row)
        app.updated_at = _now()
        session.flush()
        doc_ids = _copy_documents(session, base.id, row.id, copy_lines)
        fields = [{"document_id": doc_ids[d.id], "type": f.type, "role": f.role, "page": f.page,
                   "confidence": f.confidence, "source": f.source.value, "data": f.model_dump(mode="json")}
                  for d in report.documents if d.id in doc_ids for f in d.fields]
        if fields:
            session.execute(insert(FieldRow), fields)
        if findings:
            session.execute(insert(FindingRow), [
                {"report_id": row.id, "finding_id": f.id, "rule_id": f.rule_id, "category": f.category,
                 "severity": f.severity, "verdict": f.verdict, "data": f.model_dump(mode="json")}
                for f in findings])
        session.flush()
        return row

    def save_rereview(self, base_report_id: int, report: Report, run_key: str | None = None) -> Report:
        """`save_derived` in a transaction of its own, for a re-review under other rules.

        With `run_key`, a run that already stored its version for this application (a
        retried task) stores nothing and gets that version back. A version number taken by
        another writer at the same moment (or SQLite's lock) is retried as in `save_review`.
        """

        def write() -> Report:
            with self.session() as session:
                if run_key is not None:
                    app_id = select(ReportRow.application_id).where(ReportRow.id == base_report_id)
                    stored = session.scalar(select(ReportRow.report_json).where(
                        ReportRow.application_id == app_id.scalar_subquery(), ReportRow.run_key == run_key))
                    if stored is not None:
                        return Report.model_validate_json(stored)
                self.save_derived(session, base_report_id, report, run_key=run_key, copy_lines=False)
            return report

        return _with_retries(report, write)

    def reports(self, key: str | None = None) -> list[ReportRow]:
        with self.session() as session:
            query = select(ReportRow).order_by(ReportRow.application_id, ReportRow.version)
            if key is not None:
                query = query.join(ApplicationRow).where(ApplicationRow.key == key)
            return list(session.scalars(query))

    def load_report(self, report_id: int) -> Report:
        with self.session() as session:
            row = session.get(ReportRow, report_id)
            if row is None:
                raise KeyError(report_id)
            return Report.model_validate_json(row.report_json)

    def report_row_id(self, report_key: str) -> int:
        """ReportRow.id of "app-<id>-v<version>" (no permission check: the service layer's
        `decisions.report_pk` is what pages call)."""
        app_id, version = _parse_report_id(report_key)
        with self.session() as session:
            found = session.scalar(select(ReportRow.id).where(ReportRow.application_id == app_id,
                                                               ReportRow.version == version))
        if found is None:
            raise KeyError(report_key)
        return found

    def page_image_ref(self, report_id: str, document: str, page: int) -> tuple[str | None, float, str]:
        """(image sha256, image scale, original file sha256) of one page of a stored report."""
        app_id, version = _parse_report_id(report_id)
        with self.session() as session:
            found = session.execute(
                select(PageRow.image_sha256, PageRow.image_scale, DocumentRow.sha256)
                .join(DocumentRow, PageRow.document_id == DocumentRow.id)
                .join(ReportRow, DocumentRow.report_id == ReportRow.id)
                .where(
                    ReportRow.application_id == app_id,
                    ReportRow.version == version,
                    DocumentRow.doc_key == document,
                    PageRow.number == page,
                )
            ).first()
        if found is None:
            raise KeyError((report_id, document, page))
        return found[0], found[1], found[2]

    # -- OCR cache (implements extractor.ocr.OcrCache) ----------------------
    def ocr_cache(self) -> StoreOcrCache:
        return StoreOcrCache(self)


class StoreOcrCache:
    """OCR results keyed by page-image hash and engine: an unchanged package is never OCR'd twice."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> OcrPageResult | None:
        with self.store.session() as session:
            row = session.get(OcrCacheRow, key)
            if row is None:
                return None
            image = session.scalar(select(BlobRow.data).where(BlobRow.sha256 == row.image_sha256))
            result = dict(row.result)
        if image is None:
            return None
        return OcrPageResult.model_validate({**result, "image": image})

    def put(self, key: str, result: OcrPageResult) -> None:
        import hashlib

        sha = hashlib.sha256(result.image).hexdigest()
        with self.store.session() as session:
            self.store.put_blobs({sha: result.image}, session)
            if session.get(OcrCacheRow, key) is None:
                # Two workers may recognise the same page at once: the first one's row stays.
                session.execute(
                    _insert_ignore(session, OcrCacheRow, ["key"]),
                    [{"key": key, "image_sha256": sha, "result": json.loads(result.model_dump_json(exclude={"image"})),
                      "created_at": _now()}],
                )


def _insert_ignore(session: Session, table, keys: list[str]):
    """INSERT that skips rows whose key is already there (PostgreSQL and SQLite)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)
    return insert(table)


def _kept_blobs(documents: list[Document], blobs: dict[str, bytes]) -> dict[str, bytes]:
    """The blobs worth keeping: not the original of a document that failed to read.

    A file refused for its size or type (or a zip bomb's members) would
    otherwise fill the store; a page image is kept whatever its document's
    state, and so is an original shared with a document that was read.
    """
    used = {p.image_sha256 for d in documents for p in d.pages if p.image_sha256}
    used |= {d.sha256 for d in documents if d.status != "error"}
    failed = {d.sha256 for d in documents if d.status == "error"} - used
    return {sha: data for sha, data in blobs.items() if sha not in failed}


def _norm_uscc(value: str | None) -> str:
    return "".join((value or "").split()).upper()


def _with_retries(report: Report, write: Callable[[], Report]) -> Report:
    """`write()` until it stores: another worker may take the version number (or store the
    same run, or create the application) at the same moment, or hold SQLite's lock; then
    it looks again, with the report's findings and notes as they were before the try."""
    for attempt in range(5):
        findings, notes = report.findings, report.application.notes
        try:
            return write()
        except (IntegrityError, OperationalError):
            report.findings, report.application.notes = findings, notes
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


_DOCUMENT_COLUMNS = ("doc_key", "path", "sha256", "size", "kind", "media_type", "status", "error_code",
                     "error_message", "doc_type", "n_pages")
_PAGE_COLUMNS = ("number", "width", "height", "unit", "source", "decision", "image_sha256", "image_scale", "ocr")
_LINE_COLUMNS = ("seq", "text", "x0", "y0", "x1", "y1", "confidence", "source", "block", "table_index",
                 "cell_row", "cell_col")


@functools.cache
def _copy_statements():
    """The three INSERT ... SELECT statements of `_copy_documents`, built once (building them
    cost more than running them) with the report rows as parameters :base_id and :new_id."""
    base_id, new_id = bindparam("base_id", type_=Integer), bindparam("new_id", type_=Integer)
    old_doc, new_doc = aliased(DocumentRow), aliased(DocumentRow)
    old_page, new_page = aliased(PageRow), aliased(PageRow)
    same_doc = and_(new_doc.report_id == new_id, new_doc.doc_key == old_doc.doc_key)
    # Core tables: given a dict, an ORM insert would take it for rows to insert.
    documents = insert(DocumentRow.__table__).from_select(
        ["report_id", *_DOCUMENT_COLUMNS],
        select(new_id, *(getattr(DocumentRow, c) for c in _DOCUMENT_COLUMNS))
        .where(DocumentRow.report_id == base_id).order_by(DocumentRow.id))
    pages = insert(PageRow.__table__).from_select(
        ["document_id", *_PAGE_COLUMNS],
        select(new_doc.id, *(getattr(PageRow, c) for c in _PAGE_COLUMNS))
        .join(old_doc, PageRow.document_id == old_doc.id).join(new_doc, same_doc)
        .where(old_doc.report_id == base_id).order_by(PageRow.id))
    lines = insert(LineRow.__table__).from_select(
        ["page_id", *_LINE_COLUMNS],
        select(new_page.id, *(getattr(LineRow, c) for c in _LINE_COLUMNS))
        .join(old_page, LineRow.page_id == old_page.id).join(old_doc, old_page.document_id == old_doc.id)
        .join(new_doc, same_doc)
        .join(new_page, and_(new_page.document_id == new_doc.id, new_page.number == old_page.number))
        .where(old_doc.report_id == base_id).order_by(LineRow.id))
    keys = select(DocumentRow.doc_key, DocumentRow.id).where(DocumentRow.report_id == new_id)
    return documents, pages, lines, keys


def _copy_documents(session: Session, base_id: int, new_id: int, copy_lines: bool = True) -> dict[str, int]:
    """Copy the documents, pages and (`copy_lines`) lines of report row `base_id` to report
    row `new_id` inside the database; returns {document key: new document row id}.

    A copied page is matched to its document by the document's key and a copied line to
    its page by (document key, page number): both are unique within one report.
    """
    documents, pages, lines, keys = _copy_statements()
    ids = {"base_id": base_id, "new_id": new_id}
    for statement in (documents, pages, lines) if copy_lines else (documents, pages):
        session.execute(statement, ids)
    return dict(session.execute(keys, ids).all())


def _identity_mismatch(app: ApplicationRow, company: str | None, uscc: str | None) -> str | None:
    """A Chinese note when the package claims another company than the application's; else None."""
    if app.uscc and uscc:
        differs = _norm_uscc(app.uscc) != _norm_uscc(uscc)
    elif app.company_name and company:
        differs = "".join(app.company_name.split()) != "".join(company.split())
    else:
        differs = False
    if not differs:
        return None
    return (f"本次提交材料所称企业（{company or '未识别'}，{uscc or '代码未识别'}）与本申请登记的企业"
            f"（{app.company_name or '未识别'}，{app.uscc or '代码未识别'}）不一致，未并入本申请的企业信息")


IDENTITY_RULE_ID = "shencha.application_identity.v1"


def _mismatch_finding(app: ApplicationRow, company: str | None, uscc: str | None):
    import hashlib

    from checks.model import Finding

    digest = hashlib.sha1(f"{app.id}|{company}|{uscc}".encode()).hexdigest()[:16]
    return Finding(
        id=f"F-identity-{digest}", rule_id=IDENTITY_RULE_ID, category="consistency.conflict",
        severity="high", verdict="fail",
        message=(f"本次提交材料所称的申请单位（{company or '未识别'}，统一社会信用代码 {uscc or '未识别'}）"
                 f"与本申请登记的申请单位（{app.company_name or '未识别'}，"
                 f"统一社会信用代码 {app.uscc or '未识别'}）不一致。"),
        citation="申请受理登记信息（申请编号对应的申请单位）",
        expected=f"{app.company_name or ''} {app.uscc or ''}".strip(),
        actual=f"{company or ''} {uscc or ''}".strip(),
        suggestion="请核实材料是否属于本申请；不属于的，应以其申请单位另行提交申请。",
    )


def _parse_report_id(report_id: str) -> tuple[int, int]:
    # "app-<id>-v<version>"
    body = report_id.removeprefix("app-")
    app, _, version = body.rpartition("-v")
    return int(app), int(version)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a review writes; foreign keys on.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Columns added to existing tables after their first release: create_all() makes new
# tables but never alters old ones, so a store from an earlier version gets them here.
_NEW_COLUMNS = {
    "finding_decisions": {"second_review": "VARCHAR(40) DEFAULT '' NOT NULL"},
    "case_decisions": {"second_review": "VARCHAR(40) DEFAULT '' NOT NULL", "panel_id": "INTEGER"},
    "reports": {"run_key": "VARCHAR(120)"},
}
# Indexes of such columns (create_all() makes them only with their table).
_NEW_INDEXES = ["CREATE UNIQUE INDEX IF NOT EXISTS uq_reports_run_key ON reports (application_id, run_key)"]


def _add_new_columns(engine: Engine) -> None:
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    with engine.begin() as conn:
        for table, columns in _NEW_COLUMNS.items():
            have = {c["name"] for c in inspector.get_columns(table)}
            for name, ddl in columns.items():
                if name not in have:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))
        for ddl in _NEW_INDEXES:
            conn.execute(text(ddl))
