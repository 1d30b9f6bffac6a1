"""A believable demo year (2026) of 流长镇's relief ledger, generated from a seed.

``build_demo`` founds the ledger, enrols the demo officials and records one year: 城乡低保 paid
monthly, 特困 support, 临时救助 (some to protected recipients), 疾病应急救助, 就业救助 and
计划生育特殊家庭扶助, donated books for the schools, and a July flood (7·6洪涝) with a few hundred
donations of money and goods, pledges, county/city/province/central appropriations, relief paid
in waves, goods issued from the store to households and institutions with the approver named,
corrections each with its 更正说明 (the Hubei-style "N95 ×16,000" that was "KN95 ×18,000", a
directed gift booked as undirected, an amount typed with an extra zero, a 低保 payment made after
the recipient died), and one recorder's key revoked in November.

Everyone paid is a synthetic person (``api.demo_people``: name, resident ID number with a valid
check digit, phone, address, household size, bank card), registered by the recorder of the
program's department before their first payment, their personal data in the registration's
sealed part. Protected recipients — orphans (孤儿基本生活保障, all minors), children and
confidential cases of 临时救助, HIV patients of 疾病应急救助 — are registered as protected and
paid with ``protected: true`` and a sealed part naming them. Some donors who did not consent to
be named have their name in a sealed part.

Everything derives from the seed: rosters and amounts from ``random.Random`` generators seeded
per activity, command times and nonces from the signing stage's own generator, and Ed25519
signatures are deterministic, so one seed always gives byte-identical signed commands.

Each activity is a stream of acts in date order; the streams are merged by date and signed
lazily, so at any scale only rosters (compact tuples) are held, never the commands. Solvency
holds by construction: each stream alone never takes from a fund, program or store more than it
put in before (appropriations precede allocations, allocations precede payments, issues draw on
stock received on earlier days), so every interleaving of the streams keeps balances at or above
zero.

The keys derive from a public seed: demonstrations only, never a real ledger.
"""

from __future__ import annotations

import heapq
import math
import random
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

from api.demo_people import DemoPerson, make_person, person_name, protected_pseudonym
from ledger.application import Ledger
from ledger.catalogue import Role
from ledger.commands import SignedCommand, Signer, Unsigned, spec_of
from ledger.fields import Fields
from ledger.goods import Goods, GoodsKind
from ledger.keys import PrivateKey, write_keypair
from ledger.privacy import donor_subject
from ledger.recipients import register_body

JURISDICTION = "流长镇"
YEAR = 2026
DEMO_PASSPHRASE = "gongkai-demo"  # noqa: S105 - published on purpose: demo keys only
CHUNK = 500  # commands per all-or-nothing batch

_TZ = timezone(timedelta(hours=8))
_FOUNDED = date(YEAR, 1, 5)
_REVOKED = date(YEAR, 11, 16)
_REF_ALPHABET = string.ascii_uppercase + string.digits


# --- who ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoOfficial:
    """A demo official; ``file`` names the key files (``keys/<file>.key``, ``.pub``)."""

    file: str
    name: str
    role: Role
    department: str


OFFICIALS: tuple[DemoOfficial, ...] = (
    DemoOfficial("administrator", "罗文斌", Role.ADMINISTRATOR, "dangzheng"),
    DemoOfficial("recorder", "陈晓燕", Role.RECORDER, "shehui"),
    DemoOfficial("recorder-civil", "王德明", Role.RECORDER, "shehui"),
    DemoOfficial("recorder-health", "杨丽", Role.RECORDER, "weisheng"),
    DemoOfficial("recorder-employment", "刘海波", Role.RECORDER, "renshe"),
    DemoOfficial("recorder-family", "周敏", Role.RECORDER, "jisheng"),
    DemoOfficial("recorder-culture", "吴静", Role.RECORDER, "wenhua"),
    DemoOfficial("recorder-stats", "赵磊", Role.RECORDER, "xinxi"),
    DemoOfficial("department-head", "张国华", Role.DEPARTMENT_HEAD, "shehui"),
    DemoOfficial("department-head-health", "李春梅", Role.DEPARTMENT_HEAD, "weisheng"),
    DemoOfficial("leader", "胡建军", Role.LEADER, "dangzheng"),
    DemoOfficial("office-filer", "黄婷", Role.OFFICE_FILER, "dangzheng"),
    DemoOfficial("auditor", "徐志强", Role.AUDITOR, "dangzheng"),
)
REVOKED_OFFICIAL = "recorder-civil"  # transferred away in November (工作调动)


def demo_officials(seed: int) -> dict[str, PrivateKey]:
    """Each demo official's key, derived from the seed, keyed by key-file name."""
    return {
        o.file: PrivateKey.from_seed(f"gongkai-demo/{seed}/{o.file}".encode()) for o in OFFICIALS
    }


def write_demo_keys(
    keys_out: Path, seed: int, passphrase: bytes = DEMO_PASSPHRASE.encode()
) -> list[Path]:
    """Write ``<name>.key`` (encrypted) and ``<name>.pub`` for every demo official."""
    written: list[Path] = []
    for name, key in demo_officials(seed).items():
        written.extend(write_keypair(key, keys_out / name, passphrase))
    return written


# --- where ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoAccount:
    kind: str  # fund, program or store
    code: str
    name: str
    department: str
    category: str = ""
    restricted: bool = False
    opened: date = _FOUNDED


ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("fund", "F-DIBAO", "城乡最低生活保障资金", "shehui", "dibao", True),
    DemoAccount("fund", "F-TEKUN", "特困人员救助供养资金", "shehui", "tekun", True),
    DemoAccount("fund", "F-TEMP", "临时救助资金", "shehui", "temporary", True),
    DemoAccount("fund", "F-DISASTER", "自然灾害救灾资金", "shehui", "disaster_relief", True),
    DemoAccount("fund", "F-DONATION", "社会捐赠资金", "shehui", "disaster_relief", False),
    DemoAccount("fund", "F-DISEASE", "疾病应急救助资金", "weisheng", "disease_relief", True),
    DemoAccount("fund", "F-EMPLOY", "就业救助资金", "renshe", "employment", True),
    DemoAccount("fund", "F-FAMILY", "计划生育特殊家庭扶助资金", "jisheng", "family_planning", True),
    DemoAccount("fund", "F-ORPHAN", "孤儿基本生活保障资金", "shehui", "orphans", True),
    DemoAccount("program", "P-DIBAO", "2026年城乡低保金发放", "shehui", "dibao"),
    DemoAccount("program", "P-TEKUN", "2026年特困人员基本生活费发放", "shehui", "tekun"),
    DemoAccount("program", "P-TEMP", "2026年临时救助", "shehui", "temporary"),
    DemoAccount(
        "program",
        "P-FLOOD",
        "7·6洪涝灾害受灾群众救助",
        "shehui",
        "disaster_relief",
        opened=date(YEAR, 7, 7),
    ),
    DemoAccount("program", "P-DISEASE", "2026年疾病应急救助", "weisheng", "disease_relief"),
    DemoAccount("program", "P-EMPLOY", "2026年公益性岗位补贴", "renshe", "employment"),
    DemoAccount(
        "program", "P-FAMILY", "2026年计划生育特殊家庭扶助金", "jisheng", "family_planning"
    ),
    DemoAccount("program", "P-ORPHAN", "2026年孤儿基本生活费发放", "shehui", "orphans"),
    DemoAccount("store", "S-RELIEF", "镇救灾物资储备库", "shehui"),
    DemoAccount("store", "S-HEALTH", "镇卫生院防疫物资库", "weisheng"),
    DemoAccount("store", "S-CULTURE", "镇文化中心捐赠物资库", "wenhua"),
)

