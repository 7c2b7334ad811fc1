"""Readers for the public NER corpora, mapped onto shencha's label set.

Both the trainer and the benchmark read the corpora through this module so
that the label mapping used for training is exactly the one used to score.

Internal labels: ``PERSON``, ``ORG`` and ``GOV``. Government bodies are kept
apart from other organisations while training and scoring because CLUENER
annotates them as a separate type (``government``): folding them into ORG
would make the model's ORG look worse than it is on CLUENER's
``organization``/``company``. The public API reports GOV as ORG, since for a
licence review an issuing authority is an organisation like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

InternalLabel = Literal["PERSON", "ORG", "GOV"]

# ResumeNER types: NAME, ORG, TITLE, EDU, CONT, PRO, RACE, LOC.
RESUME_MAP: dict[str, InternalLabel] = {"NAME": "PERSON", "ORG": "ORG"}
# CLUENER types: name, organization, company, government, position, address,
# game, book, movie, scene.
CLUENER_MAP: dict[str, InternalLabel] = {
    "name": "PERSON",
    "organization": "ORG",
    "company": "ORG",
    "government": "GOV",
}


class GoldSpan(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: int
    end: int  # exclusive
    label: InternalLabel


class GoldSentence(BaseModel):
    text: str
    spans: list[GoldSpan]
    source: str


def _check(text: str, start: int, end: int, surface: str | None, where: str) -> None:
    if not (0 <= start < end <= len(text)):
        raise ValueError(f"{where}: span {start}:{end} outside text of length {len(text)}")
    if surface is not None and text[start:end] != surface:
        raise ValueError(f"{where}: span {start}:{end} reads {text[start:end]!r}, not {surface!r}")


def read_resumener(path: str | Path) -> Iterator[GoldSentence]:
    """``{"text", "entities": [[start, end_exclusive, TYPE, surface], ...]}``."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            text = row["text"]
            spans = []
            for start, end, typ, surface in row["entities"]:
                _check(text, start, end, surface, f"{path.name}:{n}")
                if typ in RESUME_MAP:
                    spans.append(GoldSpan(start=start, end=end, label=RESUME_MAP[typ]))
            yield GoldSentence(text=text, spans=spans, source="resumener")


def read_cluener(path: str | Path) -> Iterator[GoldSentence]:
    """``{"text", "label": {type: {entity: [[start, end_inclusive], ...]}}}``."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            text = row["text"]
            spans = []
            for typ, entities in row.get("label", {}).items():
                for surface, positions in entities.items():
                    for start, end_incl in positions:
                        _check(text, start, end_incl + 1, surface, f"{path.name}:{n}")
                        if typ in CLUENER_MAP:
                            spans.append(
                                GoldSpan(start=start, end=end_incl + 1, label=CLUENER_MAP[typ])
                            )
            spans.sort(key=lambda s: (s.start, s.end))
            yield GoldSentence(text=text, spans=spans, source="cluener")


def read_any(path: str | Path) -> Iterator[GoldSentence]:
    """Pick the reader from the first record's shape."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    return read_cluener(path) if "label" in first else read_resumener(path)


def spans_set(spans: Iterable[GoldSpan]) -> set[tuple[int, int, str]]:
    return {(s.start, s.end, s.label) for s in spans}
