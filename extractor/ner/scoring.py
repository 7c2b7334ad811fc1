"""Exact-match span scoring (precision, recall, F1 per type).

A predicted span counts only when start, end and type all match a gold span,
the usual CoNLL-style entity-level measure that the reference figures for
LAC and jieba in issue 3 use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel

from .corpus import GoldSentence

Span = tuple[int, int, str]


class PRF(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


# Each scored type: its name, the gold labels it covers and the predicted
# labels it covers. "ORG" on CLUENER is organization+company (GOV apart);
# "ORG+GOV" is what the public API reports as ORG.
ScoreType = tuple[str, frozenset[str], frozenset[str]]
RESUME_TYPES: list[ScoreType] = [
    ("PERSON", frozenset({"PERSON"}), frozenset({"PERSON"})),
    # ResumeNER has no government type: its ORG includes ministries and bureaus.
    ("ORG", frozenset({"ORG"}), frozenset({"ORG", "GOV"})),
]
CLUENER_TYPES: list[ScoreType] = [
    ("PERSON", frozenset({"PERSON"}), frozenset({"PERSON"})),
    ("ORG", frozenset({"ORG"}), frozenset({"ORG"})),
    ("GOV", frozenset({"GOV"}), frozenset({"GOV"})),
    ("ORG+GOV", frozenset({"ORG", "GOV"}), frozenset({"ORG", "GOV"})),
]


def score(
    gold: Sequence[GoldSentence],
    predicted: Iterable[Sequence[Span]],
    types: Sequence[ScoreType],
) -> dict[str, PRF]:
    out = {name: PRF() for name, _, _ in types}
    for sent, pred in zip(gold, predicted, strict=True):
        for name, gold_labels, pred_labels in types:
            g = {(s.start, s.end) for s in sent.spans if s.label in gold_labels}
            p = {(s, e) for s, e, label in pred if label in pred_labels}
            prf = out[name]
            prf.tp += len(g & p)
            prf.fp += len(p - g)
            prf.fn += len(g - p)
    return out


def evaluate(
    gold: Sequence[GoldSentence],
    predict: Callable[[list[str]], Iterable[Sequence[Span]]],
    types: Sequence[ScoreType],
) -> dict[str, PRF]:
    return score(gold, list(predict([s.text for s in gold])), types)