VILLAGES: tuple[str, ...] = (
    "流长社区", "流长村", "马场村", "楠木村", "新华村", "黄坪村",
    "石门村", "三合村", "青山村", "枫香村", "龙塘村",
)  # fmt: skip
# Along the river: where the July flood hit hardest.
_FLOOD_WEIGHTS = (2, 6, 5, 4, 1, 1, 4, 1, 1, 1, 2)

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高罗郑梁谢宋唐冯邓韩曹曾彭潘袁蔡"
_GIVEN = (
    "建国", "丽华", "志强", "秀英", "海燕", "德富", "春花", "国庆", "文静", "小军",
    "明亮", "红梅", "永福", "晓东", "桂兰", "玉芳", "世平", "光荣", "家齐", "天佑",
)  # fmt: skip
_FIRM_PLACES = ("息烽县", "贵阳", "贵州", "流长镇")
_FIRM_CORES = ("兴旺", "鑫源", "黔丰", "恒通", "宏达", "利民", "顺安", "金穗", "瑞丰", "筑森")
_FIRM_TRADES = ("建材", "农业开发", "商贸", "物流", "磷化工", "食品", "建筑工程", "茶业")
_SOCIETIES = (
    "息烽县爱心公益协会", "流长镇在外乡贤联谊会", "贵阳市黔行公益服务中心",
    "息烽县青年志愿者协会", "流长镇商会", "贵阳市筑梦社会工作服务中心",
)  # fmt: skip

# Goods of the relief store: (item, grade/spec, unit).
_WATER = GoodsKind("矿泉水", "550ml×24瓶", "箱")
_NOODLES = GoodsKind("方便面", "桶装×12", "箱")
_RICE = GoodsKind("大米", "25kg", "袋")
_OIL = GoodsKind("食用油", "5L", "桶")
_QUILT = GoodsKind("棉被", "200×230cm", "床")
_BOOTS = GoodsKind("雨靴", "成人", "双")
_DISINFECTANT = GoodsKind("消毒液", "84消毒液 500ml", "瓶")
_TENT = GoodsKind("帐篷", "12㎡ 救灾专用", "顶")
_COT = GoodsKind("折叠床", "单人", "张")
_COAT = GoodsKind("棉大衣", "成人", "件")
_N95 = GoodsKind("N95口罩", "N95", "个")
_KN95 = GoodsKind("KN95口罩", "GB 2626-2019 KN95", "个")
_DONATED_GOODS: tuple[tuple[GoodsKind, int], ...] = (  # kind, typical quantity from a firm
    (_WATER, 200), (_NOODLES, 100), (_RICE, 60), (_OIL, 50),
    (_QUILT, 80), (_BOOTS, 150), (_DISINFECTANT, 300),
)  # fmt: skip
_RELIEF = "disaster_relief"
# One-off payments (临时救助, 疾病应急救助) to protected recipients end in fifty yuan, which no
# listed payment of those categories (whole hundreds) nor any sum of them does: a privacy scan
# can tell a trace of a protected recipient from a coincidence.
_PROTECTED_ODD = 5_000


# --- what -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoSummary:
    jurisdiction: str
    commands: int
    donations: int
    disbursements: int
    households: int  # 低保 households paid during the year
    recipients: int = 0  # people registered (with sealed personal data)
    protected: int = 0  # of them protected (never listed)


@dataclass(slots=True)
class _Act:
    """One command to sign: who, what, on which day (the command time is set when signing)."""

    day: date
    by: str
    cmd: str
    body: dict[str, Any]
    bulk: bool = False  # one of many signed in a row (a monthly payment sheet)
    mark: str | None = None  # remembered under this name for a later correction
    fixes: str | None = None  # a correction of the act marked so
    change: dict[str, Any] | None = None  # the correction's changed fields; None = reversal
    holder: str = ""  # set when signed: the first target and its version after this act
    version: int = 0
    sealed: dict[str, Any] | None = None  # personal data, sealed beside the public part
    subject: str | None = None  # whose it is


def _on_sheet(act: _Act) -> bool:
    """A row of a monthly payment sheet: signed with the rest of its sheet, as one batch."""
    return act.bulk and act.cmd == "disbursement.make"


class _Person(NamedTuple):
    ref: str
    village: str
    size: int  # household size (persons)
    rate: float  # share of the 低保 standard, care subsidy, monthly amount... per stream
    first: int = 1  # first and last month paid
    last: int = 12


class _Pay(NamedTuple):
    day: date
    amount: int  # fen
    ref: str | None
    village: str | None
    mark: str | None = None
    protected: bool = False  # never singled out in public; named in the sealed part only


class _Gift(NamedTuple):
    day: date
    by: str
    donor_class: str
    donor_name: str | None
    purpose: str | None
    amount: int  # fen; 0 for goods
    goods: tuple[Goods, ...]
    pledge_no: str | None = None
    note: str | None = None
    mark: str | None = None


class _Issue(NamedTuple):
    day: date
    wants: tuple[tuple[GoodsKind, int], ...]
    recipient: str | None
    institution: str | None
    approver: str


def _fen(yuan: float) -> int:
    return round(yuan * 100)


def _ceil(fen: int, step_yuan: int = 10_000) -> int:
    step = step_yuan * 100
    return max(step, math.ceil(fen / step) * step)


def _workday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _shehui(day: date) -> str:
    """社会事务办's recorder on duty: 王德明 until his key is revoked, then 陈晓燕."""
    return REVOKED_OFFICIAL if day < _REVOKED else "recorder"


def _doc(prefix: str, day: date, slot: int) -> str:
    """A document number that grows with the date, like 息财〔2026〕12号."""
    return f"{prefix}〔{YEAR}〕{day.timetuple().tm_yday * 3 // 2 + slot}号"


def _open_body(a: DemoAccount) -> dict[str, Any]:
    body: dict[str, Any] = {"code": a.code, "name": a.name, "department": a.department}
    if a.kind != "store":
        body["category"] = a.category
    if a.kind == "fund":
        body["restricted"] = a.restricted
    return body


def _opener(department: str) -> str:
    heads = [o.file for o in OFFICIALS if o.role is Role.DEPARTMENT_HEAD]
    return next((h for h in heads if _official(h).department == department), "administrator")


def _official(file: str) -> DemoOfficial:
    return next(o for o in OFFICIALS if o.file == file)


def _appropriation(day: date, by: str, doc: str, level: str, fund: str, fen: int) -> _Act:
    return _Act(
        day, by, "appropriation.receive",
        {"document_no": doc, "level": level, "fund": fund, "amount": fen, "date": day.isoformat()},
    )  # fmt: skip


