"""Text normalisation for extraction, with a map back to the original characters.

Applicants' documents mix full-width and half-width forms, four kinds of
brackets, and text layers or OCR that put spaces between Han characters.
Extraction matches patterns on a normalised view; evidence must still point
at the words that were read, so every normalised character keeps the index
of the original character it came from (:class:`Normalized`).

OCR confusions inside identifiers (O/0, I/1/l, Z/2, S/5, B/8) are *not*
repaired here: a repair is only safe where an identifier's pattern and its
check character confirm it, which :mod:`extractor.identifiers` decides.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

# One bracket form for matching. Round brackets stand for all of them; the
# identifier formatters render each identifier's own canonical brackets.
_BRACKETS = {
    "〔": "(", "〕": ")",
    "[": "(", "]": ")",
    "【": "(", "】": ")",
    "〖": "(", "〗": ")",
    "（": "(", "）": ")",
    "［": "(", "］": ")",
    "｛": "(", "｝": ")",
    "{": "(", "}": ")",
    "﹝": "(", "﹞": ")",
    "⌈": "(", "⌉": ")",
}

# Dashes and tildes that separate ranges or dates; NFKC leaves them alone.
_DASHES = {
    "—": "-", "–": "-", "―": "-", "‐": "-", "‑": "-", "−": "-", "─": "-",
    "～": "~", "〜": "~",
}

_COLONS = {"∶": ":", "︰": ":"}


def is_han(ch: str) -> bool:
    """True for CJK unified ideographs (and 〇, which reads as a digit in dates)."""
    if not ch:
        return False
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2A6DF
        or 0xF900 <= o <= 0xFAFF
        or o == 0x3007
    )


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised string and, for each of its characters, the index of the
    original character it came from."""

    text: str
    index: tuple[int, ...]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The original half-open span covered by normalised ``[start, end)``."""
        if not self.index or start >= end:
            return (0, 0)
        start = max(0, min(start, len(self.index) - 1))
        end = max(start + 1, min(end, len(self.index)))
        return (self.index[start], self.index[end - 1] + 1)


@cache
def fold_char(ch: str) -> str:
    """Full-width to half-width (NFKC) and one form for brackets, dashes, colons."""
    if ch in _BRACKETS:
        return _BRACKETS[ch]
    folded = unicodedata.normalize("NFKC", ch)
    out = []
    for c in folded:
        c = _BRACKETS.get(c, c)
        c = _DASHES.get(c, c)
        c = _COLONS.get(c, c)
        out.append(c)
    return "".join(out)


def _collapse_han_spaces(chars: list[str], index: list[int]) -> tuple[list[str], list[int]]:
    """Drop spaces that a text layer or OCR put between single Han characters.

    Only a run like "安 全 生 产" (at least three single Han characters with
    single spaces between) or a spaced pair such as "姓 名" directly followed
    by a colon or the end of the line is collapsed: a real column gap
    ("王建国 男") must survive, because table and key–value parsing split on it.
    """
    # Tokens: maximal non-space stretches, as (start, end) in chars.
    tokens: list[tuple[int, int]] = []
    i, n = 0, len(chars)
    while i < n:
        if chars[i] == " ":
            i += 1
            continue
        j = i + 1
        if chars[i] != ":":
            # A colon is a token of its own so that "姓 名:" reads as a label.
            while j < n and chars[j] not in " :":
                j += 1
        tokens.append((i, j))
        i = j
    drop = [False] * n
    k = 0
    while k < len(tokens):
        m = k
        while (
            m < len(tokens)
            and tokens[m][1] - tokens[m][0] == 1
            and is_han(chars[tokens[m][0]])
            and (m == k or tokens[m][0] - tokens[m - 1][1] == 1)
        ):
            m += 1
        run = m - k
        if run >= 3:
            for t in range(k, m - 1):
                drop[tokens[t][1]] = True
        elif run == 2:
            nxt_is_colon = m < len(tokens) and chars[tokens[m][0]] == ":"
            # "姓 名:" or a spaced two-character label alone on its line.
            if nxt_is_colon or (k == 0 and m == len(tokens)):
                drop[tokens[k][1]] = True
        k = max(m, k + 1)
    return (
        [c for c, d in zip(chars, drop) if not d],
        [x for x, d in zip(index, drop) if not d],
    )


_PLAIN = re.compile(
    "^[^\\s" + re.escape("".join(_BRACKETS) + "".join(_DASHES) + "".join(_COLONS)) + "\u200b\ufeff]*$"
)


def normalize_with_map(text: str) -> Normalized:
    """Normalise ``text`` and keep, for each output character, its source index.

    Steps: NFKC (full-width digits, Latin and punctuation to half-width, the
    ideographic space to a space), one bracket form, one dash form, tabs and
    runs of spaces to one space, spurious spaces between Han characters
    removed, ends trimmed.
    """
    if _PLAIN.match(text) and unicodedata.is_normalized("NFKC", text):
        # Nothing to fold, no spaces: the common case of a text-layer line.
        return Normalized(text, tuple(range(len(text))))
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in "\t\u00a0\u2002\u2003\u2009\u200b\ufeff":
            ch = " " if ch != "\u200b" and ch != "\ufeff" else ""
        for c in fold_char(ch):
            if c.isspace():
                c = " "
            if c == " " and chars and chars[-1] == " ":
                continue
            chars.append(c)
            index.append(i)
    chars, index = _collapse_han_spaces(chars, index)
    # Spaces around colons never separate anything in a label ("姓名 : 王").
    out_c: list[str] = []
    out_i: list[int] = []
    for k, c in enumerate(chars):
        if c == " " and (
            (out_c and out_c[-1] == ":") or (k + 1 < len(chars) and chars[k + 1] == ":")
        ):
            continue
        out_c.append(c)
        out_i.append(index[k])
    while out_c and out_c[0] == " ":
        out_c.pop(0)
        out_i.pop(0)
    while out_c and out_c[-1] == " ":
        out_c.pop()
        out_i.pop()
    return Normalized("".join(out_c), tuple(out_i))


def normalize_text(text: str) -> str:
    """The normalised form of ``text`` (see :func:`normalize_with_map`)."""
    return normalize_with_map(text).text


_HAN_SPACE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def compact_name(name: str) -> str:
    """A person's or company's name without any spaces, half-width, one bracket form.

    Names never contain spaces in Chinese, so every space is spurious here
    (unlike in running text, where a space may separate columns).
    """
    folded = "".join(fold_char(c) for c in name)
    return re.sub(r"\s+", "", folded)


# Chinese numerals used in dates (二〇二六年十一月二十日) and counts.
_CN_DIGITS = {
    "〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}


def chinese_numeral(text: str) -> int | None:
    """Value of a Chinese numeral: digit-by-digit (二〇二六) or positional (二十, 十一).

    Returns None for text that is not a numeral.
    """
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(c in _CN_DIGITS for c in text):
        # Digit-by-digit reading, as years are written.
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total = 0
    current = 0
    units = {"十": 10, "百": 100, "千": 1000}
    for c in text:
        if c in _CN_DIGITS:
            current = _CN_DIGITS[c]
        elif c in units:
            total += (current or 1) * units[c]
            current = 0
        else:
            return None
    return total + current
