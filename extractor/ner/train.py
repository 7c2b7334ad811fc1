"""Train the shencha NER model (developer tool; not used at run time).

    python -m extractor.ner.train prepare            # corpora -> /tmp/shencha_ner/*.spacy
    python -m extractor.ner.train fit --config bigram --out /tmp/shencha_ner/run1 \
        [--max-epochs 3] [--max-steps 0]
    python -m extractor.ner.train ship /tmp/shencha_ner/run1/model-best

Training data: ResumeNER train and CLUENER2020 train from ``../shared/data``
(research use, see docs/ner.md), plus template sentences written for this
project (``domain_sentences``). A twentieth of each corpus is held out for
checkpoint selection, so the public dev sets stay untouched until scoring.
Everything generated goes to /tmp: corpus copies never enter the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .corpus import GoldSentence, GoldSpan, read_cluener, read_resumener

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DATA = Path(os.environ.get("SHENCHA_SHARED_DATA", REPO.parent / "shared" / "data")) / "ner"
WORK = Path(os.environ.get("SHENCHA_NER_WORK", "/tmp/shencha_ner"))
CONFIGS = HERE / "configs"
MODEL_DIR = HERE / "model"
HOLDOUT_EVERY = 20

# --- domain template sentences -------------------------------------------
# Written for this project: responsibility-system and roster prose, where
# a role title runs straight into a name with no separator. Names are drawn
# from common surnames (including two-character ones, rare in the news and
# resume corpora) and given-name characters; the example names used by the
# tests are excluded so the tests measure generalisation, not recall of a
# template.
SURNAMES_1 = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
SURNAMES_2 = [
    "欧阳", "司马", "诸葛", "上官", "皇甫", "东方", "令狐", "慕容", "尉迟", "公孙",
    "长孙", "宇文", "司徒", "夏侯", "端木", "独孤", "南宫", "西门", "轩辕", "呼延",
]
GIVEN = list("建国明华伟强军平磊洋勇艳杰娟涛超秀英敏静丽芳婷桂兰玉凤志红海波春晓东文斌浩宇晨鑫鹏飞峰琳雪梅雯倩俊辉亮刚")
EXCLUDED_NAMES = {"王建国", "欧阳明"}
ROLES = [
    "总经理", "董事长", "法定代表人", "安全总监", "安全生产管理人员", "专职安全员", "项目经理",
    "技术负责人", "副总经理", "生产副总经理", "安全科科长", "设备部部长", "主要负责人",
    "特种作业人员", "电工", "焊工", "架子工", "质量负责人", "总工程师",
]
ORG_SUFFIX = [
    "建筑工程有限公司", "化工有限公司", "矿业有限责任公司", "建设集团有限公司", "安装工程有限公司",
    "危险化学品经营有限公司", "烟花爆竹有限公司", "物流有限公司", "机械制造厂", "燃气有限公司",
]
ORG_PREFIX = ["华安", "鑫源", "宏达", "中建", "恒通", "长江", "金石", "瑞丰", "兴业", "安泰", "泰和", "永盛"]
PLACES = ["江苏省", "南京市", "浙江", "杭州市", "广东省", "佛山市", "山东", "临沂市", "四川省", "成都市", ""]
GOVS = ["应急管理局", "住房和城乡建设局", "安全生产监督管理局", "市场监督管理局"]
TEMPLATES = [
    "{org}{role}{p}为安全生产第一责任人，对本单位安全生产工作全面负责。",
    "{role}{p}负责组织制定本单位安全生产规章制度和操作规程。",
    "经研究决定，任命{p}为{org}{role}，{p2}为安全管理人员。",
    "{org}成立安全生产委员会，由{role}{p}任主任，{p2}任副主任。",
    "{p}，男，{role}，持有{gov}颁发的安全生产知识和管理能力考核合格证。",
    "{role}：{p}；联系电话：1{digits}。",
    "{p}同志为{org}{role}，{p2}同志协助其开展隐患排查治理工作。",
    "本项目{role}{p}、技术负责人{p2}均已取得相应资格证书。",
    "{gov}于2024年3月对{org}进行了现场检查，{role}{p}陪同检查。",
    "{org}（以下简称公司）{role}{p}签字确认。",
]


def _name(rng: random.Random) -> str:
    while True:
        sur = rng.choice(SURNAMES_2) if rng.random() < 0.3 else rng.choice(SURNAMES_1)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        if sur + given not in EXCLUDED_NAMES:
            return sur + given


def domain_sentences(n: int = 400, seed: int = 7) -> list[GoldSentence]:
    """Template sentences with exact spans, built left to right."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        template = rng.choice(TEMPLATES)
        values = {
            "p": ("PERSON", _name(rng)),
            "p2": ("PERSON", _name(rng)),
            "org": ("ORG", rng.choice(PLACES) + rng.choice(ORG_PREFIX) + rng.choice(ORG_SUFFIX)),
            "gov": ("GOV", rng.choice(PLACES[:-1]) + rng.choice(GOVS)),
            "role": (None, rng.choice(ROLES)),
            "digits": (None, "".join(rng.choice("0123456789") for _ in range(10))),
        }
        text, spans, pos = "", [], 0
        while pos < len(template):
            if template[pos] == "{":
                close = template.index("}", pos)
                label, value = values[template[pos + 1 : close]]
                if label:
                    spans.append(GoldSpan(start=len(text), end=len(text) + len(value), label=label))
                text += value
                pos = close + 1
            else:
                text += template[pos]
                pos += 1
        out.append(GoldSentence(text=text, spans=spans, source="domain"))
    return out