def _allocation(
    day: date, by: str, fund: str, program: str, fen: int, purpose: str | None = None,
    note: str | None = None,
) -> _Act:  # fmt: skip
    body: dict[str, Any] = {
        "fund": fund,
        "program": program,
        "amount": fen,
        "date": day.isoformat(),
    }
    if purpose:
        body["purpose"] = purpose
    if note:
        body["note"] = note
    return _Act(day, by, "allocation.make", body)


def _payment(
    program: str, pay: _Pay, by: str, period: str | None = None, *, bulk: bool = False
) -> _Act:
    body: dict[str, Any] = {"program": program, "amount": pay.amount, "date": pay.day.isoformat()}
    if period:
        body["period"] = period
    if pay.protected:
        body["protected"] = True
        return _Act(pay.day, by, "disbursement.make", body, bulk=bulk, mark=pay.mark,
                    sealed={"recipient": pay.ref}, subject=pay.ref)  # fmt: skip
    body["recipient"] = pay.ref
    body["village"] = pay.village
    return _Act(pay.day, by, "disbursement.make", body, bulk=bulk, mark=pay.mark)


def _registration(day: date, by: str, program: str, person: DemoPerson, village: str | None,
                  *, protected: bool = False) -> _Act:  # fmt: skip
    body = register_body(JURISDICTION, program, person.pseudonym, village, protected=protected)
    return _Act(day, by, "recipient.register", body, bulk=True, sealed=person.sealed(),
                subject=person.pseudonym)  # fmt: skip


_Funding = tuple[tuple[str, str, int], ...]  # (level, document prefix, share in percent)


def _funded(
    day: date, by: str, fund: str, need: int, funding: _Funding, slot: int
) -> Iterator[_Act]:
    """Appropriations covering ``need``: each level its share, the last one the rest."""
    given = 0
    for i, (level, prefix, share) in enumerate(funding):
        last = i == len(funding) - 1
        fen = _ceil(need - given, 1000) if last else need * share // 100 // 100_000 * 100_000
        given += fen
        yield _appropriation(day, by, _doc(prefix, day, slot + i), level, fund, fen)


def _correction(day: date, by: str, fixes: str, note: str, change: dict[str, Any] | None) -> _Act:
    return _Act(day, by, "correction.record", {"note": note}, fixes=fixes, change=change)


def _by_day(acts: Iterable[_Act]) -> list[_Act]:
    return sorted(acts, key=lambda a: a.day)


def _merge(*streams: Iterable[_Act]) -> Iterator[_Act]:
    """Merge date-ordered streams; on one day, earlier streams first."""
    return heapq.merge(*streams, key=lambda a: a.day)


