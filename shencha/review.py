"""The review pipeline: package → documents → fields → findings → stored report.

    ingest (extractor) ─▶ fields (extractor.fields) ─▶ checks ─▶ Report ─▶ Store

Every stage hands typed objects to the next; nothing flows back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from extractor.errors import ErrorCode, describe
from extractor.ingest import IngestOptions, ingest_package
from extractor.model import Document
from extractor.package import ApplicationInfo, Package, open_package

from . import __version__
from .report import Report, ReportApplication, ReportDocument, ReportError, RuleErrorEntry, Versions
from .store import Store


@dataclass
class ReviewOptions:
    ingest: IngestOptions = field(default_factory=IngestOptions)
    as_of: date | None = None
    run_checks: bool = True
    ruleset_path: str | None = None  # None: $SHENCHA_RULESET, else the bundled default


def read_package(
    path: Path, store: Store | None, options: IngestOptions
) -> tuple[Package, list[Document], dict[str, bytes]]:
    """Open, ingest and extract fields; no checks, nothing stored but the OCR cache."""
    from extractor.drawings import analyse, is_drawing
    from extractor.fields import extract_package

    package = open_package(path, options.limits)
    cache = store.ocr_cache() if store else None
    ingested = ingest_package(package, options, cache=cache)
    documents = extract_package(ingested.documents)
    for document in documents:
        # Drawings are also measured, not only read: outlines, scale and
        # the distances between neighbouring buildings become fields.
        if document.status == "ok" and is_drawing(document):
            try:
                measured = analyse(document, ingested.blobs[document.sha256], cache=cache,
                                   page_images=ingested.blobs).fields
            except Exception as exc:  # noqa: BLE001 - the text reader's fields still stand
                document.warnings.append(describe(ErrorCode.STEP_FAILED, f"图纸测量（{type(exc).__name__}）"))
                continue
            if any(f.type in ("fire_separation_distance", "measured_separation") for f in measured):
                # The analysis pairs each annotation with its two outlines;
                # the text reader's guess at the same annotation would be
                # judged a second time, with a weaker pairing.
                document.fields = [f for f in document.fields if f.type != "fire_separation_distance"]
            document.fields.extend(measured)
    return package, documents, ingested.blobs


APPLICATION_ID = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.:/〔〕()（）-]{0,99}$")


def new_application_id() -> str:
    """A fresh application number for a submission that comes without one."""
    import uuid

    return f"N{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:12]}"


def check_application_id(value: str) -> str:
    value = (value or "").strip()
    if not APPLICATION_ID.match(value):
        raise ValueError("申请编号只能包含字母、数字、汉字和 _ . : / - 及括号，且不超过 100 个字符。")
    return value


def check_application_ids(values: list[str] | None, n_packages: int) -> None:
    """Application numbers given on a command line: one per package, each well formed (ValueError)."""
    if values and len(values) != n_packages:
        raise ValueError(f"--application-id 给了 {len(values)} 个，申请材料有 {n_packages} 份：应一一对应")
    for value in values or []:
        check_application_id(value)


def application_key(application_id: str) -> str:
    """The store key of a submitted application number (old keys were USCCs or package names)."""
    return f"application:{application_id}"


def review_path(path: Path, store: Store, options: ReviewOptions | None = None,
                log: Callable[[str], None] | None = None, application_id: str | None = None,
                source_name: str | None = None, run_key: str | None = None) -> Report:
    """Review one package as a version of the application `application_id`.

    The application comes from the submission, never from the documents:
    without an id the package is a new application (a fresh number each
    time), so a package claiming another company's USCC can never become
    the next version of that company's case. `source_name` replaces the
    package's path in the report (the window's uploads live in a temporary
    folder whose path means nothing to a user). `run_key` makes the write
    idempotent: a second review under the same run key (a retried task)
    stores nothing and returns the first one's report.
    """
    options = options or ReviewOptions()
    application_id = check_application_id(application_id) if application_id else new_application_id()
    if run_key is not None:
        stored = store.report_for_run(application_key(application_id), run_key)
        if stored is not None:
            return stored
    package, documents, blobs = read_package(path, store, options.ingest)
    application = _application(package, documents, options.as_of)
    application.application_no = application_id
    if source_name is not None:
        application.path = source_name
    report = Report(
        application=application,
        documents=[ReportDocument.from_document(d) for d in documents],
        errors=_errors(package, documents),
        versions=Versions(shencha=__version__, ocr=_ocr_versions(documents)),
        created_at=datetime.now(UTC),
    )
    if options.run_checks:
        _run_checks(report, documents, store, _ruleset(options.ruleset_path))
    return store.save_review(application_key(application_id), application_id, report, documents, blobs,
                             run_key=run_key)


def _ruleset(path: str | None):
    if path is None:
        return None
    from checks.ruleset import load_ruleset

    return load_ruleset(path)


class _StoredDocument:
    """A report's document as the rule view reads it (`ApplicationView.from_documents`), without pages."""

    def __init__(self, document: ReportDocument) -> None:
        self.id, self.path, self.doc_type, self.status = document.id, document.path, document.doc_type, document.status
        self.pages = [None] * document.pages
        self.error = document.error
        self.doc_type_confidence = document.doc_type_confidence
        self.covers = list(getattr(document, "covers", []) or [])
        self.fields = document.fields


