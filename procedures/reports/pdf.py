"""PDF summaries with ReportLab, fit to send to a city council: the organisation's header and
"page x of y" on every page (`pdf_layout`), a title page (period, time zone, generation time,
headline figures), tables with human labels and the configured date and time formats, bar
charts, and an honest empty state. CPU-bound: the worker runs `build_pdf` in a thread."""

from __future__ import annotations

import io
from collections.abc import Sequence
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
from procedures.reports.pdf_layout import Branding, fonts, label, local, page_canvas
from procedures.reports.schemas import Hotspots, TrafficVolume, UptimeReport, ViolationStats

TITLES = {
    "VIOLATIONS_SUMMARY": "Violations summary",
    "TRAFFIC_VOLUME": "Traffic volume",
    "SENSOR_UPTIME": "Sensor uptime",
    "EVENTS_EXPORT": "Events export",
}
MAX_TABLE_ROWS = 400  # a PDF is for reading; the CSV and JSON formats carry every row
MAX_CHART_BARS = 60
NOT_OBSERVED = "not observed"
COVERAGE_NOTE = (
    "Coverage: the share of the time the sensors in scope were online. "
    f"“{NOT_OBSERVED}”: no sensor was installed then, so a count there says nothing."
)


class _Styles:
    """Paragraph and table styles in the embedded font."""

    def __init__(self) -> None:
        regular, bold = fonts()
        base = getSampleStyleSheet()
        self.regular, self.bold = regular, bold
        self.title = ParagraphStyle(
            "ReportTitle", parent=base["Title"], fontName=bold, fontSize=26, leading=32, spaceAfter=24
        )
        self.body = ParagraphStyle("ReportBody", parent=base["BodyText"], fontName=regular)
        self.cell = ParagraphStyle("ReportCell", parent=self.body, fontSize=8, leading=10)
        self.note = ParagraphStyle(
            "ReportNote", parent=self.body, fontSize=8, textColor=colors.HexColor("#4a5a6a")
        )
        self.heading = ParagraphStyle("ReportHeading", parent=base["Heading2"], fontName=bold)
        self.empty = ParagraphStyle(
            "ReportEmpty",
            parent=self.body,
            fontSize=11,
            leading=15,
            borderColor=colors.HexColor("#9aa8b5"),
            borderWidth=0.5,
            borderPadding=8,
            backColor=colors.HexColor("#f5f7f9"),
            spaceBefore=8,
            spaceAfter=12,
        )
        self.table = TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), bold, 9),
                ("FONT", (0, 1), (-1, -1), regular, 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3b57")),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef2f6")]),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa8b5")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )


