"""What the portal says, in Chinese (the default) and English.

The catalogue of the plan (``ledger.catalogue``) holds the Chinese labels of codes; this module
adds their English and the portal's own words. Names recorded in the log (funds, programs,
titles, notes) are shown as recorded, in whatever language they were written.
"""

from __future__ import annotations

from ledger.catalogue import (
    APPROPRIATION_LEVELS,
    AREAS,
    CATEGORIES,
    CHANNELS,
    DEPARTMENTS,
    DOCUMENT_KINDS,
    DONOR_CLASSES,
    INFO_KINDS,
    ROLE_LABELS,
)

LANGS = ("zh", "en")

_EN: dict[str, dict[str, str]] = {
    "area": {
        "welfare": "Social assistance and welfare", "education": "Education",
        "health": "Basic medical and health care", "disaster": "Disaster and accident relief",
        "culture": "Public culture and sports",
    },
    "kind": {"decision": "Decisions", "management": "Management and services",
             "execution": "Execution and results"},
    "category": {
        "dibao": "Minimum living allowance (dibao)", "tekun": "Support for people in extreme poverty",
        "disaster_relief": "Relief for disaster victims", "employment": "Employment assistance",
        "temporary": "Temporary assistance", "elderly": "Welfare for the elderly",
        "disability": "Welfare for people with disabilities", "children": "Child welfare",
        "orphans": "Basic living allowance for orphans",
        "family_planning": "Support for families with family-planning hardship",
        "compulsory_education": "Compulsory education", "preschool": "Pre-school education",
        "disease_relief": "Emergency medical assistance", "health_poverty": "Health poverty relief",
        "emergency_response": "Emergency response", "reconstruction": "Reconstruction",
        "culture_facilities": "Public culture and sports facilities",
        "culture_services": "Public cultural services",
    },
    "department": {
        "dangzheng": "Party and Government Office", "shehui": "Social Affairs Office",
        "renshe": "Human Resources and Social Security Service Centre",
        "jisheng": "Population and Family Planning Office", "weisheng": "Town Health Centre",
        "wenhua": "Town Cultural Centre",
        "xinxi": "Science, Education, Culture, Information and Statistics Service Centre",
    },
    "donor_class": {"individual": "Individuals", "enterprise": "Enterprises",
                    "social_organisation": "Social organisations"},
    "level": {"county": "County", "city": "City", "province": "Province",
              "central": "Central government"},
    "channel": {"notice_board": "Town notice board", "county_portal": "County portal",
                "wechat": "WeChat account", "weibo": "Government Weibo"},
    "role": {"recorder": "Recorder", "department_head": "Department head",
             "leader_in_charge": "Leader in charge", "office_filer": "Filing officer (Party and Government Office)",
             "auditor": "Auditor", "administrator": "Administrator", "intake": "Public feedback intake"},
    "doc_kind": {"policy": "Policy document", "standard": "Standard", "guide": "Service guide",
                 "notice": "Notice", "other": "Other"},
}  # fmt: skip

_ZH: dict[str, dict[str, str]] = {
    "area": AREAS,
    "kind": INFO_KINDS,
    "category": {code: label for code, (_, label) in CATEGORIES.items()},
    "department": DEPARTMENTS,
    "donor_class": DONOR_CLASSES,
    "level": APPROPRIATION_LEVELS,
    "channel": CHANNELS,
    "role": {role.value: label for role, label in ROLE_LABELS.items()},
    "doc_kind": DOCUMENT_KINDS,
}

# Words of the workflow and of the portal: key -> (Chinese, English).
_BOTH: dict[str, dict[str, tuple[str, str]]] = {
    "step": {
        "disclosure.draft": ("起草", "Drafted"), "disclosure.submit": ("提交审核", "Submitted for review"),
        "disclosure.review": ("部门负责人审核", "Reviewed by the department head"),
        "disclosure.post": ("公示", "Posted for objections"),
        "disclosure.approve": ("分管领导审签", "Approved by the leader in charge"),
        "disclosure.publish": ("发布", "Published"), "disclosure.file": ("党政办备案", "Filed with the office"),
        "disclosure.correct": ("更正", "Corrected"), "disclosure.withdraw": ("撤回", "Withdrawn"),
        "feedback.receive": ("收到公众意见", "Feedback received"),
        "feedback.respond": ("答复", "Response"),
    },
    "status": {"published": ("已发布", "Published"), "filed": ("已发布并备案", "Published and filed"),
               "corrected": ("已更正", "Corrected")},
    "state": {"due": ("待公开", "Due"), "overdue": ("逾期未公开", "Overdue"),
              "late": ("逾期公开", "Published late"), "on_time": ("按时公开", "On time")},
    "feedback": {"comment": ("意见", "Comment"), "objection": ("异议", "Objection")},
    "report": {"flows": ("资金流向报告", "Fund-flow report"), "recipients": ("救助对象汇总", "Recipients"),
               "goods": ("物资台账", "Goods ledger"), "trace": ("捐赠去向", "Donation trace")},
    "source_kind": {"donation": ("社会捐赠", "Donations"), "appropriation": ("财政拨款", "Appropriations")},
}  # fmt: skip


class Labels:
    """Labels of one language, for templates: ``L.area("welfare")``, ``L.step(...)``."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang

    def _code(self, table: str, code: str | None) -> str:
        if not code:
            return ""
        found = (_ZH if self.lang == "zh" else _EN)[table].get(code)
        return found if found is not None else code

    def _both(self, table: str, code: str | None) -> str:
        if not code:
            return ""
        pair = _BOTH[table].get(code)
        return code if pair is None else pair[LANGS.index(self.lang)]

    def area(self, code: str | None) -> str:
        return self._code("area", code)

    def kind(self, code: str | None) -> str:
        return self._code("kind", code)

    def category(self, code: str | None) -> str:
        return self._code("category", code)

    def department(self, code: str | None) -> str:
        return self._code("department", code)

    def donor_class(self, code: str | None) -> str:
        return self._code("donor_class", code)

    def level(self, code: str | None) -> str:
        return self._code("level", code)

    def channel(self, code: str | None) -> str:
        return self._code("channel", code)

    def role(self, code: str | None) -> str:
        return self._code("role", code)

    def doc_kind(self, code: str | None) -> str:
        return self._code("doc_kind", code)

    def step(self, code: str | None) -> str:
        return self._both("step", code)

    def status(self, code: str | None) -> str:
        return self._both("status", code)

    def state(self, code: str | None) -> str:
        return self._both("state", code)

    def feedback(self, code: str | None) -> str:
        return self._both("feedback", code)

    def report(self, code: str | None) -> str:
        return self._both("report", code)

    def source_kind(self, code: str | None) -> str:
        return self._both("source_kind", code)

    def pick(self, zh: str, en: str) -> str:
        """The portal's own words: ``L.pick("资金", "Funds")``."""
        return zh if self.lang == "zh" else en