def rerun_checks(report: Report, store: Store) -> None:
    """Run the rules again on the report's stored documents and fields (no OCR, no extraction).

    What corrections use: `report.documents[*].fields` carry the corrected values;
    findings, rule errors and the rule and registry versions are replaced.
    """
    _run_checks(report, [_StoredDocument(d) for d in report.documents], store)  # type: ignore[arg-type]


def documents_from_report(report: Report, images: dict[tuple[str, int], tuple[str | None, float]] | None = None,
                          ) -> list[Document]:
    """The documents of a stored report as the checks see them: types, status, pages, fields.

    Unlike `_StoredDocument` these are real documents with their pages (no
    lines: no rule reads them), so a new version stores them with its page
    images. `images` maps (document id, page) to the stored page image and scale.
    """
    from extractor.model import DocumentKind, Page, Source

    images = images or {}
    documents = []
    for d in report.documents:
        extra = {"covers": d.covers} if "covers" in Document.model_fields and hasattr(d, "covers") else {}
        try:
            kind = DocumentKind(d.kind)
        except ValueError:
            kind = DocumentKind.UNKNOWN
        pages = []
        for p in d.page_details:
            image, scale = images.get((d.id, p.number), (None, 1.0))
            pages.append(Page(number=p.number, width=p.width, height=p.height, unit=p.unit, source=p.source,
                              decision=p.decision, ocr=p.ocr, image_sha256=image, image_scale=scale))
        if len(pages) < d.pages:  # a report written before page details were kept
            pages += [Page(number=n + 1, width=0, height=0, unit="pt", source=Source.TEXT)
                      for n in range(len(pages), d.pages)]
        documents.append(Document(
            id=d.id, path=d.path, sha256=d.sha256, size=d.size, kind=kind, status=d.status, error=d.error,
            warnings=d.warnings, doc_type=d.doc_type, doc_type_confidence=d.doc_type_confidence,
            pages=pages, fields=d.fields, **extra))
    return documents


@dataclass
class Rereview:
    """One case checked again: the report it started from and the new version."""

    application_key: str
    previous: Report
    report: Report


def rereview_application(store: Store, key: str, ruleset=None, run_key: str | None = None,
                         ruleset_path: str | None = None, lookup=None) -> Rereview | None:
    """Run the checks again on the latest report of the application `key`, store the next version.

    No file is read again and nothing is recognised again: the documents
    and fields come from the stored report, and the new version's documents,
    pages and lines are copied inside the store (`Store.save_derived`). None
    when the application has no report. `ruleset` (a loaded
    `checks.ruleset.Ruleset`) or `ruleset_path` choose the rules; without
    either, $SHENCHA_RULESET or the bundled default. With `run_key`, a retried
    re-review returns the version the first attempt stored. `lookup` (a
    `registry_sync.lookup.RegistryLookup`) may be shared by the cases of one
    batch.
    """
    from sqlalchemy import select

    from .schema import ApplicationRow, ReportRow

    with store.session() as session:
        found = session.execute(
            select(ReportRow.report_json, ReportRow.run_key, ApplicationRow.name, ReportRow.id).join(ApplicationRow)
            .where(ApplicationRow.key == key).order_by(ReportRow.version.desc()).limit(2)).all()
    if not found:
        return None
    if run_key is not None and found[0][1] == run_key:
        # This run stored the latest version already (a retried task): its base is the one before.
        if len(found) < 2:
            return None
        return Rereview(key, Report.model_validate_json(found[1][0]), Report.model_validate_json(found[0][0]))
    previous = Report.model_validate_json(found[0][0])
    documents = documents_from_report(previous)
    report = previous.model_copy(update={
        "findings": [], "rule_errors": [], "report_id": "", "version": 0, "created_at": datetime.now(UTC),
        "versions": previous.versions.model_copy(update={"shencha": __version__}),
        "application": previous.application.model_copy(deep=True),
    })
    _run_checks(report, documents, store, ruleset if ruleset is not None else _ruleset(ruleset_path), lookup)
    stored = store.save_rereview(found[0][3], report, run_key=run_key)
    return Rereview(key, previous, stored)


