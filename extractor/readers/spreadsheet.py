"""Spreadsheet reader: .xlsx, .xlsm, .xls, .et, .ods (python-calamine) and .csv.

Each visible worksheet is one page. Like a Word file, a sheet has no page
geometry, so it is laid out in "flow coordinates": row k of the sheet's
visible rows is at y = 20·k, a column is as wide as its longest text × 12.
Every cell line and table cell keeps its address (``名册!C7``) in ``ref``:
that address, not a crop, is the evidence for a spreadsheet.

- Formulas count by their cached values (what Excel/WPS showed when the file
  was saved); a formula never calculated has no value and reads as empty.
- Cells with a date format become ISO dates (calamine converts the serial
  number by the cell's format); a plain number stays a number.
- Merged cells: the text is kept once, at the top-left cell, with a bbox over
  the whole merged area.
- Hidden sheets are skipped, and so are hidden rows and columns of
  .xlsx/.xlsm (openpyxl reads their visibility; calamine does not expose it
  for .xls/.ods): each is named in a W205 warning on the document.
- Rows above the first row with two filled cells (a title, "企业名称：…")
  and below the last one (signatures, dates) are text lines; the rows
  between are the sheet's table, from which the field steps read rosters
  exactly as from a Word table.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from ..errors import ErrorCode, InputError, describe
from ..limits import Limits
from ..model import DocumentError, Line, Page, Source, Table, TableCell, Word
from .base import ReadOutput

_LINE = 20.0
_CHAR = 12.0
_MIN_COL_CHARS = 4


@dataclass
class _Sheet:
    name: str
    rows: list[list[object]]  # values from A1 (row 0, column 0)
    merged: list[tuple[tuple[int, int], tuple[int, int]]]
    hidden_rows: set[int]
    hidden_cols: set[int]


def read_spreadsheet(data: bytes, fmt: str, limits: Limits, name: str = "Sheet1") -> ReadOutput:
    """Read a workbook (``fmt`` xlsx/xlsm/xls/ods) or a CSV (``fmt`` csv, one
    sheet called ``name``, usually the file's stem)."""
    warnings: list[DocumentError] = []
    if fmt == "csv":
        sheets = [_read_csv(data, name, limits)]
        hidden_sheets: list[str] = []
    else:
        sheets, hidden_sheets = _read_workbook(data, fmt, limits)
    hidden_notes: list[str] = [f"隐藏工作表「{n}」" for n in hidden_sheets]
    precision: list[str] = []
    pages = []
    for number, sheet in enumerate(sheets, 1):
        if sheet.hidden_rows:
            hidden_notes.append(f"「{sheet.name}」隐藏行 {_ranges([r + 1 for r in sorted(sheet.hidden_rows)])}")
        if sheet.hidden_cols:
            hidden_notes.append(
                f"「{sheet.name}」隐藏列 {'、'.join(_col_letter(c) for c in sorted(sheet.hidden_cols))}"
            )
        pages.append(_page(number, sheet, precision))
    if hidden_notes:
        warnings.append(describe(ErrorCode.HIDDEN_CONTENT, "；".join(hidden_notes)))
    if precision:
        shown = "、".join(precision[:5]) + ("等" if len(precision) > 5 else "")
        warnings.append(describe(ErrorCode.NUMBER_PRECISION, shown))
    return ReadOutput(pages=pages, warnings=warnings)


# -- reading ---------------------------------------------------------------


def _read_workbook(data: bytes, fmt: str, limits: Limits) -> tuple[list[_Sheet], list[str]]:
    import python_calamine as calamine

    if fmt in ("xlsx", "xlsm", "ods"):
        _check_unpacked(data, limits)
    try:
        workbook = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except calamine.PasswordError as exc:
        raise InputError(ErrorCode.ENCRYPTED_FILE, "表格设有打开密码", "password-protected workbook") from exc
    except Exception as exc:  # noqa: BLE001 - calamine raises its own errors and ValueError/OSError
        raise InputError(
            ErrorCode.CORRUPT_FILE, f"表格文件无法打开: {type(exc).__name__}: {exc}"[:200], str(exc)[:200]
        ) from exc
    if fmt in ("xlsx", "xlsm"):
        visibility = _openpyxl_visibility(data)
    elif fmt == "xls":
        visibility = _biff_visibility(data)
    else:
        visibility = {}
    sheets: list[_Sheet] = []
    hidden: list[str] = []
    try:
        for meta in workbook.sheets_metadata:
            if str(meta.typ).rsplit(".", 1)[-1] != "WorkSheet":
                continue  # chart sheets, macro sheets: no cells to read
            if str(meta.visible).rsplit(".", 1)[-1] != "Visible":
                hidden.append(meta.name)
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            cells = sheet.height * sheet.width
            if cells > limits.max_sheet_cells:
                raise InputError(
                    ErrorCode.FILE_TOO_LARGE,
                    f"工作表「{meta.name}」有 {cells} 个单元格，上限 {limits.max_sheet_cells}",
                    f"sheet has {cells} cells, limit {limits.max_sheet_cells}",
                )
            rows = sheet.to_python(skip_empty_area=False)
            merged = list(sheet.merged_cell_ranges or [])
            hidden_rows, hidden_cols = visibility.get(meta.name, (set(), set()))
            sheets.append(_Sheet(meta.name, rows, merged, hidden_rows, hidden_cols))
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InputError(
            ErrorCode.CORRUPT_FILE, f"工作表无法读取: {type(exc).__name__}: {exc}"[:200], str(exc)[:200]
        ) from exc
    finally:
        workbook.close()
    return sheets, hidden


def _check_unpacked(data: bytes, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise InputError(ErrorCode.CORRUPT_FILE, f"表格文件无法打开: {exc}", str(exc)) from exc
    if total > limits.max_unpacked_document_bytes:
        raise InputError(
            ErrorCode.FILE_TOO_LARGE,
            f"解压后 {total / 2**20:.0f} MB，上限 {limits.max_unpacked_document_bytes / 2**20:.0f} MB",
            f"{total / 2**20:.0f} MB unpacked",
        )


def _openpyxl_visibility(data: bytes) -> dict[str, tuple[set[int], set[int]]]:
    """Hidden rows and columns (0-based) per sheet of an .xlsx/.xlsm."""
    from openpyxl import load_workbook
    from openpyxl.utils import column_index_from_string

    out: dict[str, tuple[set[int], set[int]]] = {}
    try:
        wb = load_workbook(io.BytesIO(data), read_only=False, data_only=True, keep_links=False)
    except Exception:  # noqa: BLE001 - calamine read it; visibility is a bonus
        return out
    for ws in wb.worksheets:
        rows = {r - 1 for r, dim in ws.row_dimensions.items() if dim.hidden}
        cols: set[int] = set()
        for key, dim in ws.column_dimensions.items():
            if dim.hidden:
                first = column_index_from_string(key)
                last = max(first, dim.max or first)
                cols.update(range(first - 1, last))
        out[ws.title] = (rows, cols)
    wb.close()
    return out


def _biff_visibility(data: bytes) -> dict[str, tuple[set[int], set[int]]]:
    """Hidden rows and columns (0-based) per sheet of a BIFF8 workbook (.xls, .et).

    calamine does not expose them, so the Workbook stream's records are
    walked (MS-XLS 2.4): BoundSheet8 gives each sheet's name and the offset
    of its substream; in a substream, Row (0x0208) has fDyZero (0x20) set on
    hidden rows and ColInfo (0x007D) has fHidden (0x01) on hidden columns.
    FilePass (0x002F) in the globals means the workbook is encrypted.
    """
    import olefile

    out: dict[str, tuple[set[int], set[int]]] = {}
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            name = "Workbook" if ole.exists("Workbook") else "Book"
            stream = ole.openstream(name).read()
    except Exception:  # noqa: BLE001 - calamine read it; visibility is a bonus
        return out
    sheets: dict[int, str] = {}
    pos = 0
    current: str | None = None
    in_globals = True
    while pos + 4 <= len(stream):
        rtype = int.from_bytes(stream[pos:pos + 2], "little")
        length = int.from_bytes(stream[pos + 2:pos + 4], "little")
        body = stream[pos + 4:pos + 4 + length]
        if rtype == 0x0809 and not in_globals:  # BOF of a sheet substream
            current = sheets.get(pos)
            if current is not None:
                out.setdefault(current, (set(), set()))
        elif rtype == 0x000A:  # EOF
            in_globals = False
            current = None
        elif in_globals and rtype == 0x002F:
            raise InputError(ErrorCode.ENCRYPTED_FILE, "表格设有打开密码", "FilePass record")
        elif in_globals and rtype == 0x0085 and len(body) >= 8:
            offset = int.from_bytes(body[0:4], "little")
            n = body[6]
            wide = body[7] & 0x01
            raw = body[8:8 + n * (2 if wide else 1)]
            sheets[offset] = raw.decode("utf-16-le" if wide else "latin-1", "replace")
        elif current is not None and rtype == 0x0208 and len(body) >= 14:
            if int.from_bytes(body[12:14], "little") & 0x20:
                out[current][0].add(int.from_bytes(body[0:2], "little"))
        elif current is not None and rtype == 0x007D and len(body) >= 10:
            if int.from_bytes(body[8:10], "little") & 0x01:
                first = int.from_bytes(body[0:2], "little")
                last = min(int.from_bytes(body[2:4], "little"), 16383)
                out[current][1].update(range(first, last + 1))
        pos += 4 + length
    return out


def _read_csv(data: bytes, name: str, limits: Limits) -> _Sheet:
    text = None
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise InputError(ErrorCode.CORRUPT_FILE, "CSV 文件编码无法识别（应为 UTF-8 或 GBK）", "undecodable CSV")
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[object]] = []
    cells = 0
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            cells += len(row)
            if cells > limits.max_sheet_cells:
                raise InputError(
                    ErrorCode.FILE_TOO_LARGE, f"超过 {limits.max_sheet_cells} 个单元格",
                    f"more than {limits.max_sheet_cells} cells",
                )
            rows.append(list(row))
    except csv.Error as exc:
        raise InputError(ErrorCode.CORRUPT_FILE, f"CSV 无法解析: {exc}", str(exc)) from exc
    return _Sheet(name, rows, [], set(), set())


# -- layout ----------------------------------------------------------------


def _page(number: int, sheet: _Sheet, precision: list[str]) -> Page:
    # Merged areas: the top-left cell carries the text, the others are covered.
    covered: set[tuple[int, int]] = set()
    span: dict[tuple[int, int], tuple[int, int]] = {}
    for (r0, c0), (r1, c1) in sheet.merged:
        span[(r0, c0)] = (r1, c1)
        covered.update((r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1) if (r, c) != (r0, c0))

    texts: dict[tuple[int, int], str] = {}
    for r, row in enumerate(sheet.rows):
        if r in sheet.hidden_rows:
            continue
        for c, value in enumerate(row):
            if c in sheet.hidden_cols or (r, c) in covered:
                continue
            text = _text(value, f"{sheet.name}!{_col_letter(c)}{r + 1}", precision)
            if text:
                texts[(r, c)] = text

    rows_used = sorted({r for r, _ in texts})
    per_row = {r: sorted(c for rr, c in texts if rr == r) for r in rows_used}
    wide = [r for r in rows_used if len(per_row[r]) >= 2]
    first, last = (wide[0], wide[-1]) if wide else (None, None)

    # Column geometry over the whole sheet, so text lines and table align.
    cols = sorted({c for _, c in texts})
    width_of = {c: max([_MIN_COL_CHARS] + [len(t) for (r, cc), t in texts.items()
                                           if cc == c and len(per_row[r]) >= 2]) * _CHAR for c in cols}
    x_of: dict[int, float] = {}
    x = 0.0
    for c in cols:
        x_of[c] = x
        x += width_of[c]
    y_of = {r: i * _LINE for i, r in enumerate(rows_used)}

    def bbox(r: int, c: int, text: str, in_table: bool) -> tuple[float, float, float, float]:
        r1, c1 = span.get((r, c), (r, c))
        if in_table:
            right = max((x_of[k] + width_of[k] for k in cols if c <= k <= c1), default=x_of[c] + width_of[c])
        else:
            right = x_of[c] + max(len(text), 1) * _CHAR
        bottom = max((y_of[k] for k in rows_used if r <= k <= r1), default=y_of[r]) + _LINE
        return (x_of[c], y_of[r], right, bottom)

    lines: list[Line] = []
    tables: list[Table] = []
    table_rows = [r for r in rows_used if first is not None and first <= r <= last]
    table_cols = sorted({c for r in table_rows for c in per_row[r]})
    row_index = {r: i for i, r in enumerate(table_rows)}
    col_index = {c: i for i, c in enumerate(table_cols)}
    cells: list[TableCell] = []
    block = 0
    in_table_block = None
    for r in rows_used:
        in_table = r in row_index
        if in_table and in_table_block is None:
            in_table_block = block
            block += 1
        for c in per_row[r]:
            text = texts[(r, c)]
            ref = f"{sheet.name}!{_col_letter(c)}{r + 1}"
            box = bbox(r, c, text, in_table)
            if in_table:
                cell = (row_index[r], col_index[c])
                cells.append(TableCell(row=cell[0], col=cell[1], text=text, bbox=box, ref=ref))
                lines.append(Line(text=text, bbox=box, source=Source.SHEET, block=in_table_block, table=0,
                                  cell=cell, ref=ref, words=[Word(text=text, bbox=box)]))
            else:
                lines.append(Line(text=text, bbox=box, source=Source.SHEET, block=block, ref=ref,
                                  words=[Word(text=text, bbox=box)]))
                block += 1
    if cells:
        x0 = min(x_of[c] for c in table_cols)
        x1 = max(x_of[c] + width_of[c] for c in table_cols)
        tables.append(Table(index=0, bbox=(x0, y_of[table_rows[0]], x1, y_of[table_rows[-1]] + _LINE),
                            n_rows=len(table_rows), n_cols=len(table_cols), cells=cells, source=Source.SHEET))
    n_rows = len(sheet.rows)
    n_cols = max((len(row) for row in sheet.rows), default=0)
    decision = f"电子表格：工作表「{sheet.name}」（{n_rows} 行 × {n_cols} 列），按单元格读取，证据为单元格地址"
    return Page(number=number, width=max(x, 595.0), height=max(len(rows_used) * _LINE, _LINE), unit="pt",
                source=Source.SHEET, decision=decision, lines=lines, tables=tables, name=sheet.name)


def _text(value: object, ref: str, precision: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, int | float):
        if abs(value) >= 1e15:
            precision.append(ref)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return ""
            if value.is_integer():
                return str(int(value))
            return f"{value:.15g}"
        return str(value)
    return str(value).strip()


def _col_letter(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = prev = None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return "、".join(parts)
