"""The case store, on SQLite and (when SHENCHA_TEST_PG_URL is set) PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from extractor.model import Document, DocumentKind, Line, OcrRun, Page, Source
from extractor.ocr import OcrPageResult
from shencha.report import Report, ReportApplication, ReportDocument, Versions
from shencha.store import ReportRow, Store


def _document(text: str) -> Document:
    line = Line(text=text, bbox=(10, 10, 100, 20), source=Source.TEXT)
    page = Page(number=1, width=595, height=842, unit="pt", source=Source.TEXT, lines=[line])
    return Document(id="d001", path="a.pdf", sha256="ab" * 32, size=3, kind=DocumentKind.PDF, pages=[page])


def _report(company: str, document: Document) -> Report:
    return Report(
        application=ReportApplication(path="/pkg", company_name=company, as_of=date(2026, 11, 20)),
        documents=[ReportDocument.from_document(document)],
        versions=Versions(shencha="test"),
    )


def test_every_review_is_a_new_version_and_old_ones_stay(store_url):
    store = Store(store_url)
    first_doc = _document("第一次提交")
    first = store.save_review("pkg:a", "a", _report("甲公司", first_doc), [first_doc], {"ab" * 32: b"pdf"})
    second_doc = _document("补正后提交")
    second = store.save_review("pkg:a", "a", _report("甲公司（补正）", second_doc), [second_doc], {"ab" * 32: b"pdf"})
    assert (first.version, second.version) == (1, 2)
    rows = store.reports("pkg:a")
    assert [r.version for r in rows] == [1, 2]
    reloaded = store.load_report(rows[0].id)
    assert reloaded.application.company_name == "甲公司"
    assert reloaded.report_id == first.report_id
    assert store.get_blob("ab" * 32) == b"pdf"


def test_reports_of_other_applications_are_separate(store_url):
    store = Store(store_url)
    doc = _document("x")
    store.save_review("pkg:a", "a", _report("甲", doc), [doc], {})
    store.save_review("pkg:b", "b", _report("乙", doc), [doc], {})
    assert [r.version for r in store.reports("pkg:b")] == [1]
    with store.session() as session:
        assert len(session.scalars(select(ReportRow)).all()) == 2


def test_page_image_reference_for_evidence(store_url):
    store = Store(store_url)
    doc = _document("x")
    doc.pages[0].image_sha256 = "cd" * 32
    doc.pages[0].image_scale = 2.5
    report = store.save_review("pkg:a", "a", _report("甲", doc), [doc], {"cd" * 32: b"png"})
    assert store.page_image_ref(report.report_id, "d001", 1) == ("cd" * 32, 2.5, "ab" * 32)


def test_ocr_cache_round_trip(store_url):
    store = Store(store_url)
    cache = store.ocr_cache()
    result = OcrPageResult(
        lines=[Line(text="韩国小馆", bbox=(1, 2, 30, 12), confidence=0.98, source=Source.OCR)],
        run=OcrRun(engine="rapidocr", engine_version="3.10.0", models={"rec": "PP-OCRv6_rec_small.onnx"}),
        width=40,
        height=20,
        image=b"\x89PNG fake image bytes",
    )
    assert cache.get("k1") is None
    cache.put("k1", result)
    cache.put("k1", result)  # idempotent
    again = cache.get("k1")
    assert again is not None
    assert again.lines[0].text == "韩国小馆"
    assert again.image == result.image
    assert again.run.models == result.run.models
