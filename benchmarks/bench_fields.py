"""Throughput of field extraction (no OCR): a 50-page text package.

    .venv/bin/python benchmarks/bench_fields.py [--pages 50] [--repeat 3]

The package is built in memory with the test builder: rosters (ruled and
unruled), responsibility-system prose, key–value forms and a scaffold plan,
about 40 lines a page, like the text-layer documents of a real application.
The figure printed is the wall time of :func:`extract_package` over all of
it, after the pipeline is loaded once (the load time is printed apart).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from extractor.fields import extract_package
from extractor.fields.pipeline import get_nlp
from extractor.fields.testing import DocBuilder
from extractor.model import Document

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "志强", "丽娟", "国华", "伟", "敏", "秀英", "永强", "玉成", "新民"]


def _person(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]


def _ric(i: int) -> str:
    from stdnum.cn import ric

    body = f"110102{1970 + i % 30:04d}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def build_package(pages: int) -> list[Document]:
    docs = []
    kinds = ["roster", "prose", "form", "plan", "unruled"]
    for p in range(pages):
        kind = kinds[p % len(kinds)]
        b = DocBuilder(f"bench-{p:03d}").page()
        if kind == "roster":
            b.line("特种作业人员名册")
            rows = [["序号", "姓名", "性别", "身份证号", "作业类别", "证书编号", "有效期至"]]
            for r in range(30):
                i = p * 100 + r
                rows.append([str(r + 1), _person(i), "男", _ric(i), "建筑电工", "T" + _ric(i), "2027-03-01"])
            b.table(rows, row_height=16)
        elif kind == "prose":
            b.line("安全生产责任制")
            for r in range(38):
                i = p * 100 + r
                b.line(f"{r + 1}、项目经理{_person(i)}对所承建项目的安全生产负全面责任，落实安全生产责任制度，"
                       f"专职安全生产管理人员{_person(i + 1)}负责现场监督检查。")
        elif kind == "form":
            b.line("建筑施工企业安全生产许可证申请表")
            b.table([["企业名称", "北京中恒建设工程有限公司"], ["统一社会信用代码", "91110000600037341L"],
                     ["法定代表人", _person(p)], ["法定代表人身份证号", _ric(p)], ["主要负责人", _person(p + 1)],
                     ["原安全生产许可证编号", "（京）JZ安许证字〔2023〕000123"],
                     ["原许可证有效期", "2023年12月18日至2026年12月17日"], ["申请日期", "2026年11月20日"]])
            for r in range(25):
                b.line(f"第{r + 1}条 本企业承诺所提交的申请材料真实、有效，如有虚假，愿承担相应法律责任。")
        elif kind == "plan":
            b.line("外脚手架搭设专项施工方案")
            for r in range(8):
                b.line(f"{'一二三四五六七八'[r]}、工程概况" if r == 0 else f"{'一二三四五六七八'[r]}、施工安全保证措施")
                b.line("外脚手架采用落地式双排扣件式钢管脚手架，搭设高度 36m，立杆基础为300mm厚混凝土。")
                b.line("作业层外侧设置1.2m高防护栏杆和180mm高挡脚板，外立面满挂密目式安全立网。")
                b.line("1#办公楼与2#仓库之间的防火间距为10.0m，疏散走道净宽不小于1.40m。")
        else:
            b.line("项目管理人员名册")
            xs = [50, 120, 220, 400]
            b.row(["姓名", "职务", "证书编号", "身份证号"], xs)
            for r in range(35):
                i = p * 100 + r
                b.row([_person(i), "项目经理", f"京建安B(2021){i % 10**7:07d}", _ric(i)], xs)
        docs.append(b.build())
    return docs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=float, default=5.0, help="seconds allowed (exit 1 when exceeded)")
    args = ap.parse_args(argv)
    from extractor.fields.people import ner_backend

    t0 = time.perf_counter()
    get_nlp()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    has_ner = ner_backend() is not None  # loads the recogniser's model once
    ner_load = time.perf_counter() - t0
    docs = build_package(args.pages)
    n_lines = sum(len(p.lines) for d in docs for p in d.pages)
    best = float("inf")
    n_fields = 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = extract_package(docs, use_ner=False)
        best = min(best, time.perf_counter() - t0)
        n_fields = sum(len(d.fields) for d in out)
    # The recogniser, when installed, is part of the product path: time it too.
    t0 = time.perf_counter()
    extract_package(docs, use_ner=True)
    with_ner = time.perf_counter() - t0
    print(f"pipeline load: {load:.2f} s; recogniser {f'load: {ner_load:.2f} s' if has_ner else 'not installed'}")
    print(f"{args.pages} pages, {n_lines} lines, {n_fields} fields: {best:.2f} s (best of {args.repeat}, rules only), "
          f"{with_ner:.2f} s with the recogniser if installed; {args.pages / best:.0f} pages/s")
    print("PASS" if max(best, with_ner) < args.budget else "FAIL", f"(budget {args.budget:.1f} s)")
    return 0 if max(best, with_ner) < args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
