"""The residence report as a PDF (reportlab): pure, no I/O but the font lookup; ``residenceReport`` feeds it.

What someone selling or insuring a home hands over: the home and its profile, the tasks and their schedules,
the completions of the period (who, cost, notes, a thumbnail of the first photo), the documents with their
warranty dates, and the totals.

Fonts: reportlab's standard fonts only know Latin-1 (WinAnsi). When DejaVu Sans is installed (Debian's
``fonts-dejavu-core``, which the image installs) it is embedded and Latin, Greek, Cyrillic, Hebrew, Arabic
and many symbols render; scripts it lacks (Chinese, Japanese, Korean, ...) show as blank boxes. Without it,
Helvetica is used and every character outside Windows-1252 is printed as "?". Neither ever fails the report.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

# Where Debian (and Ubuntu, Fedora, Alpine) put DejaVu Sans; the first pair found is used.
FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
)
THUMBNAIL_SIZE_MM = 30


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    unicode: bool  # False: standard fonts, text limited to Windows-1252


_fonts: Fonts | None = None


def report_fonts() -> Fonts:
    """DejaVu Sans when installed (registered once per process), else Helvetica."""
    global _fonts
    if _fonts is None:
        _fonts = Fonts("Helvetica", "Helvetica-Bold", unicode=False)
        for regular, bold in FONT_CANDIDATES:
            if Path(regular).is_file() and Path(bold).is_file():
                pdfmetrics.registerFont(TTFont("HoneydueSans", regular))
                pdfmetrics.registerFont(TTFont("HoneydueSans-Bold", bold))
                _fonts = Fonts("HoneydueSans", "HoneydueSans-Bold", unicode=True)
                break
    return _fonts


@dataclass(frozen=True)
class TaskLine:
    title: str
    category: str
    schedule: str
    next_due: date | None
    status: str
    assignee: str


@dataclass(frozen=True)
class CompletionLine:
    completed_on: date
    task_title: str
    done_by: str
    cost_cents: int | None
    notes: str
    thumbnail: bytes | None  # image bytes to embed, or None
    photo_note: str  # "" or why there is no thumbnail although there is a photo


@dataclass(frozen=True)
class DocumentLine:
    title: str
    kind: str
    expires_on: date | None


@dataclass
class ReportContent:
    residence_name: str
    address: str
    residence_type: str
    timezone: str
    profile: list[tuple[str, str]]
    period_from: date
    period_to: date
    generated_at: datetime
    tasks: list[TaskLine] = field(default_factory=list)
    tasks_left_out: int = 0
    completions: list[CompletionLine] = field(default_factory=list)
    completions_left_out: int = 0
    documents: list[DocumentLine] = field(default_factory=list)
    documents_left_out: int = 0
    total_cost_cents: int = 0
    costed_completions: int = 0
    completion_count: int = 0
    by_category: list[tuple[str, int, int]] = field(default_factory=list)  # (category, cents, count)


def money(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents // 100:,}.{cents % 100:02d}"


class _Writer:
    def __init__(self, fonts: Fonts) -> None:
        self.fonts = fonts
        base = getSampleStyleSheet()
        self.body = ParagraphStyle("body", parent=base["BodyText"], fontName=fonts.regular, fontSize=9, leading=11)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8, leading=10)
        self.h1 = ParagraphStyle("h1", parent=base["Title"], fontName=fonts.bold, fontSize=18, leading=22)
        self.h2 = ParagraphStyle("h2", parent=base["Heading2"], fontName=fonts.bold, fontSize=13, leading=16,
                                 spaceBefore=10)
        self.cell_bold = ParagraphStyle("cellb", parent=self.small, fontName=fonts.bold)

    def text(self, value: str) -> str:
        """Markup-safe text in the font's repertoire; line breaks kept."""
        if not self.fonts.unicode:
            value = value.encode("cp1252", errors="replace").decode("cp1252")
        return escape(value).replace("\r\n", "\n").replace("\n", "<br/>")

    def para(self, value: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(self.text(value), style or self.body)

    def table(self, header: list[str], rows: Iterable[Sequence[object]], widths: list[float]) -> Table:
        data: list[list[object]] = [[self.para(h, self.cell_bold) for h in header]]
        for row in rows:
            data.append([cell if not isinstance(cell, str) else self.para(cell, self.small) for cell in row])
        table = Table(data, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        return table


def _left_out(writer: _Writer, count: int, what: str) -> list[object]:
    return [writer.para(f"... and {count} more {what} not shown.", writer.small)] if count else []


def render_report(content: ReportContent) -> bytes:
    """The report as PDF bytes (A4)."""
    writer = _Writer(report_fonts())
    width = A4[0] - 30 * mm
    story: list[object] = [
        writer.para(f"Home report: {content.residence_name}", writer.h1),
        writer.para(f"Period {content.period_from.isoformat()} to {content.period_to.isoformat()} "
                    f"({content.timezone}); made {content.generated_at:%Y-%m-%d %H:%M} UTC."),
        writer.para("The home", writer.h2),
        writer.table(["", ""], [["Address", content.address or "not stated"], ["Type", content.residence_type],
                                ["Time zone", content.timezone], *[[k, v] for k, v in content.profile]],
                     [width * 0.3, width * 0.7]),
        writer.para("Totals", writer.h2),
        writer.table(["", ""], [
            ["Completions in the period", str(content.completion_count)],
            ["Completions with a cost", str(content.costed_completions)],
            ["Total cost", money(content.total_cost_cents)],
            *[[f"Total cost: {category}", f"{money(cents)} ({count})"]
              for category, cents, count in content.by_category],
        ], [width * 0.5, width * 0.5]),
        writer.para("Tasks and their schedules", writer.h2),
    ]
    if content.tasks:
        story.append(writer.table(
            ["Task", "Category", "Schedule", "Next due", "Status", "Assignee"],
            [[t.title, t.category, t.schedule, t.next_due.isoformat() if t.next_due else "", t.status, t.assignee]
             for t in content.tasks],
            [width * f for f in (0.26, 0.13, 0.2, 0.13, 0.12, 0.16)]))
    else:
        story.append(writer.para("No tasks."))
    story += _left_out(writer, content.tasks_left_out, "tasks")

    story.append(writer.para("Completions in the period", writer.h2))
    if content.completions:
        thumb = THUMBNAIL_SIZE_MM * mm
        rows = []
        for c in content.completions:
            if c.thumbnail is not None:
                image: object = Image(io.BytesIO(c.thumbnail), width=thumb, height=thumb, kind="proportional")
            else:
                image = c.photo_note
            rows.append([c.completed_on.isoformat(), c.task_title, c.done_by, money(c.cost_cents), c.notes, image])
        story.append(writer.table(["Date", "Task", "Done by", "Cost", "Notes", "Photo"], rows,
                                  [width * f for f in (0.12, 0.18, 0.18, 0.1, 0.24)] + [thumb + 4 * mm]))
    else:
        story.append(writer.para("No completions in this period."))
    story += _left_out(writer, content.completions_left_out, "completions")

    story.append(writer.para("Documents and warranties", writer.h2))
    if content.documents:
        story.append(writer.table(
            ["Document", "Kind", "Warranty / expires"],
            [[d.title, d.kind, d.expires_on.isoformat() if d.expires_on else ""] for d in content.documents],
            [width * 0.55, width * 0.2, width * 0.25]))
    else:
        story.append(writer.para("No documents."))
    story += _left_out(writer, content.documents_left_out, "documents")
    story.append(Spacer(1, 4 * mm))

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"Home report: {content.residence_name}",
                            author="honeydue", creator="honeydue")
    doc.build(story)
    return buffer.getvalue()
