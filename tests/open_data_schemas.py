"""The official schemas the open-data exports must validate against, read from ``../shared``.

``iati_schema`` loads the IATI 2.03 activity schema (with ``iati-common.xsd`` and ``xml.xsd``
beside it) with lxml, network off. ``giving360_errors`` validates a 360Giving package with
``jsonschema`` (Draft 2020-12): the package schema refers to the grant schema by its public URL
(``…/1.4.2/…``, while the grant schema calls itself ``…/1.4.3/…``), so a ``referencing`` registry
maps both URLs to the local file; a registry fetches nothing by itself, so anything else fails
instead of reaching the network.
The grant schema's dates are ``oneOf`` a date-time or a YYYY-MM-DD pattern, which only tells them
apart when ``format`` is asserted, as 360Giving's own validator does; ``date-time`` is checked
against RFC 3339 here. The schema files are never copied into the repository: without the
folder, the tests that need them skip and say why.
"""

from __future__ import annotations

import functools
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from lxml import etree
from referencing import Registry
from referencing.jsonschema import DRAFT202012

CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
IATI_XSD = CONFORMANCE / "iati-2.03" / "iati-activities-schema.xsd"
GIVING_DIR = CONFORMANCE / "360giving"
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is absent (the conformance files live in ../shared, beside the repository)")


@functools.cache
def _iati() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(IATI_XSD), parser))


def iati_errors(xml: bytes) -> list[str]:
    """Every way ``xml`` breaks the IATI 2.03 activity schema (skips without the schema)."""
    _need(IATI_XSD)
    schema = _iati()
    document = etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))
    if schema.validate(document):
        return []
    return str(schema.error_log).splitlines()


@functools.cache
def _giving360() -> Draft202012Validator:
    package = json.loads((GIVING_DIR / "360-giving-package-schema.json").read_text(encoding="utf-8"))
    grant = json.loads((GIVING_DIR / "360-giving-schema.json").read_text(encoding="utf-8"))
    # Its "$schema" is draft 2020-12 spelt with http://, which referencing does not detect by itself.
    resource = DRAFT202012.create_resource(grant)
    referred = package["properties"]["grants"]["items"]["$ref"]
    # A registry retrieves nothing by itself: any other reference fails instead of being fetched.
    registry: Registry[Any] = Registry().with_resources([(referred, resource), (grant["$id"], resource)])
    formats = FormatChecker(formats=())

    @formats.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or _RFC3339.fullmatch(value) is not None

    return Draft202012Validator(package, registry=registry, format_checker=formats)


def giving360_errors(data: bytes) -> list[str]:
    """Every way ``data`` breaks the 360Giving package schema (skips without the schema)."""
    _need(GIVING_DIR)
    document = json.loads(data, parse_float=Decimal)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _giving360().iter_errors(document)]
