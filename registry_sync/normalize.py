"""Normalisers shared by the sync (what is stored) and the lookup (what is asked).

Both sides must fold text the same way, so every key the store indexes is
computed here and nowhere else.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from operator import mul

import numpy as np

# Every bracket shape seen on scans and in exports folds to ASCII parentheses:
# 〔2020〕, [2020], 【2020】, (2020), （2020） are the same number.
_BRACKETS = str.maketrans(
    {
        "〔": "(", "〕": ")", "[": "(", "]": ")", "【": "(", "】": ")",
        "（": "(", "）": ")", "［": "(", "］": ")", "｛": "(", "｝": ")",
        "{": "(", "}": ")", "〈": "(", "〉": ")", "《": "(", "》": ")",
        "﹝": "(", "﹞": ")", "⦅": "(", "⦆": ")", "〖": "(", "〗": ")",
    }
)

# Characters an OCR engine or a clerk uses for "cannot read this one".
UNREADABLE_CHARS = frozenset("?？□■*＊_＿﹖�")

# Letters OCR confuses with digits (O/0, I/1/l, Z/2, S/5, B/8). The key maps
# both sides onto the digit, so a misread and the registry's number meet.
_OCR_FOLD = {"O": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8"}
_OCR_KEY = str.maketrans({**_OCR_FOLD, "(": None, ")": None})

_SPACES = re.compile(r"[\s\u3000\u00a0]+")
_WHITESPACE = re.compile(r"\s")
_NAME_DOTS = str.maketrans({"•": "·", "・": "·", "‧": "·", "∙": "·", "⋅": "·", "．": "·", ".": "·"})

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_ID_ZERO = ord("0") * sum(_ID_WEIGHTS)
_ID15_RE = re.compile(r"^[0-9]{15}$")

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _nfkc(text: str) -> str:
    # NFKC turns full-width digits and letters (ＡＢＣ１２３) into ASCII.
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def clean_text(value: object) -> str:
    """Strip, NFKC and collapse inner whitespace; ``None`` becomes ''."""
    if value is None:
        return ""
    text = str(value).strip()
    # Fast paths: a million-row sync calls this ~12 times per row.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text).strip()
    # str.split() splits on every Unicode space (U+3000, U+00A0 too), in C.
    return " ".join(text.split())


# Column-wise helpers. A registry sync handles a million rows; one call per
# cell is most of its time, so a column of cells is joined with a separator
# and handled by one C-level operation when that is provably the same as
# handling each cell (a NUL combines with nothing under NFKC and is neither
# whitespace nor mapped by any table here).
SEP = "\x00"


def joined(cells: list) -> str | None:
    """The cells joined by :data:`SEP`, or ``None`` when one is not text or holds a NUL itself."""
    if not cells:
        return ""
    try:
        text = SEP.join(cells)
    except TypeError:
        return None
    return text if text.count(SEP) == len(cells) - 1 else None


def is_clean(text: str) -> bool:
    """Whether :func:`clean_text` leaves ``text`` (or each cell of a joined column) unchanged:
    no whitespace at all, already NFKC."""
    return _WHITESPACE.search(text) is None and unicodedata.is_normalized("NFKC", text)


# ---------------------------------------------------------------- numbers


def normalize_cert_no(value: str) -> str:
    """Canonical certificate number: half-width, ASCII brackets, no spaces, upper case.

    ``第…号`` wrappers are dropped because exports write the same number with
    and without them.
    """
    text = _nfkc(value).translate(_BRACKETS)
    text = "".join(text.replace("×", "X").split()).upper()
    if text.startswith("第") and text.endswith("号"):
        text = text[1:-1]
    return text


def cert_key(value: str, *, normalized: bool = False) -> str:
    """OCR-tolerant key of a certificate number: brackets dropped, confusable letters folded."""
    text = value if normalized else normalize_cert_no(value)
    return text.translate(_OCR_KEY)


def cert_keys(values: list[str]) -> list[str]:
    """:func:`cert_key` of many normalised numbers (one ``translate`` for the whole column)."""
    text = joined(values)
    if text is None:
        return [cert_key(v, normalized=True) for v in values]
    return text.translate(_OCR_KEY).split(SEP) if values else []


def has_unreadable(value: str) -> bool:
    return any(ch in UNREADABLE_CHARS for ch in value)


def normalize_id_no(value: str) -> str:
    """Resident ID as stored: half-width, no spaces, check character upper case."""
    return "".join(_nfkc(value).split()).replace("×", "X").upper()


def id_no_problem(id_no: str) -> str | None:
    """Why a (normalised) resident ID is malformed, in Chinese; ``None`` when it is fine.

    The region code is not checked: real numbers carry retired region codes.
    """
    if len(id_no) != 18:
        if _ID15_RE.match(id_no):
            return None  # legacy 15-digit number, no check character to verify
        return f"身份证号长度应为18位，实际为{len(id_no)}位"
    if not _ID_RE.match(id_no):
        return "身份证号含有非法字符"
    # ASCII digits as bytes are their code points: subtract '0' once for all
    # 17 (a registry sync runs this a million times).
    total = sum(map(mul, id_no[:17].encode("ascii"), _ID_WEIGHTS)) - _ID_ZERO
    if _ID_CHECK[total % 11] != id_no[17]:
        return "身份证号校验位错误"
    if not _valid_birth(id_no[6:14]):
        return "身份证号中的出生日期无效"
    return None


@lru_cache(maxsize=1 << 16)
def _valid_birth(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


_ID_WEIGHTS_ARRAY = np.array(_ID_WEIGHTS, dtype=np.int64)
_ID_CHECK_BYTES = np.frombuffer(_ID_CHECK.encode("ascii"), dtype=np.uint8)
_PLACE = np.array([1000, 100, 10, 1], dtype=np.int64)


def id_no_problems(ids: list[str]) -> list[str | None]:
    """:func:`id_no_problem` of many normalised IDs; the same answers, computed as arrays.

    Eighteen-character ASCII numbers are checked together (characters, check
    digit, birth date); only those that fail, and every number of any other
    shape, go through :func:`id_no_problem` for their reason.
    """
    n = len(ids)
    text = joined(ids)
    if text is None or len(text) != 19 * n - 1 or not text.isascii():
        return [id_no_problem(v) for v in ids]
    cells = np.frombuffer((text + SEP).encode("ascii"), dtype=np.uint8).reshape(n, 19)
    if not (cells[:, 18] == 0).all():  # some number is not 18 characters long
        return [id_no_problem(v) for v in ids]
    digits = cells[:, :17].astype(np.int64) - ord("0")
    last = cells[:, 17]
    good = ((digits >= 0) & (digits <= 9)).all(axis=1)
    good &= ((last >= ord("0")) & (last <= ord("9"))) | (last == ord("X"))
    good &= _ID_CHECK_BYTES[(digits @ _ID_WEIGHTS_ARRAY) % 11] == last
    year = digits[:, 6:10] @ _PLACE
    month = digits[:, 10:12] @ _PLACE[2:]
    day = digits[:, 12:14] @ _PLACE[2:]
    first = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    month_days = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(np.int64)
    good &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    problems: list[str | None] = [None] * n
    for i in np.flatnonzero(~good).tolist():
        problems[i] = id_no_problem(ids[i])
    return problems


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def mask_id_no(id_no: str) -> str:
    """110101198001014514 -> 110101********4514 (personal data never shown whole)."""
    if len(id_no) >= 15:
        return id_no[:6] + "*" * (len(id_no) - 10) + id_no[-4:]
    if len(id_no) > 4:
        return "*" * (len(id_no) - 4) + id_no[-4:]
    return "*" * len(id_no)


# Eighteen characters, 17 digits then a digit or X: the shape of a resident ID,
# also inside "T" + ID certificate numbers, and of many all-digit USCCs.
# \d on purpose: full-width digits (Word documents) are someone's ID too.
_ID_IN_TEXT = re.compile(r"(?<!\d)\d{17}[\dXxＸｘ](?!\d)")


def _company_code(run: str) -> bool:
    """A run of that shape whose USCC check character holds and whose ID check character does not."""
    run = run.upper()
    return uscc_checksum_ok(run) and id_check_char(run[:17]) != run[17]


def mask_ids_in_text(text: str) -> str:
    """Mask every resident ID inside free text: 110101199003074514 -> 110101********4514.

    Invalid IDs (a mistyped check digit or birth date) are masked too: they
    are still someone's number. A unified social credit code is left whole
    when its own check character holds and the ID check character does not,
    so a mistyped ID escapes masking only if it happens to pass the USCC
    check (about 1 in 31); a company code that also passes the ID check is
    masked.
    """
    return _ID_IN_TEXT.sub(lambda m: m.group(0) if _company_code(m.group(0)) else mask_id_no(m.group(0)), text)


def has_resident_id(text: str) -> bool:
    """Whether :func:`mask_ids_in_text` would mask something in ``text``."""
    return any(not _company_code(m.group(0)) for m in _ID_IN_TEXT.finditer(text))


def normalize_uscc(value: str) -> str:
    return "".join(_nfkc(value).split()).upper()


def uscc_problem(uscc: str) -> str | None:
    """Format problems only; a wrong check character is not a problem here.

    Some early pilot codes fail the checksum yet were legally issued, so the
    registry must keep them (domain.md).
    """
    if len(uscc) != 18:
        return f"统一社会信用代码长度应为18位，实际为{len(uscc)}位"
    if not _USCC_RE.match(uscc):
        return "统一社会信用代码含有非法字符"
    return None


def uscc_checksum_ok(uscc: str) -> bool:
    if not _USCC_RE.match(uscc):
        return False
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(uscc[:17], _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == uscc[17]


# ------------------------------------------------------------------ names


class _T2S(dict):
    """Traditional -> simplified, character by character, filled on first sight.

    Per character on purpose: phrase tables would rewrite names by context
    (乾 in 乾隆). As a ``str.translate`` table it folds a name in C once the
    characters have been seen (OpenCC's pure-Python converter costs ~15 µs
    per call, too slow for a million-row sync).
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = _opencc().convert(ch) if code > 0x2E7F else ch
        self[code] = out
        return out


