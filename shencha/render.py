"""Report renderers: JSON (the contract), plain text and a self-contained HTML file."""

from __future__ import annotations

import base64
from html import escape

from .evidence import EvidenceImages
from .labels import CATEGORY, DOC_TYPE, FIELD_TYPE, INDUSTRY, ROLE, SEVERITY, SOURCE, VERDICT, label
from .report import Report
from .store import Store
from .textsafe import visible

_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
_MAX_CROPS = 300  # keeps a report of a large package to a few MB


def render(report: Report, fmt: str, store: Store | None = None) -> str:
    """The report in `fmt`. Text and HTML are read by people: control and direction characters
    in names (a right-to-left override in a file name) are shown as escapes; JSON keeps the data."""
    if fmt == "json":
        return report.model_dump_json(indent=1)
    if fmt == "text":
        return render_text(report)
    if fmt == "html":
        return render_html(report, EvidenceImages(store, report.report_id) if store else None)
    raise ValueError(fmt)


def _sorted_findings(report: Report):
    return sorted(report.findings, key=lambda f: (f.verdict != "fail", _SEVERITY_ORDER[f.severity], f.category))


def _paths(report: Report) -> dict[str, str]:
    return {d.id: d.path for d in report.documents}


def _where(paths: dict[str, str], document: str, page: int | None) -> str:
    name = paths.get(document, document)
    return f"《{name}》第 {page} 页" if page else f"《{name}》" if document in paths else name


def render_text(report: Report) -> str:
    app = report.application
    paths = _paths(report)
    out = [
        f"审查报告 {report.report_id}（第 {report.version} 版）",
        f"申请材料：{app.path}",
        f"企业：{app.company_name or '（未识别）'}  统一社会信用代码：{app.uscc or '（未识别）'}",
        f"行业：{label(INDUSTRY, app.industry) or '（未识别）'}  审查基准日：{app.as_of}",
    ]
    out += [f"  · {note}" for note in app.notes]
    findings = _sorted_findings(report)
    out.append("")
    out.append(f"发现问题 {len(findings)} 项：")
    for i, f in enumerate(findings, 1):
        out.append(f"{i}. [{label(VERDICT, f.verdict)}/{label(SEVERITY, f.severity)}] "
                   f"{label(CATEGORY, f.category)}：{f.message}")
        if f.expected or f.actual:
            out.append(f"   应为：{f.expected or '—'}；实际：{f.actual or '—'}")
        out.append(f"   依据：{f.citation}")
        if f.suggestion:
            out.append(f"   补正要求：{f.suggestion}")
        for e in f.evidence:
            out.append(f"   证据：{_where(paths, e.document, e.page)} “{e.text}”")
    if report.errors:
        out.append("")
        out.append(f"无法读取的文件 {len(report.errors)} 份：")
        for e in report.errors:
            out.append(f"  - {e.path}：{e.code} {e.message}")
    out.append("")
    out.append("材料清单：")
    for d in report.documents:
        state = "正常" if d.status == "ok" else f"错误 {d.error.code if d.error else ''}"
        out.append(f"  - {d.path}  [{label(DOC_TYPE, d.doc_type)}]  {d.pages} 页  {state}  字段 {len(d.fields)} 个")
    out.append("")
    out.append(f"版本：shencha {report.versions.shencha}；规则 {report.versions.rules or '—'}；"
               f"登记库截至 {report.versions.registry_as_of or '—'}")
    return visible("\n".join(out), keep_newlines=True)


_CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei","Microsoft YaHei",sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.5}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:2px solid #c33;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0} td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f3f3f3} .meta td:first-child{width:10em;color:#555}
.finding{border:1px solid #ddd;border-left:6px solid #c33;padding:.6em 1em;margin:1em 0;background:#fffafa}
.finding.uncertain{border-left-color:#e0a000;background:#fffdf3} .finding h3{margin:.2em 0;font-size:1.05em}
.tag{display:inline-block;padding:0 .5em;border-radius:3px;font-size:.85em;margin-right:.4em;color:#fff;background:#c33}
.tag.uncertain{background:#e0a000} .tag.medium{background:#d66} .tag.low{background:#999}
.evidence{display:flex;flex-wrap:wrap;gap:1em;margin-top:.5em} .evidence figure{margin:0;max-width:520px}
.evidence img{max-width:100%;border:1px solid #bbb} figcaption{font-size:.85em;color:#555}
.error{color:#a00} .muted{color:#777;font-size:.9em} img.thumb{max-height:48px;max-width:240px}
"""


def render_html(report: Report, images: EvidenceImages | None) -> str:
    app = report.application
    paths = _paths(report)
    crops = _CropBudget(images)
    parts: list[str] = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>审查报告 {escape(report.report_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>安全生产许可证申请材料审查报告</h1><p class='muted'>案卷 {escape(report.report_id)}"
        f"（第 {report.version} 版）</p>",
        "<table class='meta'>",
        _row("企业名称", app.company_name or "（未识别）"),
        _row("统一社会信用代码", app.uscc or "（未识别）"),
        _row("行业", label(INDUSTRY, app.industry) or "（未识别）"),
        _row("审查基准日", str(app.as_of)),
        _row("申请材料", app.path),
    ]
    if app.notes:
        parts.append(_row("推断说明", "；".join(app.notes)))
    parts.append("</table>")

    findings = _sorted_findings(report)
    fails = sum(f.verdict == "fail" for f in findings)
    parts.append(f"<h2>发现的问题（{fails} 项不符合，{len(findings) - fails} 项待人工判断）</h2>")
    if not findings:
        parts.append("<p>未发现问题。</p>")
    for i, f in enumerate(findings, 1):
        klass = "finding uncertain" if f.verdict == "uncertain" else "finding"
        tag = "uncertain" if f.verdict == "uncertain" else f.severity
        parts.append(f"<div class='{klass}' id='finding-{escape(f.id)}'>")
        parts.append(
            f"<h3>{i}. <span class='tag {tag}'>{escape(label(VERDICT, f.verdict))}·"
            f"{escape(label(SEVERITY, f.severity))}</span>{escape(label(CATEGORY, f.category))}</h3>"
        )
        parts.append(f"<p>{escape(f.message)}</p><table>")
        if f.expected or f.actual:
            parts.append(_row("应为", f.expected or "—") + _row("实际", f.actual or "—"))
        if f.reason:
            parts.append(_row("无法判断的原因", f.reason))
        parts.append(_row("依据", f.citation) + _row("补正要求", f.suggestion or "—") + _row("规则", f.rule_id))
        parts.append("</table><div class='evidence'>")
        for e in f.evidence:
            where = _where(paths, e.document, e.page)
            img = crops.img(e.document, e.page, e.bbox)
            parts.append(f"<figure>{img}<figcaption>{escape(where)}：{escape(e.text)}</figcaption></figure>")
        parts.append("</div></div>")

    if report.errors:
        parts.append(f"<h2>无法读取的文件（{len(report.errors)} 份）</h2><table><tr><th>文件</th><th>代码</th><th>说明</th></tr>")
        for e in report.errors:
            parts.append(f"<tr><td>{escape(e.path)}</td><td>{escape(e.code)}</td>"
                         f"<td class='error'>{escape(e.message)}<br><span class='muted'>{escape(e.message_en)}</span></td></tr>")
        parts.append("</table>")

    parts.append("<h2>材料与识别结果</h2>")
    for d in report.documents:
        state = "正常" if d.status == "ok" else f"<span class='error'>无法读取（{escape(d.error.code if d.error else '')}）</span>"
        parts.append(f"<h3>{escape(d.path)}</h3><p>{escape(label(DOC_TYPE, d.doc_type))}，{d.pages} 页，{state}"
                     f"<br><span class='muted'>sha256 {escape(d.sha256)}</span></p>")
        for w in d.warnings:
            parts.append(f"<p class='muted'>提示 {escape(w.code)}：{escape(w.message)}</p>")
        if d.page_details:
            parts.append("<table><tr><th>页</th><th>来源</th><th>处理说明</th><th>文字行</th></tr>")
            for p in d.page_details:
                parts.append(f"<tr><td>{p.number}</td><td>{escape(label(SOURCE, p.source.value))}</td>"
                             f"<td>{escape(p.decision)}</td><td>{p.lines}</td></tr>")
            parts.append("</table>")
        if d.fields:
            parts.append("<table><tr><th>字段</th><th>角色</th><th>值</th><th>页</th><th>置信度</th><th>原文位置</th></tr>")
            for fld in d.fields:
                value = fld.normalized if fld.normalized not in (None, "") else fld.value
                parts.append(
                    f"<tr><td>{escape(label(FIELD_TYPE, fld.type))}</td><td>{escape(label(ROLE, fld.role))}</td>"
                    f"<td>{escape(str(value))}</td><td>{fld.page or ''}</td><td>{fld.confidence:.2f}</td>"
                    f"<td>{crops.img(d.id, fld.page, fld.bbox, thumb=True)}</td></tr>"
                )
            parts.append("</table>")
    v = report.versions
    ocr = "，".join(f"{k}: {val}" for k, val in v.ocr.items())
    parts.append(f"<p class='muted'>shencha {escape(v.shencha)}；规则集 {escape(v.rules or '—')}；"
                 f"登记库截至 {escape(v.registry_as_of or '—')}；文字识别 {escape(ocr or '—')}</p>")
    parts.append("</body></html>")
    return visible("\n".join(parts), keep_newlines=True)


def _row(key: str, value: str) -> str:
    return f"<tr><td>{escape(key)}</td><td>{escape(value)}</td></tr>"


class _CropBudget:
    def __init__(self, images: EvidenceImages | None) -> None:
        self.images = images
        self.left = _MAX_CROPS

    def img(self, document: str, page: int | None, bbox, thumb: bool = False) -> str:
        if self.images is None or page is None or bbox is None or self.left <= 0:
            return ""
        data = self.images.crop(document, page, tuple(bbox), max_width=320 if thumb else 640)
        if data is None:
            return ""
        self.left -= 1
        klass = " class='thumb'" if thumb else ""
        return f"<img{klass} alt='证据截图' src='data:image/jpeg;base64,{base64.b64encode(data).decode()}'>"
