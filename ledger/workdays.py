"""Working days and the legal clocks of disclosure.

Working days come from the ``chinesecalendar`` tables, which include the make-up workdays
(调休, e.g. Saturday 10 October 2026 after the National Day holiday). A date outside the tables
fails loudly (``CalendarError``) rather than guessing. The rules — how many working days each
kind of information has — live in one versioned policy file, ``policy/disclosure-deadlines.json``;
every computed clock carries the policy version and the calendar version it was computed with,
and those are recorded in the signed obligation, so replay gives the same answer.

A clock of N working days formed on day D is due on the N-th working day after D.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import metadata, resources
from typing import Any

import chinese_calendar

from ledger.errors import InputError


class CalendarError(InputError):
    code = "calendar_unavailable"


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    rules: dict[str, dict[str, Any]]
    social_assistance: frozenset[str]
    disaster: frozenset[str]

    def rule_for(self, category: str | None, *, posting: bool = False) -> str:
        """The rule a piece of information falls under, by its relief category."""
        if posting:
            return "posting_period"
        if category in self.social_assistance:
            return "social_assistance"
        if category in self.disaster:
            return "disaster_relief"
        return "default"

    def working_days(self, rule: str) -> int:
        try:
            return int(self.rules[rule]["working_days"])
        except KeyError:
            raise InputError(f"no disclosure rule {rule!r} in policy {self.version}") from None


@cache
def policy() -> Policy:
    text = resources.files("ledger").joinpath("policy/disclosure-deadlines.json").read_text("utf-8")
    data = json.loads(text)
    return Policy(
        version=data["version"],
        rules=data["rules"],
        social_assistance=frozenset(data["social_assistance_categories"]),
        disaster=frozenset(data["disaster_categories"]),
    )


def calendar_version() -> str:
    return f"chinesecalendar {metadata.version('chinesecalendar')}"


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as error:
        raise CalendarError(
            f"the working-day calendar has no data for {day.isoformat()} ({calendar_version()}): "
            "update chinesecalendar before computing deadlines in that year"
        ) from error


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    if days < 0:
        raise InputError("a clock cannot run backwards")
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if is_workday(current):
            left -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """How many working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current):
            count += 1
    return count


@dataclass(frozen=True, slots=True)
class Clock:
    rule: str
    formed_on: date
    due: date
    working_days: int
    policy_version: str
    calendar: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "formed_on": self.formed_on.isoformat(),
            "due": self.due.isoformat(),
            "working_days": self.working_days,
            "policy_version": self.policy_version,
            "calendar": self.calendar,
        }


def clock(rule: str, formed_on: date) -> Clock:
    p = policy()
    days = p.working_days(rule)
    return Clock(rule, formed_on, add_working_days(formed_on, days), days, p.version, calendar_version())