_T2S_TABLE = _T2S()


@lru_cache(maxsize=1)
def _opencc():
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    return text.translate(_T2S_TABLE)


def fold_name(value: str) -> str:
    """Person name for comparison: half-width, no spaces, one middle dot, simplified script."""
    text = "".join(_nfkc(value).split()).translate(_NAME_DOTS)
    return to_simplified(text)


def fold_names(values: list[str]) -> list[str]:
    """:func:`fold_name` of many names: one pass over the joined column when it is clean."""
    text = joined(values)
    if text is None or not is_clean(text):
        return [fold_name(v) for v in values]
    return to_simplified(text.translate(_NAME_DOTS)).split(SEP) if values else []


_COMPANY_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限公司", "集团公司", "总公司", "分公司", "公司",
)


def fold_company_name(value: str) -> str:
    """Company name for comparison: half-width, no spaces, ASCII brackets, simplified."""
    text = "".join(_nfkc(value).split()).translate(_BRACKETS)
    return to_simplified(text)


def company_core(folded: str) -> str:
    """The distinctive part of a folded company name (legal-form suffix removed)."""
    for suffix in _COMPANY_SUFFIXES:
        if folded.endswith(suffix) and len(folded) > len(suffix) + 1:
            return folded[: -len(suffix)]
    return folded


def name_keys(folded: str) -> set[str]:
    """Symmetric-delete keys of a person name (SymSpell): the name minus one character.

    Two names one substitution, insertion or deletion apart share a key, so
    a fuzzy search reads only the few rows under the query's keys instead of
    scanning every holder. Names of two characters get no keys: a one-
    character block would hold a whole surname.
    """
    if len(folded) < 3:
        return set()
    return {folded[:i] + folded[i + 1 :] for i in range(len(folded))}


def company_grams(folded: str) -> set[str]:
    """Character bigrams of a company name's core, the blocking keys for fuzzy company search."""
    core = company_core(folded)
    if len(core) < 2:
        return {core} if core else set()
    return {core[i : i + 2] for i in range(len(core) - 1)}


# ------------------------------------------------------------- categories


def normalize_category(value: str) -> str:
    """Operation category for comparison: folded, no brackets, no trailing 作业."""
    text = fold_company_name(value).replace("(", "").replace(")", "")
    text = text.replace("、", "").replace(",", "").replace("，", "")
    if text.endswith("作业") and len(text) > 2:
        text = text[:-2]
    return text
