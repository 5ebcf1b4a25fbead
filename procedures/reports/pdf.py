"""PDF summaries with ReportLab: a title page (period, time zone, generation time), summary
tables and a bar chart. CPU-bound: the worker runs `build_pdf` in a thread."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from procedures.reports.jobs import Job
from procedures.reports.schemas import Hotspots, TrafficVolume, UptimeReport, ViolationStats

TITLES = {
    "VIOLATIONS_SUMMARY": "Violations summary",
    "TRAFFIC_VOLUME": "Traffic volume",
    "SENSOR_UPTIME": "Sensor uptime",
    "EVENTS_EXPORT": "Events export",
}
MAX_TABLE_ROWS = 400  # a PDF is for reading; the CSV and JSON formats carry every row
MAX_CHART_BARS = 60

_STYLES = getSampleStyleSheet()
_TITLE = ParagraphStyle("ReportTitle", parent=_STYLES["Title"], fontSize=26, leading=32, spaceAfter=24)
_BODY = _STYLES["BodyText"]
_HEADING = _STYLES["Heading2"]
_TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3b57")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef2f6")]),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa8b5")),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("REPEATROWS", (0, 0), (-1, 0)),
    ]
)


def _text(value: str) -> str:
    """Escape for ReportLab's mini-markup (names come from users)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _local(iso: str, zone: ZoneInfo) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M %Z (UTC%z)")


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}%"


