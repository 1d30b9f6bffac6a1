"""Reading a notice-board sheet back as a person or a phone would: its text (pypdf), the fonts it
embeds, and its QR code (rendered with poppler's ``pdftoppm``, read with ``zbarimg``; tests that
need those skip where they are missing — ``scripts/test.sh`` installs them)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader


def sheet_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def flat(text: str) -> str:
    """Text without white space: a title may wrap anywhere on a sheet."""
    return "".join(text.split())


def embedded_fonts(pdf: bytes) -> list[dict[str, Any]]:
    """Each font of each page: its name and which font-file stream (FontFile2/FontFile3) it embeds."""
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources: Any = page["/Resources"].get_object()
        for ref in resources["/Font"].get_object().values():
            font: Any = ref.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described["/FontDescriptor"].get_object()
            streams = [k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor]
            length = len(descriptor[streams[0]].get_object().get_data()) if streams else 0
            found.append({"name": str(font["/BaseFont"]), "streams": streams, "bytes": length})
    return found


def qr_payloads(pdf: bytes) -> list[str]:
    """What the QR codes on the sheet's first page say."""
    tools = [shutil.which("pdftoppm"), shutil.which("zbarimg")]
    if not all(tools):
        pytest.skip("pdftoppm (poppler-utils) and zbarimg (zbar-tools) are needed to read a QR code")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "sheet.pdf"
        source.write_bytes(pdf)
        subprocess.run([str(tools[0]), "-r", "150", "-png", "-f", "1", "-l", "1", str(source),
                        str(Path(folder) / "page")], check=True)  # fmt: skip
        [image] = sorted(Path(folder).glob("page*.png"))
        read = subprocess.run([str(tools[1]), "--quiet", "--raw", str(image)], capture_output=True, text=True,
                              check=False)  # fmt: skip
    return [line for line in read.stdout.splitlines() if line]
