"""The publishing organisation as the open-data standards name it: the town's people's government.

IATI and 360Giving identify an organisation as ``<registration agency prefix>-<number>``: for
China the agency is the unified social credit code register (统一社会信用代码, GB 32100), prefix
``CN-USCC``. (The DAC prefix ``XM-DAC-`` is for donor agencies, not a town.)

``DEMO_CREDIT_CODE`` is **made up for the demo**: it has the right shape and check characters
(``1`` 机构编制, ``1`` 机关, ``520122`` 息烽县, the organisation code ``DEMX0001`` with its GB 11714
check character, then the GB 32100 check character) but belongs to nobody; the letters ``DEMX``
say so. A real town passes its own code with ``gongkai publish --org-id CN-USCC-…``.
Nothing here reads the environment or the log.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import MalformedCommand
from ledger.identity import check_credit_code

PREFIX = "CN-USCC-"
DEMO_CREDIT_CODE = "11520122DEMX00014H"
DEMO_ORG_ID = PREFIX + DEMO_CREDIT_CODE


class OrganisationError(ValueError):
    """An organisation identifier that is not ``CN-USCC-`` + a valid unified social credit code."""


@dataclass(frozen=True, slots=True)
class Organisation:
    """The publisher and funder: ``ref`` is its identifier, ``name`` its Chinese name."""

    ref: str
    name: str

    @classmethod
    def of_town(cls, jurisdiction: str, org_id: str = DEMO_ORG_ID) -> Organisation:
        """流长镇 → 流长镇人民政府 with the given (checked) identifier."""
        return cls(check_org_id(org_id), f"{jurisdiction}人民政府")

    @property
    def is_demo(self) -> bool:
        return self.ref == DEMO_ORG_ID


def check_org_id(org_id: str) -> str:
    """``CN-USCC-`` followed by a unified social credit code whose check character holds."""
    if not org_id.startswith(PREFIX):
        raise OrganisationError(f"an organisation identifier must start with {PREFIX} (got {org_id!r})")
    try:
        check_credit_code(org_id.removeprefix(PREFIX), "org-id")
    except MalformedCommand as error:
        raise OrganisationError(str(error)) from None
    return org_id
