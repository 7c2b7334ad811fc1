"""The spaCy pipeline that runs the extraction steps.

``spacy.blank("zh")`` with the default character segmenter (no download)
tokenises the document's text; the steps are registered components, each
declaring what it requires and assigns on ``Doc._``. The shencha Document and
the shared :class:`~extractor.fields.steps.Context` ride on the Doc as
extensions, so the components stay plain functions of their inputs and the
pipeline is built once per process (:func:`get_nlp`).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from . import steps
from .assemble import to_fields
from .view import build_view

log = logging.getLogger(__name__)

if not Doc.has_extension("document"):
    Doc.set_extension("document", default=None)
if not Doc.has_extension("use_ner"):
    Doc.set_extension("use_ner", default=True)
if not Doc.has_extension("shencha"):
    Doc.set_extension("shencha", default=None)
if not Doc.has_extension("fields"):
    Doc.set_extension("fields", default=None)


def _ctx(doc: Doc) -> steps.Context:
    ctx = doc._.shencha
    if ctx is None:
        raise ValueError("shencha pipeline: Doc has no extraction context (use extract_fields)")
    return ctx


def _component(name: str, fn, requires: list[str], assigns: list[str]) -> None:
    if name in Language.factories or Language.has_factory(name):
        return

    def run(doc: Doc) -> Doc:
        ctx = _ctx(doc)
        try:
            fn(ctx)
        except Exception as exc:  # noqa: BLE001 - one step's defect must not lose the document
            # The later steps still run on what the earlier ones found; the
            # document carries a W204 warning naming the step. Only the
            # exception's class is logged: its message may quote a name or
            # an ID number from the document.
            log.warning("extraction step %s failed with %s", name, type(exc).__name__,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            ctx.failed_steps.append((name, type(exc).__name__))
        return doc

    run.__name__ = name.replace(".", "_")
    Language.component(name, requires=requires, assigns=assigns, func=run)


@Language.component("shencha_normalize", requires=["doc._.document"], assigns=["doc._.shencha"])
def shencha_normalize(doc: Doc) -> Doc:
    """The normalised view of the Document (lines and table cells, with the
    map back to word boxes) that every later step reads."""
    source = doc._.document
    if source is None:
        raise ValueError("shencha pipeline: Doc has no source Document (use extract_fields)")
    doc._.shencha = steps.Context(view=build_view(source), use_ner=doc._.use_ner)
    return doc


# Order matters only through what each step requires.
_STEPS = [
    ("shencha_doctype", steps.step_doctype, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_tables", steps.step_tables, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_keyvalue", steps.step_keyvalue, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_identifiers", steps.step_identifiers, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_dates", steps.step_dates, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_prose_names", steps.step_prose_names, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_design", steps.step_design, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_plans", steps.step_plans, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_duties", steps.step_duties, ["doc._.shencha"], ["doc._.shencha"]),
    ("shencha_roles", steps.step_roles, ["doc._.shencha"], ["doc._.shencha"]),
]

for _name, _fn, _req, _asg in _STEPS:
    _component(_name, _fn, _req, _asg)


def _assemble(ctx: steps.Context):
    ctx.view.doc  # noqa: B018 - the view holds the document the fields point at
    return to_fields(ctx.view, ctx.mentions)


@Language.component("shencha_assemble", requires=["doc._.shencha"], assigns=["doc._.fields"])
def shencha_assemble(doc: Doc) -> Doc:
    doc._.fields = _assemble(_ctx(doc))
    return doc


PIPE_NAMES = ["shencha_normalize"] + [name for name, *_ in _STEPS] + ["shencha_assemble"]


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    """The pipeline, built once per process."""
    nlp = spacy.blank("zh")  # the "char" segmenter: nothing to download
    for name in PIPE_NAMES:
        nlp.add_pipe(name)
    return nlp
