"""Applicant-supplied names shown to people: control and direction characters made visible.

A file name such as ``报告\u202efdp.exe`` displays as ``报告exe.pdf``: the
right-to-left override reverses what follows it. Control characters can
hide text or break a line in a notice. Every screen, report and notice
shows such characters as escapes (``\\u202e``) instead of obeying them;
the JSON report keeps the names as they were received.
"""

from __future__ import annotations

import unicodedata

# Cc: C0/C1 controls; Cf: format characters (bidi overrides and isolates,
# zero-width characters); Zl/Zp: line and paragraph separators; Co/Cs/Cn:
# private use, surrogates, unassigned.
_HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str | None, keep_newlines: bool = False) -> str:
    """``text`` with every control, format or separator character written as an escape.

    ``keep_newlines`` leaves ``\\n`` alone (multi-line free text such as a
    reason); names never keep it.
    """
    if not text:
        return ""
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif unicodedata.category(ch) in _HIDDEN:
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def has_hidden(text: str | None) -> bool:
    return any(unicodedata.category(ch) in _HIDDEN for ch in text or "")
