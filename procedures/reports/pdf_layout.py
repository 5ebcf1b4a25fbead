"""What every PDF page of a report shares: the organisation's header, "page x of y", an embedded
Unicode font, the configured date and time formats, and human labels for codes.

The font is DejaVu Sans (Debian's `fonts-dejavu-core`, installed by `.ci/run`), embedded in the
file, so Cyrillic and Kazakh place names print on any reader; ReportLab's standard fonts cover
Latin-1 only. The organisation (`app.name`, `app.logo`) and the formats (`app.dateFormat`,
`app.timeFormat`) come from the settings.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from reportlab.lib import colors
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from tvms.db import Database

log = logging.getLogger("tvms.reports")

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"))
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
_DATE = {
    "DD/MM/YYYY": "%d/%m/%Y",
    "MM/DD/YYYY": "%m/%d/%Y",
    "YYYY-MM-DD": "%Y-%m-%d",
    "DD.MM.YYYY": "%d.%m.%Y",
}
_TIME = {"24h": "%H:%M", "12h": "%I:%M %p"}
_LABELS = {
    "ANPR_READ": "Plate read",
    "SPEEDING": "Speeding",
    "RED_LIGHT": "Red light",
    "WRONG_WAY": "Wrong way",
    "ILLEGAL_PARKING": "Illegal parking",
    "LANE_VIOLATION": "Lane violation",
    "NO_HELMET": "No helmet",
    "NO_SEATBELT": "No seat belt",
    "MOBILE_PHONE": "Mobile phone use",
    "STOPPED_VEHICLE": "Stopped vehicle",
    "CONGESTION": "Congestion",
    "TRAFFIC_COUNT": "Traffic count",
    "CAMERA_TAMPER": "Camera tampering",
    "VIDEO_LOSS": "Video loss",
    "ANPR": "ANPR camera",
    "NVR": "Video recorder (NVR)",
    "EDGE_CONTROLLER": "Edge gateway",
    "SPEED_DETECTOR": "Speed detector",
}
_SETTINGS = ("app.name", "app.logo", "app.dateFormat", "app.timeFormat")
_LOGO_TYPES = ("data:image/png;base64,", "data:image/jpeg;base64,")


def fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans, registered once, else Helvetica (Latin-1 only)."""
    if REGULAR in pdfmetrics.getRegisteredFontNames():
        return REGULAR, BOLD
    for directory in FONT_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont(REGULAR, str(regular)))
            pdfmetrics.registerFont(TTFont(BOLD, str(bold)))
            pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
            return REGULAR, BOLD
    log.warning("DejaVu Sans not found (install fonts-dejavu-core): PDF reports print Latin-1 only")
    return "Helvetica", "Helvetica-Bold"


def label(code: str | None) -> str:
    """A code as a person reads it: `NO_SEATBELT` → "No seat belt", `car` → "Car"."""
    if not code:
        return "Unknown"
    return _LABELS.get(code) or code.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Branding:
    """The organisation and formats a report is printed with (from the settings)."""

    name: str = "Smart City TVMS"
    logo: bytes | None = None
    date_format: str = "DD/MM/YYYY"
    time_format: str = "24h"

    def date(self, moment: datetime) -> str:
        return moment.strftime(_DATE.get(self.date_format, "%d/%m/%Y"))

    def time(self, moment: datetime) -> str:
        return moment.strftime(_TIME.get(self.time_format, "%H:%M"))

    def datetime(self, moment: datetime) -> str:
        return f"{self.date(moment)} {self.time(moment)}"


def logo_bytes(value: Any) -> bytes | None:
    """The image of a `data:image/png|jpeg;base64,…` logo. Other URLs are not fetched: the report
    worker makes no outbound requests."""
    if not isinstance(value, str) or not value.startswith(_LOGO_TYPES):
        return None
    try:
        data = base64.b64decode(value.split(",", 1)[1], validate=True)
        ImageReader(io.BytesIO(data)).getSize()  # a broken image is left out, not a failed report
    except (binascii.Error, OSError, ValueError):
        return None
    return data


async def branding(db: Database) -> Branding:
    """The organisation's name, logo and date/time formats from the settings (defaults if unset)."""
    rows = await db.fetch(
        "SELECT key, value FROM settings WHERE key IN (:a, :b, :c, :d)",
        dict(zip("abcd", _SETTINGS, strict=True)),
    )
    values = {row["key"]: msgspec.json.decode(row["value"]) for row in rows}
    default = Branding()
    name = values.get("app.name")
    return Branding(
        name=name if isinstance(name, str) and name.strip() else default.name,
        logo=logo_bytes(values.get("app.logo")),
        date_format=str(values.get("app.dateFormat") or default.date_format),
        time_format=str(values.get("app.timeFormat") or default.time_format),
    )


def local(iso: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone)


def page_canvas(brand: Branding, title: str, footer: str) -> type[Canvas]:
    """A canvas class drawing the header (logo, organisation, report title) and the footer
    ("page x of y") on every page: pages are kept until the end, when their count is known."""
    regular, bold = fonts()

    class ReportCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["initialFontName"] = regular  # else every page names Helvetica (Latin-1 only)
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # ReportLab's own page reset

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            width, height = self._pagesize  # type: ignore[attr-defined]
            top = height - 1.2 * cm
            x = 2 * cm
            if brand.logo is not None:
                image = ImageReader(io.BytesIO(brand.logo))
                w, h = image.getSize()
                scale = min(1.0 * cm / max(h, 1), 3 * cm / max(w, 1))
                self.drawImage(image, x, top - h * scale + 0.35 * cm, w * scale, h * scale, mask="auto")
                x += w * scale + 0.3 * cm
            self.setFont(bold, 10)
            self.setFillColor(colors.HexColor("#1f3b57"))
            self.drawString(x, top, brand.name)
            self.setFont(regular, 9)
            self.drawRightString(width - 2 * cm, top, title)
            self.setStrokeColor(colors.HexColor("#9aa8b5"))
            self.setLineWidth(0.5)
            self.line(2 * cm, top - 0.3 * cm, width - 2 * cm, top - 0.3 * cm)
            self.line(2 * cm, 1.5 * cm, width - 2 * cm, 1.5 * cm)
            self.setFont(regular, 8)
            self.setFillColor(colors.HexColor("#4a5a6a"))
            self.drawString(2 * cm, 1.0 * cm, footer)
            self.drawRightString(width - 2 * cm, 1.0 * cm, f"Page {number} of {total}")

    return ReportCanvas