def _run_checks(report: Report, documents: list[Document], store: Store, ruleset=None, lookup=None) -> None:
    from checks.runner import run
    from checks.view import ApplicationInfo, ApplicationView
    from registry_sync.lookup import RegistryLookup

    app = report.application
    lookup = lookup if lookup is not None else RegistryLookup(store.engine)
    view = ApplicationView.from_documents(
        ApplicationInfo(
            company_name=app.company_name, uscc=app.uscc, industry=app.industry, as_of=app.as_of,
            application_type=app.application_type,
        ),
        documents,
    )
    result = run(view, ruleset, lookup=lookup)
    report.findings = result.findings
    report.rule_errors = [RuleErrorEntry(rule_id=e.rule_id, message=e.message) for e in result.errors]
    report.versions.rules = result.rules_version
    snapshots = [s for s in (lookup.snapshot("certificates"), lookup.snapshot("companies")) if s]
    if snapshots:
        report.versions.registry_as_of = min(s.as_of for s in snapshots).isoformat()


def _errors(package: Package, documents: list[Document]) -> list[ReportError]:
    errors = [
        ReportError(path=d.path, code=d.error.code, message=d.error.message, message_en=d.error.message_en)
        for d in documents
        if d.status == "error" and d.error is not None
    ]
    if package.application_error:
        errors.append(ReportError(path="application.json", code="E102", message=package.application_error,
                                  message_en="application.json could not be parsed"))
    return errors


def _ocr_versions(documents: list[Document]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for document in documents:
        for page in document.pages:
            if page.ocr is not None:
                versions.setdefault("engine", f"{page.ocr.engine} {page.ocr.engine_version}")
                for role, model in page.ocr.models.items():
                    versions.setdefault(role, model)
    return versions


_INDUSTRY_HINTS = [
    ("construction", ("建筑施工", "建安", "JZ安许证", "脚手架", "施工企业")),
    ("hazardous_chemicals", ("危险化学品", "WH安许证", "化工")),
    ("non_coal_mine", ("非煤矿山", "FM安许证", "露天采石", "尾矿库", "金属矿")),
    ("coal_mine", ("煤矿", "MK安许证")),
    ("fireworks", ("烟花爆竹", "YH安许证")),
    ("civil_explosives", ("民用爆炸物品", "MB安许证")),
]


def _application(package: Package, documents: list[Document], as_of: date | None) -> ReportApplication:
    info = package.application or ApplicationInfo()
    inferred: list[str] = []
    notes: list[str] = []
    company, uscc, industry = info.company_name, info.uscc, info.industry
    if company is None or uscc is None:
        for document in sorted(documents, key=lambda d: d.doc_type != "business_licence"):
            for f in document.fields:
                if company is None and f.type == "company_name" and f.role in (None, "applicant"):
                    company = str(f.normalized or f.value)
                    inferred.append("company_name")
                    notes.append(f"企业名称取自《{document.path}》")
                if uscc is None and f.type == "uscc" and f.role in (None, "applicant"):
                    uscc = str(f.normalized or f.value)
                    inferred.append("uscc")
                    notes.append(f"统一社会信用代码取自《{document.path}》")
    if industry is None:
        text = "\n".join(d.text for d in documents if d.status == "ok")
        scores = {name: sum(text.count(h) for h in hints) for name, hints in _INDUSTRY_HINTS}
        best = max(scores, key=lambda k: scores[k])
        if scores[best] > 0:
            industry = best
            inferred.append("industry")
            notes.append(f"行业由文件内容推断（关键词出现 {scores[best]} 次）")
    if as_of is None:
        if info.application_date is not None:
            as_of = info.application_date
        else:
            as_of = date.today()
            inferred.append("as_of")
            notes.append("未提供申请日期，以审查当日为准")
    return ReportApplication(
        path=package.root,
        company_name=company,
        uscc=re.sub(r"\s", "", uscc) if uscc else None,
        industry=industry,
        application_type=info.application_type,
        as_of=as_of,
        inferred=inferred,
        notes=notes,
    )
