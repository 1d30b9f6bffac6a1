"""The Chinese font embedded in the notice-board sheets: where to find it, and one subset of it.

A PDF printed on the town's notice board must carry its own font, or a printer without Chinese
fonts prints boxes. The default is WenQuanYi Micro Hei (Debian's ``fonts-wqy-microhei``, 1.6 MB,
Apache-2.0 or GPL-3 with the font exception, TrueType outlines, so it embeds as ``FontFile2``);
other free CJK TrueType fonts of Debian are taken when it is missing, and ``gongkai publish
--sheet-font FILE[#INDEX]`` names any other (``#INDEX``: the face of a ``.ttc`` collection).
Without one, publishing stops with a message that says how to install it — never a sheet with
boxes. ``scripts/test.sh`` installs ``fonts-wqy-microhei`` when it is missing.

Parsing a 5 MB CJK font takes a good part of a second, so ``subset`` makes, once per
publication, a small font with just the characters of all the sheets; each sheet then embeds the
subset of that subset it uses. A character the font lacks stops publishing with its code point.
The sheets' bytes depend on the font file: the same checkpoint and the same font give the same
bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import fontTools
from fontTools import subset, ttLib

# Debian's free CJK fonts with TrueType outlines, best first.
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
INSTALL_HINT = "install Debian's fonts-wqy-microhei (apt-get install fonts-wqy-microhei) or give --sheet-font FILE"
_PROBE = "公开栏流长镇"  # a font for the sheets must at least have these


class SheetError(Exception):
    """The notice-board sheets cannot be made (no usable Chinese font, a character it lacks)."""


@dataclass(frozen=True, slots=True)
class FontFile:
    path: Path
    index: int = 0  # the face of a font collection (.ttc)

    @classmethod
    def parse(cls, spec: str) -> FontFile:
        """``/path/font.ttc`` or ``/path/font.ttc#1``."""
        path, _, index = spec.partition("#")
        if index and not index.isdigit():
            raise SheetError(f"--sheet-font {spec!r}: the face index after # must be a number")
        return cls(Path(path), int(index or 0))

    def open(self) -> ttLib.TTFont:
        try:
            return ttLib.TTFont(self.path, fontNumber=self.index, recalcTimestamp=False)
        except (OSError, ttLib.TTLibError) as error:
            raise SheetError(f"{self.path}: not a font the sheets can use ({error})") from None


def find_font(given: FontFile | None = None) -> FontFile:
    """The given font (checked), else the first Chinese font of ``CANDIDATES`` that is installed."""
    if given is not None:
        if not given.path.is_file():
            raise SheetError(f"--sheet-font {given.path}: no such file")
        if missing(given, _PROBE):
            raise SheetError(f"--sheet-font {given.path}: the font has no Chinese characters")
        return given
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return FontFile(Path(candidate))
    raise SheetError(f"no Chinese font for the notice-board sheets was found: {INSTALL_HINT}")


def missing(font: FontFile, text: str) -> list[str]:
    """The characters of ``text`` (other than white space) that ``font`` has no glyph for."""
    cmap = font.open().getBestCmap()
    return sorted({c for c in text if not c.isspace() and ord(c) not in cmap})


def subset_font(font: FontFile, text: str, into: Path, cache: Path | None = None) -> Path:
    """Write into ``into`` a TrueType font with just the glyphs of ``text``; return ``into``.

    ``cache``: a folder that keeps each subset made, by a digest of the font file, the face,
    the characters and the subsetter's version; a subset already there is returned as it is
    (parsing and subsetting a CJK font is most of the sheets' work, and a publish after a
    few events needs the same characters as the last one). Equal keys give equal bytes."""
    if cache is not None:
        key = hashlib.sha256(b"\0".join([hashlib.sha256(font.path.read_bytes()).digest(), str(font.index).encode(),
                                         "".join(sorted(set(text))).encode(), fontTools.version.encode()]))  # fmt: skip
        kept = cache / f"{key.hexdigest()}.ttf"
        if kept.is_file():
            return kept
        cache.mkdir(parents=True, exist_ok=True)
        made = subset_font(font, text, into)
        partial = kept.with_suffix(f".{os.getpid()}.partial")
        shutil.copyfile(made, partial)
        os.replace(partial, kept)  # whole or not at all, should two publishes make it at once
        return made
    tt = font.open()
    cmap = tt.getBestCmap()
    lacking = sorted({c for c in text if not c.isspace() and ord(c) not in cmap})
    if lacking:
        shown = "、".join(f"{c} (U+{ord(c):04X})" for c in lacking[:10])
        raise SheetError(f"the font {font.path} lacks {shown}; give --sheet-font a font that has them")
    options = subset.Options()
    options.drop_tables += ["FFTM"]  # FontForge's timestamp: not needed, and fontTools warns about it
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(tt)
    tt.save(into)
    return into
