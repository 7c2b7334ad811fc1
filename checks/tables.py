"""Tables of standards kept as data beside the rules that read them.

A table is two files with the same stem: ``NAME.csv`` (a matrix: first column
the row key, header row the column keys, cells numbers or empty) and
``NAME.yaml`` (its header: what it is, the source and confidence of its
values). A rule author changes a number in the CSV without touching code.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.engine import Confidence

TABLES_DIR = Path(__file__).resolve().parent / "tables"


class TableMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    standard: str
    clause: str
    unit: str
    source: str = PydField(description="where the values were read, traceable to domain_sources.md")
    confidence: Confidence
    notes: list[str] = PydField(default_factory=list)


class Table:
    """A read-only matrix of numbers with its provenance."""

    def __init__(self, path: Path, meta: TableMeta, columns: list[str], rows: dict[str, dict[str, float | None]]):
        self.path = path
        self.meta = meta
        self.columns = columns
        self.rows = rows

    def get(self, row: str, col: str) -> float | None:
        """The cell, or None when the standard has no value for that pair."""
        return self.rows.get(row, {}).get(col)

    def as_text(self) -> str:
        width = max([len(c) for c in self.columns] + [6])
        head = "".ljust(width) + " | " + " | ".join(c.ljust(width) for c in self.columns)
        lines = [head, "-" * len(head)]
        for key, cells in self.rows.items():
            vals = ["—" if cells.get(c) is None else f"{cells[c]:g}" for c in self.columns]
            lines.append(key.ljust(width) + " | " + " | ".join(v.ljust(width) for v in vals))
        return "\n".join(lines)


class TableError(ValueError):
    pass


@lru_cache(maxsize=64)
def load_table(path: str | Path) -> Table:
    """Load ``NAME.csv`` + ``NAME.yaml`` (give either, or the stem). Cached: tables are immutable data."""
    p = Path(path)
    if not p.is_absolute():
        p = TABLES_DIR / p
    stem = p.with_suffix("") if p.suffix in (".csv", ".yaml") else p
    csv_path, meta_path = stem.with_suffix(".csv"), stem.with_suffix(".yaml")
    meta = TableMeta.model_validate(yaml.safe_load(meta_path.read_text(encoding="utf-8")))
    with csv_path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        columns = [c.strip() for c in header[1:]]
        rows: dict[str, dict[str, float | None]] = {}
        for lineno, raw in enumerate(reader, start=2):
            if not raw or not raw[0].strip() or raw[0].startswith("#"):
                continue
            if len(raw) != len(header):
                raise TableError(f"{csv_path}:{lineno}: expected {len(header)} cells, found {len(raw)}")
            cells: dict[str, float | None] = {}
            for col, cell in zip(columns, raw[1:]):
                cell = cell.strip()
                try:
                    cells[col] = float(cell) if cell else None
                except ValueError as exc:
                    raise TableError(f"{csv_path}:{lineno}: {cell!r} is not a number") from exc
            rows[raw[0].strip()] = cells
    return Table(stem.with_suffix(".csv"), meta, columns, rows)
