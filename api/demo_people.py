"""Synthetic people for the demo year: names, resident ID numbers, phones, addresses, bank cards.

Every person derives from (seed, pseudonym) alone, so adding a person never changes another.
ID numbers carry real Guizhou region codes (mostly 520122 息烽县), birth dates that fit the
relief the person gets, a sequence code whose parity matches the person's sex, and a valid
GB 11643 check digit; bank card numbers pass the Luhn check; mobile numbers use real prefixes.
None of them belongs to anyone: the generator is public and so is the seed.

Recipients' names never coincide with a name that is public in the demo (officials, donors
who consented to be named), so a privacy scan that finds one has found a leak.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ledger.identity import resident_id_check_char

YEAR = 2026
_REGIONS = ("520122",) * 17 + ("520121", "520123", "520181")  # 息烽, 开阳, 修文, 清镇
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万"
)
_MALE = "勇军伟强磊洋斌杰涛超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国德福贵荣昌发忠"
_FEMALE = "芳娟敏静丽艳娜霞秀玲桂英兰萍燕红琴云莲梅珍凤翠花春菊香琼蓉慧婷雪倩颖洁琳巧美玉"
_GROUPS = ("上寨组", "下寨组", "新寨组", "大坪组", "河边组", "沙坝组", "田坝组", "岩脚组",
           "坡头组", "中寨组", "老院组", "竹林组", "水井组", "松林组")  # fmt: skip
_STREETS = ("河滨路", "流长街", "新街", "场坝路", "学府路")
_MOBILE = ("134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159",
           "182", "183", "187", "188", "130", "131", "132", "155", "156", "185", "186", "133",
           "153", "180", "181", "189", "177", "199", "198")  # fmt: skip
_CARD_BINS = ("622848", "621736", "622700", "621799")  # ABC, rural credit, CCB, PSBC
_PROTECTED_ALPHABET = string.ascii_uppercase + string.digits

# Age ranges (on 1 July of the demo year) and flags by the kind of relief a person gets.
KINDS: dict[str, tuple[int, int]] = {
    "adult": (24, 82), "elderly": (60, 93), "worker": (28, 56), "parent": (50, 74),
    "minor": (6, 17), "hiv": (26, 58), "confidential": (22, 60),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoPerson:
    pseudonym: str
    name: str
    id_number: str
    phone: str | None
    address: str
    household_size: int
    flags: tuple[str, ...]
    bank_account: str | None

    def sealed(self) -> dict[str, Any]:
        """The sealed part of this person's registration."""
        data: dict[str, Any] = {
            "name": self.name,
            "id_number": self.id_number,
            "household_size": self.household_size,
            "address": self.address,
            "flags": list(self.flags),
        }
        if self.phone:
            data["phone"] = self.phone
        if self.bank_account:
            data["bank_account"] = self.bank_account
        return data


def _luhn_digit(body: str) -> str:
    total = 0
    for i, d in enumerate(int(c) for c in reversed(body)):
        doubled = d * 2 if i % 2 == 0 else d
        total += doubled - 9 if doubled > 9 else doubled
    return str((10 - total % 10) % 10)


def person_name(rng: random.Random, male: bool, public_names: frozenset[str] = frozenset()) -> str:
    """A Han name of three characters that is none of the demo's public names."""
    while True:
        given = "".join(rng.choice(_MALE if male else _FEMALE) for _ in range(2))
        name = rng.choice(_SURNAMES) + given
        if name not in public_names:
            return name


def protected_pseudonym(rng: random.Random) -> str:
    """P- and 16 random characters, never with a run of 7 digits (it would look like a number)."""
    while True:
        ref = "P-" + "".join(rng.choices(_PROTECTED_ALPHABET, k=16))
        runs = "".join(c if c.isdigit() else " " for c in ref).split()
        if all(len(run) < 7 for run in runs):
            return ref


def make_person(
    seed: int, pseudonym: str, village: str, household_size: int, kind: str,
    flags: tuple[str, ...] = (), *, public_names: frozenset[str] = frozenset(),
) -> DemoPerson:  # fmt: skip
    """One synthetic person, the same for the same seed and pseudonym."""
    # Reproducible demo data, not secrets: a seeded generator is the point.
    rng = random.Random(f"gongkai-demo/{seed}/person/{pseudonym}")  # noqa: S311
    low, high = KINDS[kind]
    midyear = date(YEAR, 7, 1)
    born = midyear - timedelta(days=rng.randint(low * 365 + 1, high * 365 + 300))
    male = rng.random() < (0.45 if kind == "elderly" else 0.55)
    name = person_name(rng, male, public_names)
    if kind in ("adult", "elderly", "worker", "parent"):
        flags += ("elderly",) if KINDS[kind][0] >= 60 else ()
        flags += ("disability",) if rng.random() < 0.12 else ()
        flags += ("serious_illness",) if rng.random() < 0.05 else ()
    flags = tuple(dict.fromkeys(flags))
    sequence = rng.randrange(0, 1000, 2) + (1 if male else 0)
    first17 = f"{rng.choice(_REGIONS)}{born:%Y%m%d}{sequence % 1000:03d}"
    phone = None
    if kind not in ("minor",) and rng.random() < 0.92:
        phone = rng.choice(_MOBILE) + f"{rng.randrange(10**8):08d}"
    if village.endswith("社区"):
        address = f"息烽县流长镇{village}{rng.choice(_STREETS)}{rng.randint(1, 120)}号"
    else:
        address = f"息烽县流长镇{village}{rng.choice(_GROUPS)}{rng.randint(1, 80)}号"
    card = None
    if kind != "minor":
        body = rng.choice(_CARD_BINS) + f"{rng.randrange(10**12):012d}"
        card = body + _luhn_digit(body)
    return DemoPerson(
        pseudonym=pseudonym,
        name=name,
        id_number=first17 + resident_id_check_char(first17),
        phone=phone,
        address=address,
        household_size=household_size,
        flags=flags,
        bank_account=card,
    )