def _table(header: list[str], rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    cells = [header] + [[_cell(value) for value in row] for row in rows[:MAX_TABLE_ROWS]]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(_TABLE_STYLE)
    return table


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return Paragraph(_text(value), _BODY) if len(value) > 40 else value
    return value


def _bar_chart(title: str, labels: list[str], values: list[float]) -> Drawing:
    """A bar chart of at most MAX_CHART_BARS bars: a longer series is summed into groups of
    consecutive buckets, each labelled with its first bucket."""
    if len(values) > MAX_CHART_BARS:
        step = -(-len(values) // MAX_CHART_BARS)
        labels = [labels[i] for i in range(0, len(labels), step)]
        values = [sum(values[i : i + step]) for i in range(0, len(values), step)]
    drawing = Drawing(17 * cm, 8 * cm)
    chart = VerticalBarChart()
    chart.x, chart.y = int(1.5 * cm), int(1.8 * cm)
    chart.width, chart.height = int(15 * cm), int(5.2 * cm)
    chart.data = [values or [0]]
    chart.valueAxis.valueMin = 0
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.angle = 60 if len(labels) > 8 else 0
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 8 else "n"
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#2f6f9f")
    drawing.add(chart)
    drawing.add(String(1.5 * cm, 7.5 * cm, title, fontName="Helvetica-Bold", fontSize=10))
    return drawing


def _title_page(job: Job, now: int, zone: ZoneInfo, headline: list[tuple[str, str]]) -> list[Flowable]:
    generated = datetime.fromtimestamp(now / 1000, zone).strftime("%Y-%m-%d %H:%M %Z")
    from_iso = datetime.fromtimestamp(job.start / 1000, ZoneInfo("UTC")).isoformat()
    to_iso = datetime.fromtimestamp(job.end / 1000, ZoneInfo("UTC")).isoformat()
    lines = [
        ("Period", f"{_local(from_iso, zone)} to {_local(to_iso, zone)}"),
        ("Time zone", job.zone),
        ("Generated", generated),
        ("Report id", job.id),
        *headline,
    ]
    story: list[Flowable] = [Spacer(1, 4 * cm), Paragraph(_text(TITLES[job.type]), _TITLE)]
    facts = Table(
        [[Paragraph(f"<b>{_text(k)}</b>", _BODY), Paragraph(_text(v), _BODY)] for k, v in lines],
        colWidths=[4 * cm, 12 * cm],
    )
    facts.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa8b5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(facts)
    story.append(PageBreak())
    return story


def _violations(
    result: ViolationStats, spots: Hotspots | None
) -> tuple[list[tuple[str, str]], list[Flowable]]:
    headline = [("Total violations", str(result.total)), ("Coverage", _percent(result.coverage))]
    story: list[Flowable] = [Paragraph("Violations by type", _HEADING)]
    story.append(
        _table(
            ["Type", "Violations"], [[t.type, t.count] for t in result.by_type] + [["Total", result.total]]
        )
    )
    review = result.by_review
    story += [
        Spacer(1, 0.5 * cm),
        Paragraph("Review state", _HEADING),
        _table(["Pending", "Confirmed", "Rejected"], [[review.pending, review.confirmed, review.rejected]]),
    ]
    story += [
        Spacer(1, 0.5 * cm),
        _bar_chart(
            f"Violations per {result.group_by}",
            [b.label for b in result.buckets],
            [b.count for b in result.buckets],
        ),
    ]
    story += [
        PageBreak(),
        Paragraph(f"Violations per {result.group_by}", _HEADING),
        _table(
            ["Period", "Violations", "Coverage"],
            [[b.label, b.count, _percent(b.coverage)] for b in result.buckets],
        ),
    ]
    if spots is not None and spots.hotspots:
        story += [
            Spacer(1, 0.5 * cm),
            Paragraph("Hotspots", _HEADING),
            _table(
                ["Location", "Violations", "Coverage"],
                [[h.name, h.violations, _percent(h.coverage)] for h in spots.hotspots],
            ),
        ]
    return headline, story


def _volume(result: TrafficVolume) -> tuple[list[tuple[str, str]], list[Flowable]]:
    speed = "n/a" if result.average_speed_kmh is None else f"{result.average_speed_kmh:.1f} km/h"
    headline = [
        ("Total vehicles", str(result.total)),
        ("Average speed", speed),
        ("Coverage", _percent(result.coverage)),
    ]
    story: list[Flowable] = [
        Paragraph("Vehicles by class", _HEADING),
        _table(
            ["Class", "Vehicles"],
            [[c.vehicle_class or "unknown", c.count] for c in result.by_vehicle_class]
            + [["Total", result.total]],
        ),
    ]
    story += [
        Spacer(1, 0.5 * cm),
        _bar_chart(
            f"Vehicles per {result.group_by}",
            [b.label for b in result.buckets],
            [b.count for b in result.buckets],
        ),
    ]
    story += [
        PageBreak(),
        Paragraph(f"Vehicles per {result.group_by}", _HEADING),
        _table(
            ["Period", "Vehicles", "Avg speed (km/h)", "Coverage"],
            [
                [
                    b.label,
                    b.count,
                    "" if b.average_speed_kmh is None else b.average_speed_kmh,
                    _percent(b.coverage),
                ]
                for b in result.buckets
            ],
        ),
    ]
    return headline, story


def _uptime(result: UptimeReport) -> tuple[list[tuple[str, str]], list[Flowable]]:
    headline = [("Sensors", str(len(result.sensors))), ("Overall uptime", _percent(result.uptime))]
    ranked = sorted(result.sensors, key=lambda s: (s.uptime if s.uptime is not None else 2.0, s.name))
    story: list[Flowable] = [
        _bar_chart(
            "Uptime (%) of the least available sensors",
            [s.name[:16] for s in ranked[:MAX_CHART_BARS]],
            [round((s.uptime or 0) * 100, 1) for s in ranked[:MAX_CHART_BARS]],
        ),
        Paragraph("Sensors", _HEADING),
        _table(
            ["Sensor", "Type", "Status", "Uptime", "Online h", "Changes"],
            [
                [
                    s.name,
                    s.type,
                    s.status,
                    _percent(s.uptime),
                    round(s.online_ms / 3_600_000, 1),
                    s.status_changes,
                ]
                for s in result.sensors
            ],
        ),
    ]
    return headline, story


def build_pdf(job: Job, result: Any, spots: Hotspots | None, now: int) -> bytes:
    """The report as PDF bytes."""
    zone = ZoneInfo(job.zone)
    if isinstance(result, ViolationStats):
        headline, body = _violations(result, spots)
    elif isinstance(result, TrafficVolume):
        headline, body = _volume(result)
    else:
        headline, body = _uptime(result)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"TVMS - {TITLES[job.type]}",
        author="TVMS",
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
    )
    document.build(_title_page(job, now, zone, headline) + body)
    return buffer.getvalue()