def _text(value: str) -> str:
    """Escape for ReportLab's mini-markup (names come from users)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _percent(share: float | None) -> str:
    return NOT_OBSERVED if share is None else f"{share * 100:.1f}%"


class _Report:
    """One report's story, in its zone, formats and font."""

    def __init__(self, job: Job, brand: Branding, zone: ZoneInfo) -> None:
        self.job, self.brand, self.zone = job, brand, zone
        self.styles = _Styles()

    # -- building blocks ----------------------------------------------------------------------
    def table(
        self,
        header: list[str],
        rows: Sequence[Sequence[Any]],
        widths: list[float] | None = None,
        text_columns: int = 1,
    ) -> list[Flowable]:
        """A table whose first `text_columns` columns are text (left) and the rest figures (right)."""
        shown = rows[:MAX_TABLE_ROWS]
        cells = [header] + [[self._cell(value) for value in row] for row in shown]
        table = Table(cells, colWidths=widths, repeatRows=1)
        table.setStyle(self.styles.table)
        table.setStyle(TableStyle([("ALIGN", (text_columns, 1), (-1, -1), "RIGHT")]))
        story: list[Flowable] = [table]
        if len(rows) > len(shown):
            story.append(
                Paragraph(
                    f"The first {len(shown):,} of {len(rows):,} rows;"
                    " the CSV and JSON formats hold them all.",
                    self.styles.note,
                )
            )
        return story

    def _cell(self, value: Any) -> Any:
        if isinstance(value, str):
            return Paragraph(_text(value), self.styles.cell) if len(value) > 40 else value  # wraps
        if isinstance(value, int):
            return f"{value:,}"
        return value

    def empty(self, message: str) -> Paragraph:
        return Paragraph(_text(message), self.styles.empty)

    def chart(self, title: str, labels: list[str], values: list[float], unit: str = "") -> Flowable:
        """A bar chart of at most MAX_CHART_BARS bars (a longer series is summed into groups of
        consecutive buckets, each labelled with its first); a note when every value is zero."""
        if not values or not any(values):
            return self.empty(f"{title}: nothing was recorded in this period, so there is no chart.")
        if len(values) > MAX_CHART_BARS:
            step = -(-len(values) // MAX_CHART_BARS)
            labels = [labels[i] for i in range(0, len(labels), step)]
            values = [sum(values[i : i + step]) for i in range(0, len(values), step)]
        drawing = Drawing(17 * cm, 8 * cm)
        chart = VerticalBarChart()
        chart.x, chart.y = int(1.5 * cm), int(1.8 * cm)
        chart.width, chart.height = int(15 * cm), int(5.2 * cm)
        chart.data = [values]
        chart.valueAxis.valueMin = 0
        chart.valueAxis.labels.fontName = self.styles.regular
        chart.valueAxis.labels.fontSize = 7
        chart.categoryAxis.categoryNames = labels
        chart.categoryAxis.labels.fontName = self.styles.regular
        chart.categoryAxis.labels.angle = 60 if len(labels) > 8 else 0
        chart.categoryAxis.labels.fontSize = 6
        chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 8 else "n"
        chart.bars[0].fillColor = colors.HexColor("#2f6f9f")
        drawing.add(chart)
        heading = title + (f" ({unit})" if unit else "")
        drawing.add(String(1.5 * cm, 7.5 * cm, heading, fontName=self.styles.bold, fontSize=10))
        return drawing

    def period_label(self, start: str, group_by: str, first_offset: Any) -> str:
        moment = local(start, self.zone)
        if group_by == "hour":
            text = self.brand.datetime(moment)
            # Around a daylight-saving change an hour repeats: say which one.
            return text if moment.utcoffset() == first_offset else f"{text} ({moment.strftime('%Z')})"
        if group_by == "week":
            return f"Week of {self.brand.date(moment)}"
        if group_by == "month":
            return moment.strftime("%B %Y")
        return self.brand.date(moment)

    def labels(self, buckets: Sequence[Any], group_by: str) -> list[str]:
        first = local(buckets[0].start, self.zone).utcoffset() if buckets else None
        return [self.period_label(b.start, group_by, first) for b in buckets]

    # -- pages --------------------------------------------------------------------------------
    def title_page(self, now: int, headline: list[tuple[str, str]]) -> list[Flowable]:
        job, brand, zone = self.job, self.brand, self.zone
        start = datetime.fromtimestamp(job.start / 1000, zone)
        end = datetime.fromtimestamp(job.end / 1000, zone)
        generated = datetime.fromtimestamp(now / 1000, zone)
        lines = [
            ("Organisation", brand.name),
            ("Period", f"{brand.datetime(start)} to {brand.datetime(end)}"),
            ("Time zone", f"{job.zone} (UTC{start.strftime('%z')[:3]}:{start.strftime('%z')[3:]})"),
            ("Generated", brand.datetime(generated)),
            ("Report id", job.id),
            *headline,
        ]
        body = self.styles.body
        facts = Table(
            [[Paragraph(f"<b>{_text(k)}</b>", body), Paragraph(_text(v), body)] for k, v in lines],
            colWidths=[4 * cm, 12 * cm],
        )
        facts.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), self.styles.regular, 10),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa8b5")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return [Spacer(1, 3 * cm), Paragraph(_text(TITLES[job.type]), self.styles.title), facts, PageBreak()]

    def violations(
        self, result: ViolationStats, spots: Hotspots | None
    ) -> tuple[list[tuple[str, str]], list[Flowable]]:
        headline = [("Total violations", f"{result.total:,}"), ("Coverage", _percent(result.coverage))]
        heading = self.styles.heading
        story: list[Flowable] = [Paragraph("Violations by type", heading)]
        if result.total == 0:
            story.append(self.empty(self._nothing("No violations were recorded", result.coverage)))
        else:
            rows = [[label(t.type), t.count] for t in result.by_type] + [["Total", result.total]]
            story += self.table(["Type", "Violations"], rows)
            review = result.by_review
            story += [Spacer(1, 0.5 * cm), Paragraph("Review state", heading)]
            story += self.table(
                ["Pending", "Confirmed", "Rejected"], [[review.pending, review.confirmed, review.rejected]]
            )
        labels = self.labels(result.buckets, result.group_by)
        story += [
            Spacer(1, 0.5 * cm),
            self.chart(f"Violations per {result.group_by}", labels, [b.count for b in result.buckets]),
        ]
        story += [PageBreak(), Paragraph(f"Violations per {result.group_by}", heading)]
        story += self.table(
            ["Period", "Violations", "Coverage"],
            [[text, b.count, _percent(b.coverage)] for text, b in zip(labels, result.buckets, strict=True)],
        )
        story.append(Paragraph(_text(COVERAGE_NOTE), self.styles.note))
        if spots is not None:
            story += [Spacer(1, 0.5 * cm), Paragraph("Hotspots", heading)]
            story += self.hotspots(spots)
        return headline, story

    def hotspots(self, spots: Hotspots) -> list[Flowable]:
        if not spots.hotspots:
            return [self.empty("No location recorded a violation in this period.")]
        rows, rank, previous = [], 0, None
        for position, spot in enumerate(spots.hotspots, start=1):
            if spot.violations != previous:  # equal counts share a rank (1, 2, 2, 4)
                rank, previous = position, spot.violations
            rows.append([str(rank), spot.name, spot.violations, _percent(spot.coverage)])
        widths = [1.5 * cm, 9.5 * cm, 3 * cm, 3 * cm]
        story = self.table(["Rank", "Location", "Violations", "Coverage"], rows, widths, text_columns=2)
        ranks = [str(row[0]) for row in rows]
        tied = sorted({r for r in ranks if ranks.count(r) > 1}, key=int)
        if tied:
            places = ", ".join(f"{r} ({ranks.count(r)} locations)" for r in tied)
            story.append(
                Paragraph(
                    _text(f"Tied ranks: {places}. Every location of a tie is listed."), self.styles.note
                )
            )
        return story

    def volume(self, result: TrafficVolume) -> tuple[list[tuple[str, str]], list[Flowable]]:
        speed = (
            "no speed readings"
            if result.average_speed_kmh is None
            else f"{result.average_speed_kmh:.1f} km/h"
        )
        headline = [
            ("Total vehicles", f"{result.total:,}"),
            ("Average speed", speed),
            ("Coverage", _percent(result.coverage)),
        ]
        heading = self.styles.heading
        story: list[Flowable] = [Paragraph("Vehicles by class", heading)]
        if result.total == 0:
            story.append(self.empty(self._nothing("No vehicles were counted", result.coverage)))
        else:
            rows = [[label(c.vehicle_class), c.count] for c in result.by_vehicle_class] + [
                ["Total", result.total]
            ]
            story += self.table(["Class", "Vehicles"], rows)
        labels = self.labels(result.buckets, result.group_by)
        story += [
            Spacer(1, 0.5 * cm),
            self.chart(f"Vehicles per {result.group_by}", labels, [b.count for b in result.buckets]),
        ]
        story += [PageBreak(), Paragraph(f"Vehicles per {result.group_by}", heading)]
        story += self.table(
            ["Period", "Vehicles", "Avg speed (km/h)", "Coverage"],
            [
                [
                    text,
                    b.count,
                    "none" if b.average_speed_kmh is None else f"{b.average_speed_kmh:.1f}",
                    _percent(b.coverage),
                ]
                for text, b in zip(labels, result.buckets, strict=True)
            ],
        )
        story.append(Paragraph(_text(COVERAGE_NOTE), self.styles.note))
        return headline, story

    def uptime(self, result: UptimeReport) -> tuple[list[tuple[str, str]], list[Flowable]]:
        headline = [("Sensors", f"{len(result.sensors):,}"), ("Overall uptime", _percent(result.uptime))]
        if not result.sensors:
            return headline, [self.empty("No sensor existed in this period.")]
        observed = [s for s in result.sensors if s.uptime is not None]
        ranked = sorted(observed, key=lambda s: (s.uptime or 0.0, s.name))[:MAX_CHART_BARS]
        story: list[Flowable] = [
            self.chart(
                "Uptime of the least available sensors",
                [s.name[:16] for s in ranked],
                [round((s.uptime or 0) * 100, 1) for s in ranked],
                unit="%",
            ),
            Paragraph("Sensors", self.styles.heading),
        ]
        story += self.table(
            ["Sensor", "Type", "Status now", "Uptime", "Online (h)", "Changes"],
            [
                [
                    s.name,
                    label(s.type),
                    label(s.status),
                    _percent(s.uptime),
                    f"{s.online_ms / 3_600_000:,.1f}",
                    s.status_changes,
                ]
                for s in result.sensors
            ],
            [5 * cm, 2.9 * cm, 2.5 * cm, 2.3 * cm, 2.1 * cm, 2.2 * cm],
            text_columns=3,
        )
        story.append(
            Paragraph(
                _text(
                    "Uptime: the share of the period each sensor was online;"
                    f" “{NOT_OBSERVED}”: it was not installed yet."
                ),
                self.styles.note,
            )
        )
        return headline, story

    @staticmethod
    def _nothing(what: str, coverage: float | None) -> str:
        if coverage is None:
            return f"{what}: no sensor in scope was installed during this period."
        if coverage == 0:
            return f"{what}, but no sensor in scope was online during this period: the zero says nothing."
        return f"{what} in this period (sensors were online {coverage * 100:.1f}% of the time)."


def build_pdf(
    job: Job, result: Any, spots: Hotspots | None, now: int, brand: Branding | None = None
) -> bytes:
    """The report as PDF bytes, printed for `brand` (the organisation, from the settings)."""
    brand = brand or Branding()
    zone = ZoneInfo(job.zone)
    report = _Report(job, brand, zone)
    if isinstance(result, ViolationStats):
        headline, body = report.violations(result, spots)
    elif isinstance(result, TrafficVolume):
        headline, body = report.volume(result)
    else:
        headline, body = report.uptime(result)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{brand.name} - {TITLES[job.type]}",
        author=brand.name,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2.2 * cm,
        bottomMargin=2.2 * cm,
    )
    generated = brand.datetime(datetime.fromtimestamp(now / 1000, zone))
    footer = f"{TITLES[job.type]} · generated {generated} · {job.id}"
    document.build(
        report.title_page(now, headline) + body, canvasmaker=page_canvas(brand, TITLES[job.type], footer)
    )
    return buffer.getvalue()
