"""registry.*: certificates and companies checked against the registry, through this engine.

The comparison itself lives in ``checks.registry_checks``: it returns
:class:`~checks.registry_checks.RegistryVerdict` objects, and these rules
turn each into a finding through their own context — the one place a
registry finding is built, so ids are deterministic, the "fail means sure"
gate applies, and rulesets select, date and disable them like any other
rule. The comparison is imported lazily (the engine loads without the
registry stack).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

from checks.engine import Citation, Fact, RuleContext, rule
from checks.model import Finding
from checks.rules._common import DOMAIN, is_legal_form, name_key, partial_readings
from checks.testing import example, f
from checks.view import ApplicationView, value_of

REGISTRY_CATEGORIES = (
    "registry.not_found", "registry.name_mismatch", "registry.expired", "registry.revoked",
    "registry.category_mismatch", "registry.employer_mismatch",
)


def _no_lookup(ctx: RuleContext, what: str, fields: list) -> Iterator[Finding]:
    yield ctx.uncertain(f"未连接登记库，{what}未经登记库核验", reason="运行时未提供登记库查询（lookup）",
                        key="no-lookup", category="registry.not_found", severity="low", evidence=fields[:20],
                        suggestion="请审批人员在登记库或 cx.mem.gov.cn 等平台人工核验。")


def example_lookup(certificates: list[dict[str, str]] = (), companies: list[dict[str, str]] = ()) -> Callable[[], Any]:
    """A factory for a real ``RegistryLookup`` over a throw-away in-memory store holding these rows.

    Lazy, so importing the rule pack never touches SQLAlchemy; used by the
    registry rules' own examples and by rule authors' tests.
    """

    def build() -> Any:
        import tempfile
        from datetime import date
        from pathlib import Path

        from sqlalchemy.pool import StaticPool

        from registry_sync.lookup import RegistryLookup
        from registry_sync.store import make_engine
        from registry_sync.sync import sync
        from registry_sync.testing import write_company_csv, write_csv

        engine = make_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        with tempfile.TemporaryDirectory(prefix="shencha-example-") as tmp:
            if certificates:
                sync(engine, str(write_csv(Path(tmp) / "c.csv", certificates)), kind="certificates", as_of=date(2026, 11, 1))
            if companies:
                sync(engine, str(write_company_csv(Path(tmp) / "co.csv", companies)), kind="companies", as_of=date(2026, 11, 1))
        return RegistryLookup(engine)

    return build


_CERT_ROW = dict(cert_no="T360426199101010071", cert_type="special_operation", holder_name="张三",
                 holder_id_no="360426199101010071", category="电工作业", employer_uscc="91110000600037341L",
                 employer_name="某某建设集团有限公司", issued_on="2022-01-01", valid_from="2022-01-01",
                 valid_until="2028-01-01", status="有效", issuing_authority="北京市应急管理局")
_COMPANY_ROW = dict(uscc="91110000600037341L", name="某某建设集团有限公司", legal_representative="赵六",
                    address="北京市某区某路1号", industry="construction", licence_no="(京)JZ安许证字〔2024〕000123",
                    licence_valid_from="2024-03-01", licence_valid_until="2027-02-28", licence_status="有效")


def _roster(cert_no: str = "T360426199101010071") -> list:
    return [f("person_name", "张三", role="special_operator", record=1, doc="r"),
            f("resident_id", "360426199101010071", record=1, doc="r"),
            f("operation_category", "电工作业", record=1, doc="r"),
            f("cert_no", cert_no, cert_type="special_operation", record=1, doc="r")]


def _id_ok(fld, view: ApplicationView) -> bool:
    from checks.rules._common import ident
    from checks.rules.identifiers import check_resident_id

    problem = check_resident_id(ident(fld), view.as_of)
    return problem is None or problem[0] != "error"


def _load(name: str) -> Callable[..., list[Any]] | None:
    try:
        # Lazy: the registry stack (SQLAlchemy, rapidfuzz) is optional for the engine.
        registry_checks = importlib.import_module("checks.registry_checks")
    except ImportError:
        return None
    return getattr(registry_checks, name, None)


@rule(
    "registry.certificates.v1",
    category=REGISTRY_CATEGORIES,
    requires=["cert_no", "person_name", "resident_id", "operation_category"],
    citation=Citation(standard="特种作业操作证及人员资格证书登记库", edition="应急管理部/住房城乡建设部登记数据",
                      clause="证书编号、持证人、类别、有效期、状态、聘用单位核验"),
    severity="high",
    facts=[
        Fact(statement="特种作业操作证可在 cx.mem.gov.cn 查询；复审3年、换证6年", source=f"{DOMAIN} §2.3", confidence="M"),
        Fact(statement="三类人员证书有效期3年", source=f"{DOMAIN} §2.2", confidence="M"),
    ],
    examples=[
        example("fail", "登记库中该证书已注销", _roster(), docs={"r": "special_operations_roster"},
                lookup_factory=example_lookup([{**_CERT_ROW, "status": "注销"}])),
        example("pass", "登记库中证书有效且信息一致", _roster(), docs={"r": "special_operations_roster"},
                lookup_factory=example_lookup([_CERT_ROW])),
        example("uncertain", "有证书但未连接登记库", [f("cert_no", "T360426199101010071", cert_type="special_operation")]),
        example("pass", "材料中没有证书编号，无需核验", [f("person_name", "张三", role="principal")]),
    ],
)
def certificates(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """证书在登记库中是否存在、持证人与类别是否一致、是否在有效期内、是否被注销或暂扣、聘用单位是否为申请人。

    比对逻辑由 checks.registry_checks.check_certificates 提供；未提供登记库时判为待核实（低）。
    """
    certs = view.fields_of("cert_no")
    if not certs:
        return
    if ctx.lookup is None:
        yield from _no_lookup(ctx, "证书", certs)
        return
    fn = _load("check_certificates")
    if fn is None:
        yield ctx.uncertain("登记库核验模块不可用，证书未经登记库核验", reason="checks.registry_checks 未安装",
                            key="no-module", category="registry.not_found", severity="low",
                            suggestion="请审批人员人工核验证书。")
        return
    # An ID number that fails its own check is reported by gb11643.resident_id; comparing it with
    # the registry would only restate that error as "another person", so it is left out here.
    fields = [x for x in view.fields if x.type != "resident_id" or _id_ok(x, view)]
    verdicts = fn(fields, ctx.lookup, as_of=view.as_of, applicant_uscc=view.application.uscc,
                  applicant_name=view.application.company_name)
    yield from (v.emit(ctx) for v in verdicts)


@rule(
    "registry.companies.v1",
    category=REGISTRY_CATEGORIES,
    requires=["uscc", "company_name", "person_name", "safety_licence_no"],
    citation=Citation(standard="企业登记及安全生产许可证登记库", edition="市场监管/应急管理登记数据",
                      clause="统一社会信用代码、企业名称、法定代表人、许可证状态核验"),
    severity="high",
    facts=[Fact(statement="安全生产许可证有效期3年，期满前3个月申请延期", source=f"{DOMAIN} §3.1 第九条", confidence="H")],
    examples=[
        example("fail", "统一社会信用代码在企业登记库中查无记录",
                [f("uscc", "9144030071526726XG", role="applicant", doc="bl"), f("company_name", "某某建设集团有限公司", role="applicant", doc="bl")],
                docs={"bl": "business_licence"}, lookup_factory=example_lookup(companies=[_COMPANY_ROW])),
        example("pass", "企业登记信息一致",
                [f("uscc", "91110000600037341L", role="applicant", doc="bl"), f("company_name", "某某建设集团有限公司", role="applicant", doc="bl")],
                docs={"bl": "business_licence"}, lookup_factory=example_lookup(companies=[_COMPANY_ROW])),
        example("uncertain", "有统一社会信用代码但未连接登记库", [f("uscc", "91110000600037341L", role="applicant")]),
        example("pass", "材料中没有企业标识，无需核验", [f("person_name", "张三", role="principal")], uscc=None, company_name=None),
    ],
)
def companies(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """企业在登记库中是否存在、名称与法定代表人是否一致、安全生产许可证是否有效。

    比对逻辑由 checks.registry_checks.check_companies 提供；未提供登记库时判为待核实（低）。
    """
    ids = view.fields_of("uscc", "safety_licence_no")
    if not ids and not view.application.uscc:
        return
    if ctx.lookup is None:
        yield from _no_lookup(ctx, "企业信息", ids)
        return
    fn = _load("check_companies")
    if fn is None:
        yield ctx.uncertain("登记库核验模块不可用，企业信息未经登记库核验", reason="checks.registry_checks 未安装",
                            key="no-module", category="registry.not_found", severity="low",
                            suggestion="请审批人员人工核验企业登记信息。")
        return
    # A bare enterprise type read as the name (其他有限责任公司) is no name to compare with the registry.
    # Nor is a name read only in part when the package also holds it in full (consistency reports it).
    names = [x for x in view.fields if x.type == "company_name" and not is_legal_form(value_of(x))]
    partial = partial_readings(name_key(value_of(x)) for x in names)
    def unfit(name: object) -> bool:
        return is_legal_form(name) or name_key(name) in partial

    fields = [x for x in view.fields if x.type != "company_name" or not unfit(value_of(x))]
    # The same goes for the company a USCC field says it belongs to.
    fields = [x.model_copy(update={"attributes": {k: v for k, v in x.attributes.items() if k != "company"}})
              if x.type == "uscc" and x.attributes.get("company") and unfit(x.attributes["company"]) else x
              for x in fields]
    yield from (v.emit(ctx) for v in fn(fields, ctx.lookup, as_of=view.as_of))