class _Year:
    """The plan of one demo year: rosters up front, commands generated on demand."""

    def __init__(self, seed: int, scale: int) -> None:
        self.seed = seed
        self.scale = scale
        self.keys = demo_officials(seed)
        self.counts: Counter[str] = Counter()
        self.protected_registered = 0
        self._marked: dict[str, _Act] = {}
        rng = self._rng("rosters")
        self._used: set[str] = set()
        self.dibao = self._dibao_roster(rng)
        self.tekun = self._tekun_roster(rng)
        self.flood = self._flood_roster(rng)
        self.orphans = self._orphan_roster(self._rng("orphans"))
        self.public_names = frozenset(
            {o.name for o in OFFICIALS} | {s + g for s in _SURNAMES for g in _GIVEN}
        )
        self._flood = _FloodPlan(self, self._rng("flood"))

    def person(self, ref: str, village: str, size: int, kind: str,
               flags: tuple[str, ...] = ()) -> DemoPerson:  # fmt: skip
        return make_person(self.seed, ref, village, size, kind, flags, public_names=self.public_names)

    def register(self, day: date, by: str, program: str, p: _Person, kind: str,
                 flags: tuple[str, ...] = ()) -> _Act:  # fmt: skip
        """The registration of a roster's person; protected ones are the P- pseudonyms."""
        protected = p.ref.startswith("P-")
        person = self.person(p.ref, p.village, p.size, kind, flags)
        return _registration(day, by, program, person, None if protected else p.village,
                             protected=protected)  # fmt: skip

    def _protected_ref(self, rng: random.Random) -> str:
        ref = protected_pseudonym(rng)
        self._used.add(ref)
        return ref

    def _rng(self, stream: str) -> random.Random:
        # Reproducible demo data, not secrets: a seeded generator is the point.
        return random.Random(f"gongkai-demo/{self.seed}/{stream}")  # noqa: S311

    def _ref(self, rng: random.Random) -> str:
        while True:
            ref = "R-" + "".join(rng.choices(_REF_ALPHABET, k=6))
            if ref not in self._used:
                self._used.add(ref)
                return ref

    def _dibao_roster(self, rng: random.Random) -> list[_Person]:
        roster = []
        for i in range(425 * self.scale):  # about 400 paid in any month
            first = 1 if i % 16 else rng.randint(2, 11)  # new households join during the year
            last = 12 if i % 19 else rng.randint(first, 11)  # a few leave (income up, died)
            roster.append(
                _Person(
                    self._ref(rng), rng.choice(VILLAGES),
                    rng.choices((1, 2, 3, 4, 5), (30, 28, 20, 14, 8))[0],
                    rng.choices((1.0, 0.6, 0.3), (15, 35, 50))[0], first, last,
                )
            )  # fmt: skip
        return roster

    def _flood_roster(self, rng: random.Random) -> list[_Person]:
        """Flood households; a fifth are 低保 households (registered since January)."""
        early = [p for p in self.dibao if p.first == 1]
        roster = []
        for _ in range(150 * self.scale):
            known = rng.choice(early) if rng.random() < 0.2 else None
            ref = known.ref if known is not None else self._ref(rng)
            village = rng.choices(VILLAGES, _FLOOD_WEIGHTS)[0]
            size = rng.choices((1, 2, 3, 4, 5, 6), (10, 20, 25, 25, 12, 8))[0]
            damage = rng.choices((0.0, 1.0, 2.0), (58, 32, 10))[0]  # none, damaged, collapsed
            if known is not None:
                village, size = known.village, known.size
            roster.append(_Person(ref, village, size, damage))
        return roster

    def _orphan_roster(self, rng: random.Random) -> list[_Person]:
        """Orphans (all minors, all protected): P- pseudonyms, never listed."""
        roster = []
        for i in range(6 * self.scale):
            first = 1 if i % 4 != 3 else rng.randint(2, 8)
            roster.append(_Person(self._protected_ref(rng), rng.choice(VILLAGES), 1, 1.0, first))
        return roster

    def _tekun_roster(self, rng: random.Random) -> list[_Person]:
        roster = []
        for i in range(40 * self.scale):
            care = rng.choices((90, 360, 720), (7, 2, 1))[0]  # 照料护理补贴 by care needed
            first = 1 if i % 13 else rng.randint(2, 9)
            last = 12 if i % 17 else rng.randint(first, 11)
            roster.append(_Person(self._ref(rng), rng.choice(VILLAGES), 1, care, first, last))
        return roster

    def key_id(self, file: str) -> str:
        return self.keys[file].key_id

    # --- the signing stage ---------------------------------------------------------------

    def acts(self) -> Iterator[_Act]:
        return _merge(
            self._registry(), self._dibao(), self._tekun(), self._temporary(),
            self._flood.acts(), self._health(), self._employment(), self._family(),
            self._culture(), self._orphans(),
        )  # fmt: skip

    def commands(self) -> Iterator[SignedCommand]:
        """Every act signed, in order. A monthly payment sheet (a run of bulk disbursements by
        one official) is signed as one batch, as ``gongkai import`` signs a sheet."""
        signers = {name: Signer(key, JURISDICTION) for name, key in self.keys.items()}
        sheet: list[Unsigned] = []
        sheet_by = ""
        for act, unsigned in self._prepared(signers):
            if sheet and (act.by != sheet_by or not _on_sheet(act)):
                yield from signers[sheet_by].sign_batch(sheet)
                sheet = []
            if _on_sheet(act):
                sheet.append(unsigned)
                sheet_by = act.by
            else:
                yield signers[act.by].sign_prepared(unsigned)
        if sheet:
            yield from signers[sheet_by].sign_batch(sheet)

    def _prepared(self, signers: dict[str, Signer]) -> Iterator[tuple[_Act, Unsigned]]:
        rng = self._rng("clock")
        versions: dict[UUID, int] = {}
        now = datetime(YEAR, 1, 1, tzinfo=_TZ)
        for act in self.acts():
            body = self._resolve(act)
            opens = datetime.combine(act.day, time(8, 30), _TZ)
            if now < opens:
                now = opens + timedelta(seconds=rng.randrange(5400))
            else:  # a busy day at a larger scale is a faster day, not a later one
                pause = rng.randrange(200, 1500) if act.bulk else rng.randrange(30_000, 1_200_000)
                now += timedelta(milliseconds=pause // self.scale)
            targets = spec_of(act.cmd).targets(Fields(body), JURISDICTION)
            for target in targets:
                versions[target] = versions.get(target, 0) + 1
            act.holder, act.version = str(targets[0]), versions[targets[0]]
            if act.mark:
                self._marked[act.mark] = act
            self.counts[act.cmd] += 1
            nonce = f"{rng.getrandbits(128):032x}"
            if act.sealed is None:
                yield act, signers[act.by].prepare(act.cmd, body, at=now, nonce=nonce)
                continue
            salt = f"{rng.getrandbits(128):032x}"
            if act.cmd == "recipient.register" and act.body.get("protected"):
                self.protected_registered += 1
            yield act, signers[act.by].prepare(act.cmd, body, at=now, nonce=nonce, sealed=act.sealed,
                                               subject=act.subject, salt=salt)  # fmt: skip

    def _resolve(self, act: _Act) -> dict[str, Any]:
        """A correction names the event it corrects only once that event has been signed."""
        if act.fixes is None:
            return act.body
        original = self._marked.pop(act.fixes)
        body = {
            "corrects": {"aggregate": original.holder, "version": original.version},
            "original": {"cmd": original.cmd, "body": original.body},
            **act.body,
        }
        if act.change is not None:
            body["replacement"] = {**original.body, **act.change}
        return body

    def summary(self) -> DemoSummary:
        return DemoSummary(
            jurisdiction=JURISDICTION,
            commands=sum(self.counts.values()),
            donations=self.counts["donation.receive"],
            disbursements=self.counts["disbursement.make"],
            households=len(self.dibao),
            recipients=self.counts["recipient.register"],
            protected=self.protected_registered,
        )

    # --- the streams ----------------------------------------------------------------------

    def _registry(self) -> Iterator[_Act]:
        admin = _official("administrator")
        enrol = [
            {"name": o.name, "role": o.role.value, "department": o.department,
             "public_key": self.keys[o.file].public.b64()}
            for o in OFFICIALS
        ]  # fmt: skip
        yield _Act(
            _FOUNDED, admin.file, "registry.found",
            {"jurisdiction": JURISDICTION, "administrator": enrol[0]},
        )  # fmt: skip
        for body in enrol[1:]:
            yield _Act(_FOUNDED, admin.file, "official.enrol", body)
        for account in sorted(ACCOUNTS, key=lambda a: a.opened):
            yield _Act(
                account.opened, _opener(account.department), f"{account.kind}.open",
                _open_body(account),
            )  # fmt: skip
        person = _official(REVOKED_OFFICIAL).name
        yield _Act(
            _REVOKED, admin.file, "official.revoke",
            {"key_id": self.key_id(REVOKED_OFFICIAL),
             "reason": f"{person}同志工作调动，已调离镇社会事务办，停用其签名密钥"},
        )  # fmt: skip

    def _monthly(
        self, fund: str, program: str, by: Callable[[date], str], roster: list[_Person],
        amount: Callable[[_Person, int], int], funding: _Funding,
        slot: int, extra: dict[int, list[_Pay]] | None = None, *,
        kind: str = "adult", flags: tuple[str, ...] = (),
    ) -> Iterator[_Act]:  # fmt: skip
        """Monthly payments on the 10th; each quarter funded first by (level, doc prefix, share).
        Each person is registered (``kind`` of person, ``flags``) before their first month."""
        extra = extra or {}

        def month(m: int) -> list[_Pay]:
            day = _workday(date(YEAR, m, 10))
            pays = [_pay_of(day, amount(p, m), p) for p in roster if p.first <= m <= p.last]
            return pays + extra.get(m, [])

        for quarter in range(4):
            months = range(3 * quarter + 1, 3 * quarter + 4)
            need = sum(p.amount for m in months for p in month(m))
            day = _workday(date(YEAR, months[0], 6))
            yield from _funded(day, by(day), fund, need, funding, slot)
            for m in months:
                pays = month(m)
                day = _workday(date(YEAR, m, 9))
                for p in roster:
                    if p.first == m:
                        yield self.register(day, by(day), program, p, kind, flags)
                yield _allocation(day, by(day), fund, program, sum(p.amount for p in pays))
                for pay in pays:
                    yield _payment(program, pay, by(pay.day), f"{YEAR}-{m:02d}", bulk=True)

    def _dibao(self) -> Iterator[_Act]:
        def amount(p: _Person, m: int) -> int:
            standard = 520 if m < 7 else 550  # yuan per person and month; raised in July
            return _fen(round(p.size * standard * p.rate))

        # A household head died in month ``last``; the next month's payment went out before
        # the 停发 was processed, and was reversed (追回) the month after.
        died = next(p for p in self.dibao if 2 <= p.last <= 9)
        late = died.last + 1
        wrong = _Pay(_workday(date(YEAR, late, 10)), amount(died, late), died.ref, died.village,
                     mark="dibao-after-death")  # fmt: skip
        correction = _correction(
            _workday(date(YEAR, late + 1, 3)),
            "recorder",
            "dibao-after-death",
            f"更正说明：该户户主已于{YEAR}年{died.last}月去世，{late}月低保金系停发手续办理前误发，"
            "款项已追回，本条发放予以冲正。",
            None,
        )
        yield from _merge(
            self._monthly(
                "F-DIBAO", "P-DIBAO", lambda _: "recorder", self.dibao, amount,
                (("central", "财社", 50), ("province", "黔财社", 25), ("city", "筑财社", 10),
                 ("county", "息财", 0)),
                slot=0, extra={late: [wrong]},
            ),
            [correction],
        )  # fmt: skip

    def _tekun(self) -> Iterator[_Act]:
        def amount(p: _Person, m: int) -> int:
            basic = 676 if m < 7 else 715  # 1.3 × the 低保 standard
            return _fen(basic + p.rate)

        return self._monthly(
            "F-TEKUN", "P-TEKUN", _shehui, self.tekun, amount,
            (("province", "黔财社", 70), ("county", "息财", 0)), slot=5, kind="elderly",
        )  # fmt: skip

    def _orphans(self) -> Iterator[_Act]:
        return self._monthly(
            "F-ORPHAN", "P-ORPHAN", _shehui, self.orphans, lambda p, m: _fen(1300),
            (("central", "财社", 50), ("province", "黔财社", 30), ("county", "息财", 0)),
            slot=11, kind="minor", flags=("minor", "orphan"),
        )  # fmt: skip

    def _one_off(self, rng: random.Random, i: int, every: int, at: int,
                 kinds: tuple[str, ...]) -> tuple[_Person, str]:  # fmt: skip
        """A person paid once (临时救助, 疾病应急救助): every ``every``-th one is protected."""
        if i % every != at:
            return _Person(self._ref(rng), rng.choice(VILLAGES), 0, 0), "adult"
        people = self._rng(f"protected/{kinds[0]}/{i}")
        kind = kinds[i // every % len(kinds)]
        return _Person(self._protected_ref(people), people.choice(VILLAGES), 0, 0), kind

    def _temporary(self) -> Iterator[_Act]:
        rng = self._rng("temporary")
        pays: list[_Pay] = []
        people: dict[str, tuple[_Person, str]] = {}
        for i in range(36 * self.scale):
            quarter = rng.randrange(4)
            day = _workday(date(YEAR, 3 * quarter + 1, 8) + timedelta(days=rng.randrange(80)))
            fen = _fen(rng.choice((500, 800, 1000, 1500, 2000, 3000, 5000, 8000)))
            # A minor, a confidential case or an HIV-affected family: never singled out.
            person, kind = self._one_off(rng, i, 9, 4, ("minor", "confidential", "hiv"))
            person = person._replace(size=1 + i * 7 % 5)
            fen += _PROTECTED_ODD if kind != "adult" else 0
            people[person.ref] = (person, kind)
            pays.append(_pay_of(day, fen, person))
        pays.sort(key=lambda p: p.day)
        acts: list[_Act] = []
        for half, level, prefix in ((0, "county", "息财"), (1, "city", "筑财社")):
            day = _workday(date(YEAR, 6 * half + 1, 6))
            need = sum(p.amount for p in pays if (p.day.month - 1) // 6 == half)
            acts.append(
                _appropriation(
                    day, _shehui(day), _doc(prefix, day, 7), level, "F-TEMP", _ceil(need)
                )
            )
        for quarter in range(4):
            day = _workday(date(YEAR, 3 * quarter + 1, 7))
            need = sum(p.amount for p in pays if (p.day.month - 1) // 3 == quarter)
            acts.append(_allocation(day, _shehui(day), "F-TEMP", "P-TEMP", need))
        for pay in pays:
            person, kind = people[pay.ref or ""]
            flags = (kind,) if kind != "adult" else ()
            acts.append(self.register(pay.day, _shehui(pay.day), "P-TEMP", person, kind, flags))
            acts.append(_payment("P-TEMP", pay, _shehui(pay.day)))
        return iter(_by_day(acts))

    def _health(self) -> Iterator[_Act]:
        rng, by, head = self._rng("health"), "recorder-health", "department-head-health"
        pays = []
        people: dict[str, tuple[_Person, str]] = {}
        for i in range(15 * self.scale):
            day = _workday(date(YEAR, 3, 12) + timedelta(days=rng.randrange(275)))
            fen = _fen(rng.randrange(10, 80) * 100)
            # e.g. an HIV patient: amount and date only.
            person, kind = self._one_off(rng, i, 8, 3, ("hiv",))
            person = person._replace(size=1 + i * 3 % 4)
            fen += _PROTECTED_ODD if kind != "adult" else 0
            people[person.ref] = (person, kind)
            pays.append(_pay_of(day, fen, person))
        pays.sort(key=lambda p: p.day)

        def paid() -> Iterator[_Act]:
            for pay in pays:
                person, kind = people[pay.ref or ""]
                flags = ("hiv",) if kind == "hiv" else ("serious_illness",)
                yield self.register(pay.day, by, "P-DISEASE", person, kind, flags)
                yield _payment("P-DISEASE", pay, by)

        need = sum(p.amount for p in pays)
        day = date(YEAR, 3, 6)
        yield _appropriation(day, by, _doc("息财", day, 8), "county", "F-DISEASE", _ceil(need))
        yield _allocation(date(YEAR, 3, 9), by, "F-DISEASE", "P-DISEASE", need)
        gift = _Gift(
            date(YEAR, 7, 14), by, "enterprise", "贵州黔康医药有限公司", None, 0,
            (Goods(_DISINFECTANT, 3000 * self.scale),
             Goods(GoodsKind("医用外科口罩", "YY 0469-2011 50只/盒", "盒"), 400 * self.scale)),
            note="用于洪灾后卫生防疫",
        )  # fmt: skip
        donation = _donation(gift, "WSY2026-0001", store="S-HEALTH")
        issues = [
            _issue_act(
                "S-HEALTH", by, self.key_id(head), date(YEAR, 7, 16 + i),
                [Goods(_DISINFECTANT, 250 * self.scale)], None,
                institution=f"{village}卫生室", category="disease_relief",
            )
            for i, village in enumerate(VILLAGES[1:11])
        ]  # fmt: skip
        yield from _merge(paid(), [donation], issues)

    def _quarterly(
        self, fund: str, program: str, by: str, roster: list[_Person],
        funding: _Funding, pay_days: tuple[date, ...], slot: int, kind: str,
    ) -> Iterator[_Act]:  # fmt: skip
        """Paid each quarter (3 × the monthly ``rate`` × ``size``), funded in January."""
        each = [_fen(3 * p.rate * p.size) for p in roster]
        need = sum(each) * len(pay_days)
        day = _workday(date(YEAR, 1, 6))
        yield from _funded(day, by, fund, need, funding, slot)
        for p in roster:
            yield self.register(day, by, program, p, kind)
        for pay_day in pay_days:
            yield _allocation(pay_day, by, fund, program, sum(each))
            period = f"{YEAR}-{(pay_day.month - 1) // 3 * 3 + 3:02d}"
            for p, fen in zip(roster, each, strict=True):
                yield _payment(program, _Pay(pay_day, fen, p.ref, p.village), by, period)

    def _employment(self) -> Iterator[_Act]:
        rng = self._rng("employment")
        roster = [
            _Person(self._ref(rng), rng.choice(VILLAGES), 1, rng.choice((700, 800, 900)))
            for _ in range(10 * self.scale)
        ]
        days = tuple(_workday(date(YEAR, m, d)) for m, d in ((4, 10), (7, 10), (10, 10), (12, 18)))
        return self._quarterly(
            "F-EMPLOY", "P-EMPLOY", "recorder-employment", roster,
            (("county", "息财", 100),), days, slot=9, kind="worker",
        )  # fmt: skip

    def _family(self) -> Iterator[_Act]:
        rng = self._rng("family")
        roster = [
            _Person(
                self._ref(rng), rng.choice(VILLAGES), rng.choice((1, 2)), rng.choice((590, 740))
            )
            for _ in range(8 * self.scale)
        ]
        days = tuple(_workday(date(YEAR, m, 20)) for m in (3, 6, 9, 12))
        return self._quarterly(
            "F-FAMILY", "P-FAMILY", "recorder-family", roster,
            (("province", "黔财社", 60), ("county", "息财", 0)), days, slot=10, kind="parent",
        )  # fmt: skip

    def _culture(self) -> Iterator[_Act]:
        by, leader, s = "recorder-culture", self.key_id("leader"), self.scale
        books = GoodsKind("图书", "少儿读物", "册")
        ball = GoodsKind("篮球", "7号", "个")
        novels = GoodsKind("图书", "文学社科", "册")
        yield _donation(
            _Gift(date(YEAR, 5, 20), by, "social_organisation", "贵阳市书香公益服务中心", None, 0,
                  (Goods(books, 1500 * s), Goods(ball, 40 * s)), note="捐赠流长镇中小学及农家书屋"),
            "WH2026-0001", store="S-CULTURE",
        )  # fmt: skip
        yield _issue_act(
            "S-CULTURE", by, leader, date(YEAR, 6, 1), [Goods(books, 600 * s), Goods(ball, 20 * s)],
            None, institution="流长镇中心小学", category="compulsory_education",
        )  # fmt: skip
        for i, village in enumerate(VILLAGES[1:6]):
            yield _issue_act(
                "S-CULTURE", by, leader, _workday(date(YEAR, 6, 8 + i)), [Goods(books, 150 * s)],
                None, institution=f"{village}农家书屋", category="culture_services",
            )  # fmt: skip
        yield _donation(
            _Gift(date(YEAR, 9, 10), by, "individual", None, None, 0, (Goods(novels, 300 * s),)),
            "WH2026-0002", store="S-CULTURE",
        )  # fmt: skip
        yield _issue_act(
            "S-CULTURE", by, leader, date(YEAR, 9, 15), [Goods(novels, 300 * s)], None,
            institution="流长社区农家书屋", category="culture_services",
        )  # fmt: skip


def _pay_of(day: date, fen: int, p: _Person) -> _Pay:
    if p.ref.startswith("P-"):
        return _Pay(day, fen, p.ref, None, protected=True)
    return _Pay(day, fen, p.ref, p.village)


def _firm(rng: random.Random) -> str:
    """An invented company name, like 息烽县鑫源建材有限公司."""
    return (
        "".join(rng.choice(part) for part in (_FIRM_PLACES, _FIRM_CORES, _FIRM_TRADES)) + "有限公司"
    )


def _donation(gift: _Gift, receipt_no: str, *, store: str = "S-RELIEF") -> _Act:
    body: dict[str, Any] = {
        "receipt_no": receipt_no, "date": gift.day.isoformat(),
        "donor_class": gift.donor_class, "consent": gift.donor_name is not None,
    }  # fmt: skip
    if gift.donor_name is not None:
        body["donor_name"] = gift.donor_name
    if gift.purpose:
        body["purpose"] = gift.purpose
    if gift.goods:
        body["store"] = store
        body["goods"] = [g.to_json() for g in gift.goods]
    else:
        body["fund"] = "F-DONATION"
        body["amount"] = gift.amount
    if gift.pledge_no:
        body["pledge_no"] = gift.pledge_no
    if gift.note:
        body["note"] = gift.note
    return _Act(gift.day, gift.by, "donation.receive", body, mark=gift.mark)


def _issue_act(
    store: str, by: str, approver: str, day: date, goods: list[Goods], purpose: str | None,
    *, recipient: str | None = None, institution: str | None = None, category: str = _RELIEF,
) -> _Act:  # fmt: skip
    body: dict[str, Any] = {
        "store": store, "goods": [g.to_json() for g in goods], "category": category,
        "approved_by": approver, "date": day.isoformat(),
    }  # fmt: skip
    if purpose:
        body["purpose"] = purpose
    if recipient:
        body["recipient"] = recipient
    else:
        body["institution"] = institution
    return _Act(day, by, "goods.issue", body)


# --- the July flood ---------------------------------------------------------------------------

_WAVES: tuple[tuple[date, int, str], ...] = (  # first payment day, days it lasts, what is paid
    (date(YEAR, 7, 9), 11, "应急期生活救助"),
    (date(YEAR, 8, 4), 10, "过渡期生活救助"),
    (date(YEAR, 9, 9), 21, "倒损住房维修加固补助"),
    (date(YEAR, 12, 14), 11, "冬春生活救助"),
)
# Per wave: the appropriation that funds it (day, level, doc prefix) and the government's share.
_GOV: tuple[tuple[date, str, str, float], ...] = (
    (date(YEAR, 7, 7), "county", "息财", 1.0),
    (date(YEAR, 7, 15), "city", "筑财社", 0.6),
    (date(YEAR, 8, 12), "province", "黔财社", 0.5),
    (date(YEAR, 11, 20), "central", "财社", 1.0),
)
# Goods the emergency management bureaus sent to the store (per unit of scale).
_GOV_GOODS: tuple[tuple[date, str, tuple[tuple[GoodsKind, int], ...]], ...] = (
    (date(YEAR, 7, 7), "息烽县应急管理局调拨",
     ((_WATER, 200), (_NOODLES, 150), (_QUILT, 300), (_TENT, 20), (_COT, 60))),
    (date(YEAR, 11, 25), "贵阳市应急管理局调拨冬春救助物资", ((_QUILT, 150), (_COAT, 200))),
)  # fmt: skip
_N95_FIXED = date(YEAR, 7, 13)
_DIRECTED_FIXED = date(YEAR, 7, 18)
_UNDIRECTED_FROM = date(YEAR, 8, 1)  # undirected money is spent only once the books are checked


class _FloodPlan:
    """The flood's donations, relief waves and the money behind them, planned up front."""

    def __init__(self, year: _Year, rng: random.Random) -> None:
        self.year = year
        self.rng = rng
        self.gifts: list[tuple[_Gift, str]] = []  # gift, receipt number
        self.pledges: list[_Act] = []
        self.waves: list[list[_Pay]] = []
        self.money: list[_Act] = []
        self.winter: list[_Pay] = []
        self._plan_gifts()
        self._plan_waves()
        self._plan_money()

    # -- donations and pledges --

    def _donor(self) -> tuple[str, str | None]:
        """A donor class and, if the donor agreed to be named, the name."""
        rng = self.rng
        donor_class = rng.choices(
            ("individual", "enterprise", "social_organisation"), (70, 20, 10)
        )[0]
        consent = rng.random() < {"individual": 0.15, "enterprise": 0.75}.get(donor_class, 0.9)
        if not consent:
            return donor_class, None
        if donor_class == "individual":
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        elif donor_class == "enterprise":
            name = _firm(rng)
        else:
            name = rng.choice(_SOCIETIES)
        return donor_class, name

    def _plan_gifts(self) -> None:
        rng, scale = self.rng, self.year.scale
        start = date(YEAR, 7, 7)
        gifts: list[_Gift] = []
        for _ in range(300 * scale):
            day = start + timedelta(days=min(int(rng.expovariate(1 / 8)), 55))
            donor_class, name = self._donor()
            purpose = _RELIEF if rng.random() < 0.6 else None
            by = "recorder" if rng.random() < 0.6 else REVOKED_OFFICIAL
            big = donor_class != "individual"
            if rng.random() < (0.25 if big else 0.05):
                lines = rng.sample(_DONATED_GOODS, rng.randint(1, 3))
                goods = tuple(
                    Goods(kind, max(1, round(q * rng.uniform(0.3, 1.5) * (1 if big else 0.1))))
                    for kind, q in lines
                )
                gifts.append(_Gift(day, by, donor_class, name, purpose, 0, goods))
                continue
            yuan = rng.choice(
                {"individual": (50, 100, 100, 200, 200, 300, 500, 500, 1000, 1000, 2000, 5000),
                 "enterprise": (2000, 5000, 10000, 10000, 20000, 30000, 50000, 100000),
                 }.get(donor_class, (1000, 2000, 5000, 10000, 20000, 50000))
            )  # fmt: skip
            note = "定向用于7·6洪涝灾害受灾群众救助" if purpose and rng.random() < 0.3 else None
            gifts.append(_Gift(day, by, donor_class, name, purpose, _fen(yuan), (), note=note))
        gifts.extend(self._pledged(start))
        gifts.append(
            _Gift(date(YEAR, 7, 9), "recorder", "enterprise", "贵阳筑安医疗器械有限公司", _RELIEF,
                  0, (Goods(_N95, 16000),), note="灾后防疫物资", mark="n95")
        )  # fmt: skip
        gifts.append(
            _Gift(date(YEAR, 7, 12), "recorder", "enterprise", "息烽县恒通建材有限公司", None,
                  _fen(50000), (), mark="directed")
        )  # fmt: skip
        gifts.sort(key=lambda g: g.day)
        self.gifts = [(g, f"LC{YEAR}-{i:06d}") for i, g in enumerate(gifts, start=1)]

    def _pledged(self, start: date) -> Iterator[_Gift]:
        rng = self.rng
        for i in range(1, 15 * self.year.scale + 1):
            day = start + timedelta(days=rng.randrange(5))
            donor_class = rng.choice(("enterprise", "enterprise", "social_organisation"))
            name = _firm(rng) if donor_class == "enterprise" else rng.choice(_SOCIETIES)
            fen = _fen(rng.choice((10000, 20000, 50000, 100000)))
            pledge_no = f"LCP{YEAR}-{i:03d}"
            body: dict[str, Any] = {
                "pledge_no": pledge_no, "fund": "F-DONATION", "donor_class": donor_class,
                "donor_name": name, "consent": True, "amount": fen, "purpose": _RELIEF,
                "date": day.isoformat(),
            }  # fmt: skip
            self.pledges.append(_Act(day, "recorder", "pledge.record", body))
            if rng.random() < 0.7:  # the rest is still outstanding at the end of the year
                paid = day + timedelta(days=rng.randint(3, 25))
                yield _Gift(paid, "recorder", donor_class, name, _RELIEF, fen, (), pledge_no)

    # -- relief paid in waves, and the money behind it --

    def _plan_waves(self) -> None:
        rng = self.rng
        households = self.year.flood
        for w, (first, span, _what) in enumerate(_WAVES):
            pays = []
            for h in households:
                if w == 0:
                    yuan = h.size * (300 if h.rate == 2 else 200)
                elif w == 1 and h.rate >= 1:
                    yuan = h.size * 600
                elif w == 2 and h.rate >= 1:
                    yuan = (
                        rng.randrange(20, 41) * 1000 if h.rate == 2 else rng.randrange(30, 81) * 100
                    )
                elif w == 3 and (h.rate >= 1 or rng.random() < 0.3):
                    yuan = h.size * 150
                else:
                    continue
                day = _workday(first + timedelta(days=rng.randrange(span)))
                pays.append(_Pay(day, _fen(yuan), h.ref, h.village))
            pays.sort(key=lambda p: p.day)
            self.waves.append(pays)
        # One amount typed with an extra zero; corrected a few days later.
        typo = self.waves[0][len(self.waves[0]) // 2]
        self.waves[0][len(self.waves[0]) // 2] = typo._replace(amount=typo.amount * 10, mark="typo")
        self.typo = typo

    def _plan_money(self) -> None:
        """Appropriations sized so that each wave is paid for when it starts."""
        directed: list[tuple[date, int]] = []
        undirected: list[tuple[date, int]] = []
        for gift, _ in self.gifts:
            if gift.mark == "directed":  # booked undirected, counted as directed once corrected
                directed.append((_DIRECTED_FIXED, gift.amount))
            elif gift.amount:
                (directed if gift.purpose else undirected).append((gift.day, gift.amount))
        used = {"gov": 0, "dir": 0, "und": 0}
        gov_in = 0
        for w, ((first, _, what), (day, level, prefix, share)) in enumerate(
            zip(_WAVES, _GOV, strict=True)
        ):
            need = sum(p.amount for p in self.waves[w])
            dir_left = sum(f for d, f in directed if d < first) - used["dir"]
            und_left = (sum(f for d, f in undirected if d < first) - used["und"]
                        if first >= _UNDIRECTED_FROM else 0)  # fmt: skip
            from_gov = min(need, max(round(need * share), need - dir_left - und_left))
            grant = _ceil(from_gov - (gov_in - used["gov"]))
            gov_in += grant
            self.money.append(
                _appropriation(day, "recorder", _doc(prefix, day, 3), level, "F-DISASTER", grant)
            )
            from_dir = min(need - from_gov, dir_left)
            from_und = need - from_gov - from_dir
            if from_und > und_left:
                raise AssertionError("the flood plan would overdraw undirected donations")
            sources = (
                ("F-DISASTER", from_gov, None),
                ("F-DONATION", from_dir, _RELIEF),
                ("F-DONATION", from_und, None),
            )
            for fund, fen, purpose in sources:
                if fen:
                    self.money.append(
                        _allocation(first, "recorder", fund, "P-FLOOD", fen, purpose, what)
                    )
            used["gov"] += from_gov
            used["dir"] += from_dir
            used["und"] += from_und
        # In December part of the idle undirected money goes to winter 临时救助.
        winter = date(YEAR, 12, 1)
        und_left = sum(f for d, f in undirected if d < winter) - used["und"]
        pays, total = [], 0
        for h in self.year.flood[: 10 * self.year.scale]:
            fen = _fen(self.rng.choice((500, 800, 1000, 1500)))
            if total + fen > und_left // 2:
                break
            total += fen
            pays.append(_Pay(_workday(date(YEAR, 12, 3) + timedelta(days=self.rng.randrange(14))),
                             fen, h.ref, h.village))  # fmt: skip
        if total:
            self.money.append(_allocation(winter, "recorder", "F-DONATION", "P-TEMP", total, None,
                                          "冬季临时救助（使用非定向捐赠资金）"))  # fmt: skip
        self.winter = sorted(pays, key=lambda p: p.day)

    # -- goods --

    def _receipts(self) -> list[tuple[date, GoodsKind, str | None, int]]:
        s = self.year.scale
        gov = [(day, k, _RELIEF, q * s) for day, _, lines in _GOV_GOODS for k, q in lines]
        gifts = [
            (_N95_FIXED if g.mark == "n95" else g.day, _KN95 if g.mark == "n95" else line.kind,
             g.purpose, 18000 if g.mark == "n95" else line.quantity)
            for g, _ in self.gifts for line in g.goods
        ]  # fmt: skip
        return sorted(gov + gifts, key=lambda r: r[0])

    def _issues(self) -> list[_Issue]:
        rng, s = self.rng, self.year.scale
        head, leader = self.year.key_id("department-head"), self.year.key_id("leader")
        issues = []
        for h in self.year.flood:
            wants = [(_WATER, rng.randint(1, 2)), (_NOODLES, 1), (_RICE, 1), (_OIL, 1),
                     (_BOOTS, rng.randint(1, h.size))]  # fmt: skip
            if h.rate >= 1:
                wants += [(_QUILT, (h.size + 1) // 2), (_DISINFECTANT, 2)]
            if h.rate == 2:
                wants += [(_TENT, 1), (_COT, rng.randint(1, 2))]
            first = date(YEAR, 7, 8) if h.rate == 2 else date(YEAR, 7, 9)
            day = first + timedelta(days=rng.randrange(12))
            issues.append(
                _Issue(day, tuple(rng.sample(wants, min(len(wants), 4))), h.ref, None, head)
            )
            if h.rate >= 1 and rng.random() < 0.6:
                winter = date(YEAR, 12, 7) + timedelta(days=rng.randrange(12))
                issues.append(_Issue(winter, ((_QUILT, 1), (_COAT, h.size)), h.ref, None, head))
        for day, place, asked, approver in (
            (date(YEAR, 7, 10), "流长镇中心小学", ((_WATER, 30 * s), (_DISINFECTANT, 60 * s)), head),
            (date(YEAR, 7, 15), "流长镇中心小学", ((_KN95, 3000 * s),), head),
            (date(YEAR, 7, 15), "流长镇卫生院", ((_KN95, 8000 * s), (_DISINFECTANT, 100 * s)), leader),
            (date(YEAR, 7, 16), "流长镇敬老院", ((_QUILT, 30 * s), (_KN95, 1000 * s)), leader),
            (date(YEAR, 7, 20), "马场村村民委员会", ((_KN95, 2000 * s), (_BOOTS, 40 * s)), head),
        ):  # fmt: skip
            issues.append(_Issue(day, asked, None, place, approver))
        return sorted(issues, key=lambda i: i.day)

    def _goods(self) -> Iterator[_Act]:
        """Goods out of the store: each issue takes what the store held by the day before."""
        stock: Counter[tuple[GoodsKind, str | None]] = Counter()
        receipts = iter(self._receipts())
        pending = next(receipts, None)
        for issue in self._issues():
            while pending is not None and pending[0] < issue.day:
                stock[pending[1], pending[2]] += pending[3]
                pending = next(receipts, None)
            for purpose in (_RELIEF, None):
                lines = [
                    Goods(k, min(q, stock[k, purpose])) for k, q in issue.wants if stock[k, purpose]
                ]
                if lines:
                    for line in lines:
                        stock[line.kind, purpose] -= line.quantity
                    yield _issue_act(
                        "S-RELIEF", _shehui(issue.day), issue.approver, issue.day, lines, purpose,
                        recipient=issue.recipient, institution=issue.institution,
                    )  # fmt: skip
                    break

    def _fixes(self) -> list[_Act]:
        kn95 = Goods(_KN95, 18000).to_json()
        return [
            _correction(
                _N95_FIXED,
                "recorder",
                "n95",
                "更正说明：原登记为“N95口罩16000个”，经核对捐赠清单与入库实物，应为"
                "“KN95口罩（GB 2626-2019）18000个”，物资品名、规格和数量一并更正。",
                {"goods": [kn95]},
            ),
            _correction(
                _DIRECTED_FIXED,
                "recorder",
                "directed",
                "更正说明：该笔捐赠登记时误记为非定向；捐赠方来函注明定向用于7·6洪涝灾害"
                "受灾群众救助，现更正为定向捐赠。",
                {"purpose": _RELIEF, "note": "定向用于7·6洪涝灾害受灾群众救助"},
            ),
            _correction(
                _workday(self.typo.day + timedelta(days=3)),
                "recorder",
                "typo",
                f"更正说明：经核对花名册，该户应急期生活救助金应为{self.typo.amount // 100}元，"
                f"录入时多录一位误为{self.typo.amount // 10}元，现予更正。",
                {"amount": self.typo.amount},
            ),
        ]

    def _registrations(self) -> list[_Act]:
        """The flood households, registered the day after the flood (低保 ones already are)."""
        day, dibao = date(YEAR, 7, 7), {p.ref for p in self.year.dibao}
        new = {h.ref: h for h in self.year.flood if h.ref not in dibao}
        return [self.year.register(day, _shehui(day), "P-FLOOD", h, "adult") for h in new.values()]

    def _gift(self, gift: _Gift, receipt: str) -> _Act:
        """A donation; an individual who did not consent to be named may be in a sealed part."""
        act = _donation(gift, receipt)
        # Reproducible demo data, not secrets: a seeded generator is the point.
        rng = random.Random(f"gongkai-demo/{self.year.seed}/donor/{receipt}")  # noqa: S311
        if gift.donor_name is None and gift.donor_class == "individual" and rng.random() < 0.5:
            act.sealed = {"donor_name": person_name(rng, rng.random() < 0.5, self.year.public_names)}
            act.subject = donor_subject(receipt)
        return act

    def acts(self) -> Iterator[_Act]:
        gifts = (self._gift(g, receipt) for g, receipt in self.gifts)
        pays = _merge(
            *([_payment("P-FLOOD", p, _shehui(p.day)) for p in wave] for wave in self.waves)
        )
        winter = (_payment("P-TEMP", p, "recorder") for p in self.winter)
        goods_in = [
            _Act(day, "recorder", "goods.receive", {
                "store": "S-RELIEF", "purpose": _RELIEF, "source": source, "date": day.isoformat(),
                "goods": [Goods(k, q * self.year.scale).to_json() for k, q in lines],
            })
            for day, source, lines in _GOV_GOODS
        ]  # fmt: skip
        return _merge(
            self._registrations(), goods_in, _by_day(self.pledges), gifts, _by_day(self.money),
            pays, winter, self._goods(), _by_day(self._fixes()),
        )  # fmt: skip


# --- building -------------------------------------------------------------------------------


def demo_commands(seed: int = 2026, scale: int = 1) -> Iterator[SignedCommand]:
    """The demo year's signed commands, in order, generated lazily (no ledger needed)."""
    return _Year(seed, scale).commands()


def build_demo(
    app: Ledger,
    *,
    seed: int = 2026,
    scale: int = 1,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Found an empty ledger for 流长镇 and record the demo year into it.

    Commands go in all-or-nothing batches of ``CHUNK``; ``progress(n)`` is called after each
    batch with the number of commands it recorded. Building again into the same ledger records
    nothing new (every command's idempotency key is already there).
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    year = _Year(seed, scale)
    commands = year.commands()
    while batch := list(islice(commands, CHUNK)):
        app.submit_batch(batch)
        if progress:
            progress(len(batch))
    return year.summary()
