"""The document checklist counts what combined documents cover, and asks only about embeddable items.

A package binds several checklist items into one file ("安全投入及工伤保险情况"); the
extractor lists them in `Document.covers` (title, heading, statement, or a mere mention).
A measure that may live inside another document (职业危害防治措施) and is only mentioned
is a question; a document that must itself be submitted (the emergency plan) is missing
however often other documents name it.
"""

from __future__ import annotations

from checks.runner import run
from checks.testing import build
from extractor.model import Coverage

ALL = {"app": "application_form", "bl": "business_licence", "rs": "responsibility_system",
       "inv": "safety_investment", "org": "safety_organisation", "mgr": "managers_roster",
       "so": "special_operations_roster", "tr": "training_record", "ins": "insurance", "em": "emergency_plan",
       "mach": "machinery_inspection", "occ": "occupational_health", "mw": "major_works_measures"}


def _missing(docs: dict[str, str], covers: dict[str, list[Coverage]]) -> dict[str, str]:
    view = build(docs=docs, industry="construction")
    for d in view.documents:
        d.covers = covers.get(d.id, [])
    findings = [f for f in run(view).findings if f.rule_id == "completeness.documents.v3"]
    return {f.expected: f.verdict for f in findings}


def test_an_item_covered_by_a_combined_documents_title_is_submitted():
    docs = {k: v for k, v in ALL.items() if k != "ins"}
    covers = {"inv": [Coverage(doc_type="insurance", how="title", text="安全投入及工伤保险情况")]}
    assert "依法参加工伤保险、缴纳保险费的证明" not in _missing(docs, covers)
    assert _missing(docs, {})["依法参加工伤保险、缴纳保险费的证明"] == "fail"


def test_a_mentioned_measure_is_a_question_but_a_mentioned_plan_is_missing():
    docs = {k: v for k, v in ALL.items() if k not in ("occ", "em")}
    covers = {"rs": [Coverage(doc_type="occupational_health", how="mention", text="劳动防护用品、职业健康等制度", page=1),
                     Coverage(doc_type="emergency_plan", how="mention", text="组织制定并实施应急救援预案", page=1)]}
    got = _missing(docs, covers)
    assert got["职业危害防治措施及劳动防护用品配备"] == "uncertain"
    assert got["生产安全事故应急救援预案及救援组织、器材"] == "fail"
