"""Chinese names for the codes users see in reports and the web app."""

from __future__ import annotations

CATEGORY = {
    "identifier.invalid": "编号格式或校验位错误",
    "registry.not_found": "登记库中查无此证/企业",
    "registry.name_mismatch": "登记库中姓名/名称不符",
    "registry.expired": "证书/许可已过期或未生效",
    "registry.revoked": "证书已注销或暂扣",
    "registry.category_mismatch": "证书作业类别与申报工种不符",
    "registry.employer_mismatch": "持证人登记单位与申请企业不符",
    "consistency.conflict": "材料之间信息不一致",
    "standard.fire_separation": "防火间距不满足规范",
    "standard.evacuation_width": "疏散宽度不满足规范",
    "plan.missing_measure": "方案缺少必需措施",
    "completeness.missing_document": "缺少必需材料",
    "completeness.missing_field": "材料缺少必填项",
}

DOC_TYPE = {
    "business_licence": "营业执照",
    "responsibility_system": "安全生产责任制",
    "managers_roster": "安全管理人员名册",
    "special_operations_roster": "特种作业人员名册",
    "certificate": "证书",
    "scaffold_plan": "脚手架专项施工方案",
    "site_plan": "总平面布置图",
    "evacuation_plan": "消防疏散图/方案",
    "emergency_plan": "应急救援预案",
    "training_record": "安全培训记录",
    "insurance": "工伤保险证明",
    "application_form": "申请书",
    "safety_investment": "安全投入证明",
    "safety_organisation": "安全机构设置文件",
    "machinery_inspection": "起重机械检验检测合格证明",
    "occupational_health": "职业危害防治措施",
    "safety_assessment": "安全评价报告",
    "major_hazards": "重大危险源辨识与监控措施",
    "major_works_measures": "危大工程预防监控措施",
    "other": "其他",
}

FIELD_TYPE = {
    "person_name": "姓名",
    "resident_id": "身份证号",
    "uscc": "统一社会信用代码",
    "company_name": "企业名称",
    "safety_licence_no": "安全生产许可证编号",
    "cert_no": "证书编号",
    "operation_category": "作业类别",
    "date": "日期",
    "building": "建筑物",
    "fire_separation_distance": "防火间距",
    "measured_separation": "图上实测间距",
    "evacuation_width": "疏散宽度",
    "building_height": "建筑高度",
    "scaffold_height": "脚手架搭设高度",
    "guard_rail_height": "防护栏杆高度",
    "toe_board_height": "挡脚板高度",
    "plan_section": "方案章节",
    "safety_measure": "安全措施",
}

ROLE = {
    "legal_representative": "法定代表人",
    "principal": "主要负责人",
    "safety_manager": "安全管理人员",
    "project_manager": "项目负责人",
    "special_operator": "特种作业人员",
    "applicant": "申请企业",
    "employer": "用人单位",
    "issued": "发证日期",
    "valid_from": "有效期起",
    "valid_until": "有效期至",
    "signed": "签署日期",
    "other": "其他",
}

SEVERITY = {"high": "高", "medium": "中", "low": "低"}
VERDICT = {"fail": "不符合", "uncertain": "待人工判断"}
SOURCE = {"text": "文本层", "ocr": "文字识别", "docx": "Word", "dxf": "CAD 图纸", "sheet": "电子表格"}
INDUSTRY = {
    "construction": "建筑施工",
    "hazardous_chemicals": "危险化学品",
    "non_coal_mine": "非煤矿山",
    "coal_mine": "煤矿",
    "fireworks": "烟花爆竹",
    "civil_explosives": "民用爆炸物品",
}


def label(table: dict[str, str], key: str | None) -> str:
    if key is None:
        return ""
    return table.get(key, key)
