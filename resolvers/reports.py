"""``residenceReport``: a residence's PDF report, built and stored before the answer, so its link works at once.

Any member may make one (VIEWER too: it only shows what they can read). The data is read in a fixed number of
statements (residence, tasks, completions with their members and contractors, first photos, documents,
spending); the photos are read from storage one by one, at most ``MAX_PHOTOS`` of them and none larger than
``MAX_PHOTO_BYTES``; the PDF is drawn in a thread so the event loop keeps serving. The file is a generated file
(``honeydue.generated_files``): ``exports/<user_id>/<uuid>.pdf``, owned by the caller, its link and the file
gone after 24 hours.

Lists are capped so one report stays a document a person can read and a size the API can hold in memory:
``MAX_TASKS`` tasks, ``MAX_COMPLETIONS`` completions (newest first) and ``MAX_DOCUMENTS`` documents; the PDF
says how many more there were. The totals always count everything in the period.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.functions import Count, Sum

from honeydue.generated_files import DownloadLink, download_link, store_generated_file
from honeydue.models import (
    Document,
    Media,
    MediaPurpose,
    MediaStatus,
    Residence,
    ResidenceRole,
    Task,
    TaskCategory,
    TaskCompletion,
    TaskFrequency,
    User,
)
from honeydue.ratelimit import RateLimiter
from honeydue.services import Services
from honeydue.storage.base import Storage, StorageError
from honeydue.user_errors import InputRejected, UserError, UserErrorCode, reject
from resolvers.access import require_role
from resolvers.report_pdf import CompletionLine, DocumentLine, ReportContent, TaskLine, render_report
from resolvers.residences import PROFILE_COLUMNS
from resolvers.spending import FIRST_YEAR

log = logging.getLogger(__name__)

PDF = "application/pdf"
MAX_TASKS = 1000
MAX_COMPLETIONS = 2000
MAX_DOCUMENTS = 1000
# Thumbnails: the first photo of at most this many completions (the newest with photos); each photo is read
# whole from storage, so this and MAX_PHOTO_BYTES bound what one report reads (24 x 10 MB).
MAX_PHOTOS = 24
MAX_PHOTO_BYTES = 10 * 1024 * 1024
THUMBNAIL_PIXELS = 320
MAX_SPAN_YEARS = 10
# Each report reads up to 24 photos and draws a PDF in a thread: a member asking in a loop would keep the API's
# CPU and storage busy, so reports are counted per user (every call, refused ones too) before any work.
REPORTS_PER_HOUR = 10
HOUR = 3600
# A table row cannot break across pages: longer notes are cut (the app has them whole).
MAX_NOTES_CHARS = 600


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive


@dataclass(frozen=True)
class Report:
    media: Media
    link: DownloadLink


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def report_period(first: date | None, last: date | None, today: date) -> Period:
    """The period asked for: by default the last 12 months up to today (the residence's today).

    A date given outside 1970 .. next year, ``from`` after ``to``, or a span over 10 years: INVALID_INPUT.
    """
    errors = [UserError(UserErrorCode.INVALID_INPUT, f"Dates must be in {FIRST_YEAR} to {today.year + 1}.", [name])
              for name, day in (("from", first), ("to", last))
              if day is not None and not FIRST_YEAR <= day.year <= today.year + 1]
    if errors:
        raise InputRejected(*errors)
    last = last or today
    first = first or max(_years_before(last, 1) + timedelta(days=1), date(FIRST_YEAR, 1, 1))
    if first > last:
        raise InputRejected(UserError(UserErrorCode.INVALID_INPUT, "from must be on or before to.", ["from"]))
    if first < _years_before(last, MAX_SPAN_YEARS):
        raise InputRejected(UserError(UserErrorCode.INVALID_INPUT,
                                      f"The period may span at most {MAX_SPAN_YEARS} years.", ["from"]))
    return Period(first, last)


_EVERY = {
    TaskFrequency.ONCE: "Once", TaskFrequency.DAILY: "Every day", TaskFrequency.WEEKLY: "Every week",
    TaskFrequency.BIWEEKLY: "Every 2 weeks", TaskFrequency.MONTHLY: "Every month",
    TaskFrequency.QUARTERLY: "Every 3 months", TaskFrequency.ANNUAL: "Every year",
}


def schedule_text(task: Task) -> str:
    """How often a task recurs, as a person says it."""
    if task.frequency == TaskFrequency.CUSTOM:
        text = f"Every {task.interval_days} days" if task.interval_days != 1 else "Every day"
    else:
        text = _EVERY[TaskFrequency(task.frequency)]
    if task.rolling and task.frequency != TaskFrequency.ONCE:
        text += ", counted from the last completion"
    return text


def _status(task: Task) -> str:
    if task.archived:
        return "Archived"
    if task.cancelled:
        return "Cancelled"
    if task.completed:
        return "Done"
    return "In progress" if task.in_progress else "Open"


def _label(value: object) -> str:
    if value is None:
        return "not stated"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value)).replace("_", " ").lower()


def _profile(residence: Residence) -> list[tuple[str, str]]:
    return [(column.replace("_", " ").capitalize(), _label(getattr(residence, column))) for column in PROFILE_COLUMNS]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _done_by(completion: TaskCompletion) -> str:
    parts = []
    if completion.contractor is not None:
        company = f", {completion.contractor.company}" if completion.contractor.company else ""
        parts.append(f"{completion.contractor.name}{company} (contractor)")
    if completion.completed_by is not None:
        parts.append(f"{completion.completed_by.display_name} (member)")
    return "; ".join(parts) or "unknown"


def make_thumbnail(data: bytes) -> bytes | None:
    """A JPEG at most THUMBNAIL_PIXELS on a side, or None when the bytes are no image Pillow can read."""
    from PIL import Image, UnidentifiedImageError

    from honeydue.media_variants import images  # noqa: F401  (registers the HEIC/HEIF decoder with Pillow)

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # JPEG: decode at a fraction of the size
            image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


async def _read_object(storage: Storage, key: str) -> bytes:
    stream = await storage.open(key)
    try:
        chunks = [chunk async for chunk in stream.chunks]
    finally:
        await stream.aclose()
    return b"".join(chunks)


async def _thumbnails(storage: Storage, photos: list[Media]) -> dict[uuid.UUID, tuple[bytes | None, str]]:
    """(thumbnail, note) by media id; at most MAX_PHOTOS are read, each at most MAX_PHOTO_BYTES."""
    made: dict[uuid.UUID, tuple[bytes | None, str]] = {}
    for media in photos[:MAX_PHOTOS]:
        if media.size > MAX_PHOTO_BYTES:
            made[media.id] = (None, "photo too large for the report")
            continue
        try:
            data = await _read_object(storage, media.key)
        except StorageError as exc:
            log.warning("report: photo %s not read (%s)", media.key, exc)
            made[media.id] = (None, "photo unavailable")
            continue
        thumbnail = await asyncio.to_thread(make_thumbnail, data)
        made[media.id] = (thumbnail, "" if thumbnail else "photo unreadable")
    for media in photos[MAX_PHOTOS:]:
        made[media.id] = (None, f"photo not shown (at most {MAX_PHOTOS} per report)")
    return made


async def _content(residence: Residence, period: Period, storage: Storage, now: datetime) -> ReportContent:
    zone = ZoneInfo(residence.timezone)
    start = datetime.combine(period.first, time(), zone).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time(), zone).astimezone(UTC)

    task_query = Task.filter(residence_id=residence.id)
    task_count = await task_query.count()
    tasks = await task_query.select_related("assignee").order_by("archived", "title", "id").limit(MAX_TASKS)

    # Skipped occurrences are not work done: neither listed nor counted.
    in_period = TaskCompletion.filter(task__residence_id=residence.id, completed_at__gte=start, completed_at__lt=end,
                                      skipped=False)
    completion_count = await in_period.count()
    costed = await in_period.filter(cost_cents__not_isnull=True).annotate(
        total=Sum("cost_cents"), n=Count("id")).group_by("task__category").values("task__category", "total", "n")
    completions = await in_period.select_related("task", "completed_by", "contractor").order_by(
        "-completed_at", "-id").limit(MAX_COMPLETIONS)

    # The first photo of each completion shown: one statement, the earliest READY photo per completion (a still:
    # a completion's videos are not read into the report).
    photo_rows = await Media.filter(completion_id__in=[c.id for c in completions], status=MediaStatus.READY,
                                    purpose=MediaPurpose.COMPLETION_PHOTO, content_type__startswith="image/",
                                    ).order_by("created_at", "id")
    first_photo: dict[uuid.UUID, Media] = {}
    for media in photo_rows:
        assert media.completion_id is not None
        first_photo.setdefault(media.completion_id, media)
    shown_photos = [first_photo[c.id] for c in completions if c.id in first_photo]
    thumbnails = await _thumbnails(storage, shown_photos)

    document_query = Document.filter(residence_id=residence.id)
    document_count = await document_query.count()
    documents = await document_query.order_by("expires_at", "title", "id").limit(MAX_DOCUMENTS)

    by_category = sorted(((TaskCategory(row["task__category"]).value, int(row["total"] or 0), int(row["n"]))
                          for row in costed), key=lambda item: (-item[1], item[0]))
    lines = []
    for c in completions:
        photo = first_photo.get(c.id)
        thumbnail, note = thumbnails[photo.id] if photo is not None else (None, "")
        lines.append(CompletionLine(
            completed_on=c.completed_at.astimezone(zone).date(), task_title=c.task.title, done_by=_done_by(c),
            cost_cents=c.cost_cents, notes=_cut(c.notes, MAX_NOTES_CHARS), thumbnail=thumbnail, photo_note=note))
    return ReportContent(
        residence_name=residence.name, address=residence.address, residence_type=_label(residence.type),
        timezone=residence.timezone, profile=_profile(residence), period_from=period.first, period_to=period.last,
        generated_at=now.astimezone(UTC),
        tasks=[TaskLine(title=t.title, category=_label(t.category), schedule=schedule_text(t), next_due=t.due_date,
                        status=_status(t), assignee=t.assignee.display_name if t.assignee else "") for t in tasks],
        tasks_left_out=task_count - len(tasks),
        completions=lines, completions_left_out=completion_count - len(completions),
        documents=[DocumentLine(title=d.title, kind=_label(d.kind), expires_on=d.expires_at) for d in documents],
        documents_left_out=document_count - len(documents),
        total_cost_cents=sum(total for _, total, _ in by_category),
        costed_completions=sum(count for _, _, count in by_category),
        completion_count=completion_count,
        by_category=[(category.replace("_", " ").lower(), total, count) for category, total, count in by_category],
    )


async def check_report_rate(limiter: RateLimiter, user: User) -> None:
    """Count this call; RATE_LIMITED (a user error) past ``REPORTS_PER_HOUR`` in the user's current hour."""
    if not await limiter.hit(f"report:user:{user.id}", REPORTS_PER_HOUR, HOUR):
        raise reject(UserErrorCode.RATE_LIMITED, f"At most {REPORTS_PER_HOUR} reports an hour per account; "
                     "try again within the hour.")


def _filename(residence: Residence, period: Period) -> str:
    return f"honeydue-report-{residence.name}-{period.first.isoformat()}-{period.last.isoformat()}.pdf"


async def residence_report(user: User, residence_id: uuid.UUID, first: date | None, last: date | None, *,
                           services: Services, now: datetime) -> Report:
    """Check, build, store and link the report of ``residence_id`` for ``user`` (any member)."""
    await check_report_rate(services.rate_limiter, user)
    await require_role(user, residence_id, ResidenceRole.VIEWER)
    residence = await Residence.get(id=residence_id)
    period = report_period(first, last, now.astimezone(ZoneInfo(residence.timezone)).date())
    content = await _content(residence, period, services.storage, now)
    pdf = await asyncio.to_thread(render_report, content)
    media = await store_generated_file(services.storage, user, MediaPurpose.RESIDENCE_REPORT,
                                       _filename(residence, period), PDF, pdf, target_id=residence.id)
    return Report(media=media, link=download_link(services, media))
