"""Pipeline components the NER model needs at load time.

Imported by :mod:`extractor.ner` before ``spacy.load`` and passed to
``spacy train --code`` so training and inference register the same factory.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

BIGRAMS_FACTORY = "shencha_char_bigrams"
_END = "</s>"


@Language.component(BIGRAMS_FACTORY, assigns=["token.lemma"])
def char_bigrams(doc: Doc) -> Doc:
    """Write each character's forward bigram into ``token.lemma_``.

    With the character segmenter every token is one character, so the
    embedding sees no word information. Character bigrams are the cheapest
    substitute (they carry most of the gain of word lattices in Chinese NER
    literature). ``LEMMA`` is borrowed as the carrier because ``MultiHashEmbed``
    can only embed built-in token attributes, and this pipeline has no
    lemmatiser that would want the slot.
    """
    n = len(doc)
    for i, tok in enumerate(doc):
        nxt = doc[i + 1].text if i + 1 < n else _END
        tok.lemma_ = tok.text + nxt
    return doc


# --- dictionary-match features ---------------------------------------------
LEXICON_FACTORY = "shencha_lexicon_features"
_MAX_WORD = 8
# Dictionary POS tags folded into the few classes that matter for names.
_TAG_GROUP = {"nr": "P", "nrt": "P", "nrfg": "P", "ns": "L", "nt": "O", "nz": "Z"}


def read_jieba_style_dict(path: Path, min_freq: int = 3) -> dict[str, str]:
    """``word freq tag`` lines -> {word: class}; single characters are skipped
    (the character embedding already covers them)."""
    lexicon: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 3:
                continue
            word, freq, tag = parts[0], parts[1], parts[2]
            if not (2 <= len(word) <= _MAX_WORD) or not freq.isdigit():
                continue
            group = _TAG_GROUP.get(tag, "W")
            # Plain words are only useful when common; rare ones are mostly noise.
            if group == "W" and int(freq) < min_freq:
                continue
            lexicon[word] = group
    return lexicon


class LexiconFeatures:
    """Mark, for every character, which dictionary words cover it and where.

    The feature (``B-P E-W ...``: begin/middle/end of a person-name, place,
    organisation, other-proper-noun or plain word) is written into
    ``token.tag_`` so that ``MultiHashEmbed`` can embed it: a cheap form of
    the lexicon features ("SoftLexicon") that give character-based Chinese
    NER the word knowledge a character model lacks. The lexicon is saved
    with the model, so nothing is read from other packages at run time.
    """

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.lexicon: dict[str, str] = {}

    def __call__(self, doc: Doc) -> Doc:
        text = [t.text for t in doc]
        n = len(text)
        feats: list[set[str]] = [set() for _ in range(n)]
        lex = self.lexicon
        for i in range(n):
            word = text[i]
            for j in range(i + 1, min(n, i + _MAX_WORD)):
                word += text[j]
                group = lex.get(word)
                if group is None:
                    continue
                feats[i].add("B-" + group)
                feats[j].add("E-" + group)
                for k in range(i + 1, j):
                    feats[k].add("M-" + group)
        for tok, f in zip(doc, feats):
            tok.tag_ = " ".join(sorted(f)) if f else "-"
        return doc

    def initialize(self, get_examples=None, *, nlp=None, source: str | None = None) -> None:  # type: ignore[no-untyped-def]
        if source is None:
            raise ValueError(f"{self.name}: initialize needs a dictionary 'source'")
        self.lexicon = read_jieba_style_dict(Path(source))

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        body = "\n".join(f"{w}\t{g}" for w, g in sorted(self.lexicon.items()))
        # mtime=0: the same lexicon gives the same bytes, so re-saving a model
        # does not show up as a change in git.
        with open(path / "lexicon.tsv.gz", "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
                gz.write(body.encode("utf-8"))

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> LexiconFeatures:
        with gzip.open(Path(path) / "lexicon.tsv.gz", "rt", encoding="utf-8") as fh:
            self.lexicon = dict(line.split("\t", 1) for line in fh.read().splitlines() if line)
        return self


@Language.factory(LEXICON_FACTORY, assigns=["token.tag"])
def make_lexicon_features(nlp: Language, name: str) -> LexiconFeatures:
    return LexiconFeatures(nlp, name)
