"""Person and organisation names in Chinese prose.

A statistical recogniser (spaCy, character CNN with character-bigram
features, transition-based NER) trained for shencha and committed under
``extractor/ner/model/``; it loads offline with ``spacy.load``. See
docs/ner.md for what it was trained on, the figures and the terms.

    >>> from extractor.ner import find_entities
    >>> [(e.label, e.text) for e in find_entities("公司总经理王建国为安全生产第一责任人")]
    [('PERSON', '王建国')]

Offsets are character offsets into the text as given (end exclusive): the
text is not normalised first, so callers can map entities back to words and
their bboxes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import components, crf  # noqa: F401  (register the factories spacy.load needs)

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = [
    "Entity",
    "ModelInfo",
    "find_entities",
    "find_entities_batch",
    "model_info",
    "ner_jsonl",
    "DEFAULT_MODEL",
]

DEFAULT_MODEL = Path(__file__).resolve().parent / "model"
MODEL_ENV = "SHENCHA_NER_MODEL"
_BATCH = 64

# The model separates government bodies (GOV) from other organisations
# because its CLUENER training data does; for a licence review both are
# organisations.
_PUBLIC_LABEL: dict[str, Literal["PERSON", "ORG"]] = {"PERSON": "PERSON", "ORG": "ORG", "GOV": "ORG"}


class Entity(BaseModel):
    """A name found in a text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(description="character offset of the first character")
    end: int = Field(description="character offset after the last character (exclusive)")
    label: Literal["PERSON", "ORG"]
    text: str = Field(description="the surface, equal to text[start:end]")
    score: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="confidence in [0, 1]: the CRF's lowest marginal probability among the "
        "name's characters; None for a model that gives none (the CNN variant)",
    )


class ModelInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    path: str
    architecture: str
    labels: list[str]
    trained_on: list[str]
    size_bytes: int


def _model_path(path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    env = os.environ.get(MODEL_ENV)
    return Path(env) if env else DEFAULT_MODEL


@lru_cache(maxsize=4)
def _load(path: Path) -> Language:
    import spacy

    if not (path / "config.cfg").is_file():
        raise FileNotFoundError(
            f"no NER model at {path}; the default one ships in the package "
            f"(extractor/ner/model), or set {MODEL_ENV}"
        )
    return spacy.load(path)


def load(path: str | Path | None = None) -> Language:
    """The spaCy pipeline, loaded once per path."""
    return _load(_model_path(path).resolve())


def raw_spans_batch(
    texts: Iterable[str], *, model: str | Path | None = None
) -> Iterator[list[tuple[int, int, str]]]:
    """Spans with the model's own labels (PERSON, ORG, GOV), for scoring."""
    for spans in _scored_spans_batch(texts, model=model):
        yield [(s, e, label) for s, e, label, _ in spans]


def _scored_spans_batch(
    texts: Iterable[str], *, model: str | Path | None = None
) -> Iterator[list[tuple[int, int, str, float | None]]]:
    nlp = load(model)
    for doc in nlp.pipe(texts, batch_size=_BATCH):
        scores = doc.user_data.get(crf.SCORES_KEY, {})
        spans = []
        for ent in doc.ents:
            score = scores.get((ent.start_char, ent.end_char))
            # The character segmenter makes whitespace tokens; never report
            # a name that starts or ends on one.
            start, end = ent.start_char, ent.end_char
            while start < end and doc.text[start].isspace():
                start += 1
            while end > start and doc.text[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((start, end, ent.label_, None if score is None else round(score, 4)))
        yield spans


def find_entities_batch(
    texts: Iterable[str], *, model: str | Path | None = None
) -> list[list[Entity]]:
    """Names in each text; faster than calling :func:`find_entities` per text."""
    texts = list(texts)
    out = []
    for text, spans in zip(texts, _scored_spans_batch(texts, model=model), strict=True):
        out.append(
            [
                Entity(start=s, end=e, label=_PUBLIC_LABEL[label], text=text[s:e], score=score)
                for s, e, label, score in spans
                if label in _PUBLIC_LABEL
            ]
        )
    return out


def find_entities(text: str, *, model: str | Path | None = None) -> list[Entity]:
    """PERSON and ORG names in ``text``, in order of appearance."""
    return find_entities_batch([text], model=model)[0]


def model_info(model: str | Path | None = None) -> ModelInfo:
    path = _model_path(model).resolve()
    nlp = load(path)
    meta = nlp.meta
    arch = "spaCy " + " + ".join(nlp.pipe_names)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return ModelInfo(
        name=str(meta.get("name", "unknown")),
        version=str(meta.get("version", "0.0.0")),
        path=str(path),
        architecture=arch,
        labels=list(nlp.get_pipe("ner").labels),
        trained_on=[
            f"{src['name']} ({src.get('terms', 'terms unknown')})" for src in meta.get("sources", [])
        ],
        size_bytes=size,
    )


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def ner_jsonl(stdin: IO[str], stdout: IO[str], *, model: str | Path | None = None) -> int:
    """``shencha ner``: one text per input line, one JSON object per output line.

    Every input line gives exactly one output line (an empty line gives no
    entities), so outputs can be zipped with inputs. Lines are processed in
    small batches and flushed after each, which keeps pipes responsive.
    Returns the number of lines written.
    """
    written = 0
    lines = (line.rstrip("\r\n") for line in stdin)
    for chunk in _chunks(lines, 32):
        for text, ents in zip(chunk, find_entities_batch(chunk, model=model), strict=True):
            record = {"text": text, "entities": [[e.start, e.end, e.label, e.text] for e in ents]}
            stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
        stdout.flush()
    return written
