"""规则维护: the rule catalogue, a rule's examples, and how officers received each rule's findings."""

from __future__ import annotations

import streamlit as st

from checks.catalogue import load_registry
from checks.tables import load_table
from shencha.labels import CATEGORY, SEVERITY, label
from shencha.service.corrections import accept_headers, header_proposals, synonyms_path
from shencha.service.permissions import P, PermissionDenied
from shencha.service.rules import record_rule_change, rule_stats, run_rule_examples
from ui import common

OUTCOME = {"fail": "应不通过", "pass": "应通过", "uncertain": "应待核实", "error": "运行出错"}


@st.cache_resource(show_spinner=False)
def _registry():
    return load_registry()


def render() -> None:
    user = common.require_login()
    st.title("规则维护")
    store = common.store()
    try:
        stats = rule_stats(store, user)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    registry = _registry()
    rows = []
    for spec in registry:
        s = stats.get(spec.id)
        rate = s.dismiss_rate if s else None
        rows.append({
            "规则编号": spec.id, "名称": spec.title, "类别": label(CATEGORY, spec.category),
            "严重程度": label(SEVERITY, spec.severity), "依据": spec.citation.text,
            "触发次数": s.fired if s else 0, "已处理": s.decided if s else 0, "被排除": s.dismissed if s else 0,
            "排除率": f"{rate:.0%}" if rate is not None else "—",
        })
    st.caption("触发次数按每个案卷的最新一版报告统计；排除率高的规则需要改进。")
    st.dataframe(rows, hide_index=True, width="stretch")
    _header_proposals(store, user)
    rule_id = st.selectbox("查看规则", registry.ids, key="rule_pick")
    spec = registry.get(rule_id)
    if spec is None:
        return
    st.subheader(spec.title)
    st.markdown(f"**依据：** {spec.citation.text}　**版本：** {spec.version}　**读取字段：** {'、'.join(spec.requires) or '（文件清单）'}")
    st.text(spec.doc)
    params = spec.params.model_fields
    if params:
        st.markdown("**参数**")
        st.table([{"参数": n, "默认值": repr(fi.default), "说明": fi.description or ""} for n, fi in params.items()])
    for t in spec.tables:
        if t.with_suffix(".csv").exists():
            table = load_table(t)
            m = table.meta
            st.markdown(f"**数据表：{m.title}**（{m.standard} {m.clause}，单位 {m.unit}，置信度 {m.confidence}）")
            st.caption(f"来源：{m.source}")
            st.text(table.as_text())
        else:
            st.caption(f"数据表：{t.name}")
    st.markdown("**示例**")
    for ex in spec.examples:
        st.write(f"· {OUTCOME.get(ex.outcome, ex.outcome)}：{ex.description}")
    if st.button("运行示例", key="run_examples"):
        results = run_rule_examples(store, user, rule_id)
        bad = sum(not r.ok for r in results)
        (st.success if not bad else st.error)(f"共 {len(results)} 个示例，{bad} 个结果不符。")
        for r in results:
            st.write(f"{'【符合】' if r.ok else '【不符】'} {r.description}（{OUTCOME.get(r.expected)}，实际：{OUTCOME.get(r.got, r.got)}）")
    if user.can(P.edit_rules):
        with st.form("rule_change"):
            st.markdown("**登记规则变更**（变更在规则包中实施，此处留痕）")
            change = st.text_input("变更内容", key="rule_change_text")
            reason = st.text_area("理由", key="rule_change_reason")
            if st.form_submit_button("登记变更"):
                try:
                    record_rule_change(store, user, rule_id, change, reason)
                    st.success("已登记。")
                except (PermissionDenied, ValueError) as exc:
                    st.error(common.md(str(exc)))


def _header_proposals(store, user) -> None:
    """Table headers officers' corrections show the table model did not know: a list to accept."""
    proposals = header_proposals(store, user)
    if not proposals:
        return
    st.subheader(f"待采纳的表头写法（{len(proposals)}）")
    st.caption("来自审批人员的识别更正：这些表头下的值机器未能识别，经人工补录或更正。采纳后写入表头同义词文件 "
               f"{common.md(str(synonyms_path()))}（数据，不改代码；抽取程序经 SHENCHA\\_HEADER\\_SYNONYMS 读取）。")
    rows = [{"采纳": False, "栏目": p.key, "表头写法": p.header, "更正数": p.corrections, "涉及申请": p.applications,
             "示例": "、".join(p.examples)} for p in proposals]
    edited = st.data_editor(rows, hide_index=True, width="stretch", key="header_proposals",
                            disabled=["栏目", "表头写法", "更正数", "涉及申请", "示例"])
    if user.can(P.edit_rules) and st.button("采纳所选表头写法", key="accept_headers"):
        chosen = [p for p, row in zip(proposals, edited) if row.get("采纳")]
        try:
            path = accept_headers(store, user, chosen)
            st.success(f"已写入 {common.md(str(path))}，共 {len(chosen)} 条。")
        except (PermissionDenied, ValueError) as exc:
            st.error(common.md(str(exc)))
