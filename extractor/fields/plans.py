"""Scaffold plans: which of the nine required parts a plan has, and which
fall-protection measures it states (建办质〔2018〕31号, JGJ 130, JGJ 80)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Heading numbering: 第一章 / 第1节 / 一、 / 1. / 1、 / (一) / 1.1
_NUMBERING = re.compile(
    r"^(?:第[一二三四五六七八九十\d]+[章节部分篇]|[一二三四五六七八九十]+[、.]|\d+(?:\.\d+)?[、.\s]|\([一二三四五六七八九十\d]+\))\s*"
)

SECTIONS: list[tuple[str, re.Pattern[str]]] = [
    ("overview", re.compile(r"工程概况|项目概况|工程概述|概况")),
    ("basis", re.compile(r"编制依据|编制说明及依据|依据")),
    ("schedule", re.compile(r"施工计划|进度计划|施工进度|工期")),
    ("process", re.compile(r"施工工艺|工艺技术|搭设工艺|施工方法|技术参数|工艺流程")),
    ("safety_measures", re.compile(r"安全保证措施|安全技术措施|施工安全保证|安全措施|安全防护措施|质量安全保证")),
    ("staffing", re.compile(r"施工管理及作业人员|人员配备|劳动力|人员组织|管理人员|作业人员配备")),
    ("acceptance", re.compile(r"验收要求|验收|检查验收")),
    ("emergency", re.compile(r"应急处置|应急预案|应急措施|应急救援")),
    ("calculations", re.compile(r"计算书|计算|相关施工图纸|施工图")),
]

MEASURES: list[tuple[str, re.Pattern[str]]] = [
    ("guard_rail", re.compile(r"防护栏杆|护身栏杆")),
    ("toe_board", re.compile(r"挡脚板|踢脚板")),
    ("dense_mesh_net", re.compile(r"密目式?安全立?网|密目网")),
    ("edge_protection", re.compile(r"临边防护|临边.{0,24}防护")),
    ("expert_review", re.compile(r"专家论证|专家评审")),
]


@dataclass(slots=True)
class Heading:
    key: str
    start: int
    end: int
    heading: str


def section_heading(text: str) -> Heading | None:
    """The plan part a heading line opens, or None if the line is no heading."""
    m = _NUMBERING.match(text)
    if not m:
        return None
    rest = text[m.end():].strip()
    if not rest or len(rest) > 24 or re.search(r"[。;；]", rest):
        return None
    for key, rx in SECTIONS:
        if rx.search(rest):
            return Heading(key, 0, len(text), text.strip())
    return None


def measures_in(text: str) -> list[tuple[str, int, int]]:
    out = []
    for key, rx in MEASURES:
        m = rx.search(text)
        if m:
            out.append((key, m.start(), m.end()))
    return out
