"""Linear-chain CRF recogniser over character n-gram and dictionary features.

Registered as a spaCy component (``shencha_crf_ner``) that reads the
dictionary-match feature written by ``shencha_lexicon_features`` into
``token.tag_`` and sets ``doc.ents``. A CRF learns far more per CPU second
than the CNN (see docs/ner.md for the comparison), which decided the shipped
model on this shared two-core machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

CRF_FACTORY = "shencha_crf_ner"
MODEL_FILE = "crf.model"
# doc.user_data key of {(start_char, end_char): probability} for doc.ents.
SCORES_KEY = "shencha_ner_scores"
_PAD = "␂"


def _ctype(ch: str) -> str:
    if ch.isspace():
        return "S"
    if ch.isdigit():
        return "D"
    if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf":
        return "H"
    if ch.isascii() and ch.isalpha():
        return "L"
    if ch.isalpha():
        return "A"
    return "P"


FEATURE_SETS = ("w2", "w3")


def doc_features(doc: Doc, feature_set: str = "w2") -> list[list[str]]:
    """Per-token features: characters and n-grams in a window, character
    classes, and the dictionary-match classes of the token and its neighbours.

    ``w2``: characters within ±2, the bigrams and trigram around the token.
    ``w3``: also characters at ±3, the outer bigrams and the trigrams that
    end or start at the token (left/right context such as 记者…报道 or
    …总经理, which marks the start or end of a name).
    """
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown CRF feature set {feature_set!r} (expected one of {FEATURE_SETS})")
    wide = feature_set == "w3"
    chars = [t.text for t in doc]
    lex = [t.tag_ if t.tag_ else "-" for t in doc]
    n = len(chars)
    c = [_PAD] * 3 + chars + [_PAD] * 3
    ty = ["^"] * 3 + [_ctype(ch[0]) if ch else "S" for ch in chars] + ["$"] * 3
    out = []
    for i in range(n):
        j = i + 3
        f = [
            "b",
            "c0=" + c[j],
            "c-1=" + c[j - 1],
            "c1=" + c[j + 1],
            "c-2=" + c[j - 2],
            "c2=" + c[j + 2],
            "c-1c0=" + c[j - 1] + c[j],
            "c0c1=" + c[j] + c[j + 1],
            "c-2c-1=" + c[j - 2] + c[j - 1],
            "c1c2=" + c[j + 1] + c[j + 2],
            "c-1c1=" + c[j - 1] + c[j + 1],
            "c-1c0c1=" + c[j - 1] + c[j] + c[j + 1],
            "t0=" + ty[j],
            "t-1t0t1=" + ty[j - 1] + ty[j] + ty[j + 1],
        ]
        if wide:
            f += [
                "c-3=" + c[j - 3],
                "c3=" + c[j + 3],
                "c-3c-2=" + c[j - 3] + c[j - 2],
                "c2c3=" + c[j + 2] + c[j + 3],
                "c-2c-1c0=" + c[j - 2] + c[j - 1] + c[j],
                "c0c1c2=" + c[j] + c[j + 1] + c[j + 2],
                "c-3c-2c-1=" + c[j - 3] + c[j - 2] + c[j - 1],
                "c1c2c3=" + c[j + 1] + c[j + 2] + c[j + 3],
            ]
        for k, tag in ((0, lex[i]), (-1, lex[i - 1] if i > 0 else "^"), (1, lex[i + 1] if i + 1 < n else "$")):
            for part in tag.split():
                f.append(f"x{k}={part}")
        out.append(f)
    return out


def doc_labels(doc: Doc) -> list[str]:
    labels = ["O"] * len(doc)
    for ent in doc.ents:
        labels[ent.start] = "B-" + ent.label_
        for k in range(ent.start + 1, ent.end):
            labels[k] = "I-" + ent.label_
    return labels


def bio_to_spans(labels: Sequence[str]) -> list[tuple[int, int, str]]:
    """Token spans from BIO tags; a stray I- starts a new span."""
    spans = []
    start, cur = -1, ""
    for i, tag in enumerate([*labels, "O"]):
        kind, _, label = tag.partition("-")
        if start >= 0 and (kind != "I" or label != cur):
            spans.append((start, i, cur))
            start = -1
        if kind == "B" or (kind == "I" and start < 0):
            start, cur = i, label
    return spans


class CRFRecogniser:
    def __init__(self, nlp: Language, name: str, feature_set: str = "w2") -> None:
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown CRF feature set {feature_set!r} (expected one of {FEATURE_SETS})")
        self.name = name
        self.feature_set = feature_set
        self._tagger = None
        self._model_bytes: bytes | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        if self._tagger is None:
            return ()
        return tuple(sorted({lbl[2:] for lbl in self._tagger.labels() if lbl != "O"}))

    def __call__(self, doc: Doc) -> Doc:
        if self._tagger is None:
            raise ValueError(f"{self.name}: no CRF model loaded")
        if len(doc) == 0:
            return doc
        tagger = self._tagger
        tags = tagger.tag(doc_features(doc, self.feature_set))
        ents = []
        scores: dict[tuple[int, int], float] = {}
        for start, end, label in bio_to_spans(tags):
            # Whitespace is never part of a name: trim it off the edges.
            while start < end and doc[start].is_space:
                start += 1
            while end > start and doc[end - 1].is_space:
                end -= 1
            if end > start:
                span = Span(doc, start, end, label=label)
                ents.append(span)
                # The span's confidence: the least certain of its characters'
                # tags (marginal probabilities from the forward-backward pass).
                scores[(span.start_char, span.end_char)] = min(
                    tagger.marginal(tags[i], i) for i in range(start, end)
                )
        doc.ents = ents
        doc.user_data[SCORES_KEY] = scores
        return doc

    def load_model(self, path: Path) -> None:
        import pycrfsuite

        tagger = pycrfsuite.Tagger()
        tagger.open(str(path))
        self._tagger = tagger
        self._model_bytes = path.read_bytes()

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        if self._model_bytes is None:
            raise ValueError(f"{self.name}: nothing to save")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / MODEL_FILE).write_bytes(self._model_bytes)

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> CRFRecogniser:
        self.load_model(Path(path) / MODEL_FILE)
        return self


@Language.factory(CRF_FACTORY, requires=["token.tag"], assigns=["doc.ents"],
                  default_config={"feature_set": "w2"})
def make_crf(nlp: Language, name: str, feature_set: str) -> CRFRecogniser:
    return CRFRecogniser(nlp, name, feature_set)


def train_crf(
    docs: Iterable[Doc],
    model_path: Path,
    *,
    c1: float = 0.05,
    c2: float = 0.01,
    max_iterations: int = 150,
    feature_set: str = "w2",
    verbose: bool = False,
) -> None:
    """Fit the CRF with L-BFGS; ``docs`` carry gold ``ents`` and lexicon tags."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=verbose)
    for doc in docs:
        if len(doc):
            trainer.append(doc_features(doc, feature_set), doc_labels(doc))
    trainer.set_params(
        {
            "c1": c1,  # L1 keeps the model small: most n-gram weights go to zero
            "c2": c2,
            "max_iterations": max_iterations,
            "feature.possible_transitions": True,
        }
    )
    trainer.train(str(model_path))
