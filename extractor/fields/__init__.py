"""Field extraction: from a Document's lines and tables to typed Fields with evidence.

Public entry points: :func:`extract_fields` for one document and
:func:`extract_package` for the documents of one application (which also
links what one document says about another, e.g. which company is the
applicant).
"""

from __future__ import annotations

from .package import extract_package
from .run import extract_fields, find_pairs_and_tables

__all__ = ["extract_fields", "extract_package", "find_pairs_and_tables"]
