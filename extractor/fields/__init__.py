"""Field extraction: from a Document's lines and tables to typed Fields with evidence.

Public entry points: :func:`extract_fields` for one document and
:func:`extract_package` for the documents of one application (which also
links what one document says about another, e.g. which company is the
applicant).

They are imported on first use (PEP 562): the pipeline loads spaCy (~1.3 s),
which a command that only reads a submodule (the lexicon, the name tests of
``people``) or only runs OCR (``shencha ocr``) never needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .package import extract_package
    from .run import extract_fields, find_pairs_and_tables

__all__ = ["extract_fields", "extract_package", "find_pairs_and_tables"]

_HOMES = {"extract_package": ".package", "extract_fields": ".run", "find_pairs_and_tables": ".run"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