# --- corpus -> DocBin -------------------------------------------------------
def _to_docbin(sentences: list[GoldSentence], path: Path) -> tuple[int, int]:
    import spacy
    from spacy.tokens import DocBin
    from spacy.util import filter_spans

    nlp = spacy.blank("zh")
    db = DocBin(store_user_data=False)
    kept = dropped = 0
    for sent in sentences:
        doc = nlp.make_doc(sent.text)
        spans = []
        for s in sent.spans:
            span = doc.char_span(s.start, s.end, label=s.label, alignment_mode="contract")
            if span is None or span.text != sent.text[s.start : s.end].strip():
                dropped += 1
                continue
            spans.append(span)
        filtered = filter_spans(spans)
        dropped += len(spans) - len(filtered)
        kept += len(filtered)
        doc.ents = filtered
        db.add(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    db.to_disk(path)
    return kept, dropped


CORRECTIONS_ENV = "SHENCHA_NER_CORRECTIONS"


def correction_sentences(path: Path) -> list[GoldSentence]:
    """Officers' name corrections (`shencha corrections export --format jsonl`) as training sentences.

    A corrected or added ``person_name`` whose line was found becomes that line with every
    occurrence of the corrected name marked PERSON; a value marked "not a field" becomes
    its line with the value left unmarked (a negative example), unless the line holds a
    corrected name. Other field types are not names and are skipped.
    """
    out: list[GoldSentence] = []
    seen: set[str] = set()
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    names: dict[str, set[str]] = {}
    for row in rows:
        if row.get("field_type") == "person_name" and row.get("corrected_value"):
            names.setdefault(row.get("application_id") or "", set()).add(row["corrected_value"])
    for row in rows:
        line = (row.get("line") or {}).get("text")
        if row.get("field_type") != "person_name" or not line or line in seen:
            continue
        wanted = names.get(row.get("application_id") or "", set())
        spans = []
        for name in sorted(wanted, key=len, reverse=True):
            start = line.find(name)
            while start >= 0:
                if not any(a < start + len(name) and start < b for a, b, _ in spans):
                    spans.append((start, start + len(name), "PERSON"))
                start = line.find(name, start + 1)
        if not spans and row.get("kind") != "not_a_field":
            continue
        seen.add(line)
        out.append(GoldSentence(text=line, spans=[GoldSpan(start=a, end=b, label=lab) for a, b, lab in sorted(spans)],
                                source="corrections"))
    return out


def prepare(corrections: Path | None = None, weight: int = 3) -> None:
    """Corpora -> DocBins in WORK; `corrections` (default: $SHENCHA_NER_CORRECTIONS) adds the
    officers' corrected names, each sentence `weight` times, to the training split only."""
    if corrections is None and os.environ.get(CORRECTIONS_ENV):
        corrections = Path(os.environ[CORRECTIONS_ENV])
    train_files = {
        "resumener": read_resumener(DATA / "train" / "resumener_train.jsonl"),
        "cluener": read_cluener(DATA / "train" / "cluener_train.jsonl"),
    }
    train: list[GoldSentence] = []
    holdout: list[GoldSentence] = []
    for name, sentences in train_files.items():
        for i, sent in enumerate(sentences):
            (holdout if i % HOLDOUT_EVERY == 0 else train).append(sent)
    domain = domain_sentences()
    train += domain[: len(domain) * 9 // 10]
    holdout += domain[len(domain) * 9 // 10 :]
    if corrections is not None:
        extra = correction_sentences(corrections)
        train += extra * max(1, weight)
        print(f"corrections: {len(extra)} sentences from {corrections} (x{max(1, weight)})")
    random.Random(0).shuffle(train)
    for split, sents in (("train", train), ("holdout", holdout)):
        kept, dropped = _to_docbin(sents, WORK / f"{split}.spacy")
        print(f"{split}: {len(sents)} sentences, {kept} entities, {dropped} dropped")


# --- training -------------------------------------------------------------
def jieba_dict() -> Path:
    """jieba's dictionary (MIT): words with frequency and POS tag.

    Read once at training time; the lexicon component saves what it keeps
    inside the model, so jieba is not needed at run time.
    """
    import jieba

    return Path(jieba.__file__).resolve().parent / "dict.txt"


def fit(config: str, out: Path, overrides: list[str], resume: Path | None = None) -> None:
    """Run ``spacy train``; with ``resume``, start from that pipeline's weights
    (every component is sourced from it) instead of a random initialisation."""
    env = dict(os.environ)
    # The machine is shared: keep BLAS and OpenMP to one thread.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    config_path = CONFIGS / f"{config}.cfg"
    if resume is not None:
        config_path = _resume_config(config_path, resume.resolve(), out)
    cmd = [
        sys.executable, "-m", "spacy", "train", str(config_path),
        "--output", str(out),
        "--code", str(HERE / "components.py"),
        "--paths.train", str(WORK / "train.spacy"),
        "--paths.dev", str(WORK / "holdout.spacy"),
        *overrides,
    ]
    if "lexicon" in config:
        cmd += ["--paths.lexicon", str(jieba_dict())]
    print(" ".join(cmd), flush=True)
    t0 = time.time()
    subprocess.run(cmd, env=env, check=True)
    (out / "train_seconds.txt").write_text(f"{time.time() - t0:.0f}\n")


def _resume_config(config_path: Path, model: Path, out: Path) -> Path:
    """The config with its trained components sourced from ``model``.

    spaCy then copies their weights instead of initialising them; the
    feature components (bigrams, dictionary) are rebuilt as configured.
    """
    from spacy.util import load_config

    cfg = load_config(config_path)
    for name in ("tok2vec", "ner"):
        cfg["components"][name] = {"source": str(model)}
    out.mkdir(parents=True, exist_ok=True)
    path = out / "resume.cfg"
    cfg.to_disk(path)
    return path


def fit_crf(out: Path, c1: float, c2: float, iterations: int, feature_set: str = "w2") -> None:
    """Train the CRF variant and assemble it as a spaCy pipeline in ``out/model``."""
    import spacy
    from spacy.tokens import DocBin

    from . import components  # noqa: F401
    from .crf import CRF_FACTORY, train_crf
    from .components import LEXICON_FACTORY

    t0 = time.time()
    nlp = spacy.blank("zh")
    lexicon = nlp.add_pipe(LEXICON_FACTORY, name="lexicon")
    lexicon.initialize(source=str(jieba_dict()))
    docs = (lexicon(doc) for doc in DocBin().from_disk(WORK / "train.spacy").get_docs(nlp.vocab))
    out.mkdir(parents=True, exist_ok=True)
    train_crf(docs, out / "crf.model", c1=c1, c2=c2, max_iterations=iterations,
              feature_set=feature_set, verbose=False)
    crf = nlp.add_pipe(CRF_FACTORY, name="ner", config={"feature_set": feature_set})
    crf.load_model(out / "crf.model")
    nlp.meta["shencha"] = {"config": f"crf features={feature_set} c1={c1} c2={c2} iterations={iterations}"}
    nlp.to_disk(out / "model")
    seconds = time.time() - t0
    (out / "train_seconds.txt").write_text(f"{seconds:.0f}\n")
    print(f"CRF trained in {seconds:.0f}s -> {out / 'model'}")


def ship(model: Path, config: str, seconds: int, note: str = "") -> None:
    """Copy a trained pipeline into the package and stamp what it was trained on."""
    import spacy

    from . import components  # noqa: F401  (registers the bigram factory)

    nlp = spacy.load(model)
    nlp.meta.update(
        {
            "name": "shencha_ner",
            "version": "0.2.0",
            "description": (
                "Character CRF NER (PERSON, ORG, GOV) for Chinese prose"
                if "tok2vec" not in nlp.pipe_names
                else "Character CNN NER (PERSON, ORG, GOV) for Chinese prose"
            ),
            "sources": [
                {"name": "ResumeNER train (Zhang & Yang, ACL 2018)", "terms": "research use"},
                {"name": "CLUENER2020 train (CLUEbenchmark)", "terms": "research use"},
                {"name": "shencha domain template sentences", "terms": "Apache-2.0"},
            ]
            + (
                [{"name": "jieba 0.42.1 dict.txt (dictionary-match features)", "terms": "MIT"}]
                if "lexicon" in nlp.pipe_names
                else []
            ),
            "shencha": {"config": config, "train_seconds": seconds, "note": note},
        }
    )
    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    nlp.to_disk(MODEL_DIR)
    print(f"shipped {model} -> {MODEL_DIR}")
    print(json.dumps(nlp.meta.get("performance", {}), indent=1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m extractor.ner.train")
    sub = ap.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("prepare")
    pr.add_argument("--corrections", type=Path, default=None,
                    help="officers' corrections (shencha corrections export --format jsonl); "
                         f"default ${CORRECTIONS_ENV}")
    pr.add_argument("--corrections-weight", type=int, default=3, help="how often each correction sentence is seen")
    f = sub.add_parser("fit")
    f.add_argument("--config", default="bigram")
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--resume", type=Path, default=None, help="continue from this pipeline's weights")
    f.add_argument("overrides", nargs="*", help="spacy train overrides, e.g. --training.max_epochs=3")
    c = sub.add_parser("crf")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--c1", type=float, default=0.05)
    c.add_argument("--c2", type=float, default=0.01)
    c.add_argument("--iterations", type=int, default=150)
    c.add_argument("--features", default="w2", help="CRF feature set: w2 or w3 (see crf.doc_features)")
    s = sub.add_parser("ship")
    s.add_argument("model", type=Path)
    s.add_argument("--config", default="bigram")
    s.add_argument("--seconds", type=int, default=0)
    s.add_argument("--note", default="")
    args, rest = ap.parse_known_args(argv)
    if args.cmd == "prepare":
        prepare(args.corrections, args.corrections_weight)
    elif args.cmd == "fit":
        fit(args.config, args.out, list(args.overrides) + rest, resume=args.resume)
    elif args.cmd == "crf":
        fit_crf(args.out, args.c1, args.c2, args.iterations, args.features)
    else:
        ship(args.model, args.config, args.seconds, args.note)


if __name__ == "__main__":
    main()
