"""The fixed vocabulary of the town's plan (流长镇社会公益事业建设领域政府信息公开实施方案).

Focus areas and their relief categories, departments, roles, donor classes and appropriation
levels. Codes are stable ASCII identifiers used in signed commands; labels are what people read.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    RECORDER = "recorder"  # 经办人
    DEPARTMENT_HEAD = "department_head"  # 部门负责人
    LEADER = "leader_in_charge"  # 分管领导
    OFFICE_FILER = "office_filer"  # 党政办 备案
    AUDITOR = "auditor"  # 审计
    ADMINISTRATOR = "administrator"  # 系统管理员
    # The server's own key for the public feedback channel (公众留言收件): it records what
    # the public submits and nothing else. It is not an official's key.
    INTAKE = "intake"


ROLE_LABELS: dict[Role, str] = {
    Role.RECORDER: "经办人",
    Role.DEPARTMENT_HEAD: "部门负责人",
    Role.LEADER: "分管领导",
    Role.OFFICE_FILER: "党政办备案员",
    Role.AUDITOR: "审计员",
    Role.ADMINISTRATOR: "系统管理员",
    Role.INTAKE: "公众留言收件",
}

# The kinds of information of the plan (§二) and the channels of publication (§三–§五).
INFO_KINDS: dict[str, str] = {
    "decision": "决策公开",
    "management": "管理和服务公开",
    "execution": "执行和结果公开",
}
CHANNELS: dict[str, str] = {
    "notice_board": "镇政务公开栏",
    "county_portal": "县门户网站",
    "wechat": "微信公众号",
    "weibo": "政务微博",
}
DOCUMENT_KINDS: dict[str, str] = {
    "policy": "政策文件",
    "standard": "标准",
    "guide": "办事指南",
    "notice": "通知公告",
    "other": "其他",
}

DEPARTMENTS: dict[str, str] = {
    "dangzheng": "镇党政办公室",
    "shehui": "镇社会事务办",
    "renshe": "镇人力资源和社会保障服务中心",
    "jisheng": "镇人口和计划生育办公室",
    "weisheng": "镇卫生院",
    "wenhua": "镇文化中心",
    "xinxi": "镇科技宣教文化信息统计服务中心",
}

AREAS: dict[str, str] = {
    "welfare": "社会救助和社会福利",
    "education": "教育",
    "health": "基本医疗卫生",
    "disaster": "灾害事故救援",
    "culture": "公共文化体育",
}

# category code -> (area code, label)
CATEGORIES: dict[str, tuple[str, str]] = {
    "dibao": ("welfare", "城乡低保"),
    "tekun": ("welfare", "特困人员救助供养"),
    "disaster_relief": ("welfare", "受灾人员救助"),
    "employment": ("welfare", "就业救助"),
    "temporary": ("welfare", "临时救助"),
    "elderly": ("welfare", "老年人福利"),
    "disability": ("welfare", "残疾人福利"),
    "children": ("welfare", "儿童福利"),
    "orphans": ("welfare", "孤儿基本生活保障"),
    "family_planning": ("welfare", "计划生育特殊困难家庭扶助"),
    "compulsory_education": ("education", "义务教育"),
    "preschool": ("education", "学前教育"),
    "disease_relief": ("health", "疾病应急救助"),
    "health_poverty": ("health", "健康扶贫"),
    "emergency_response": ("disaster", "应急救援"),
    "reconstruction": ("disaster", "灾后重建"),
    "culture_facilities": ("culture", "公共文化体育设施"),
    "culture_services": ("culture", "公共文化服务"),
}

DONOR_CLASSES: dict[str, str] = {
    "individual": "个人",
    "enterprise": "企业",
    "social_organisation": "社会组织",
}

APPROPRIATION_LEVELS: dict[str, str] = {
    "county": "县级",
    "city": "市级",
    "province": "省级",
    "central": "中央",
}


def area_of(category: str) -> str:
    return CATEGORIES[category][0]
