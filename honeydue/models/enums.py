"""Enumerations stored in the database; their values are the GraphQL enum names."""

from __future__ import annotations

from enum import StrEnum


class ResidenceRole(StrEnum):
    OWNER = "OWNER"
    EDITOR = "EDITOR"
    VIEWER = "VIEWER"


ROLE_RANK = {ResidenceRole.VIEWER: 1, ResidenceRole.EDITOR: 2, ResidenceRole.OWNER: 3}


class TaskCategory(StrEnum):
    HVAC = "HVAC"
    PLUMBING = "PLUMBING"
    ELECTRICAL = "ELECTRICAL"
    APPLIANCES = "APPLIANCES"
    EXTERIOR = "EXTERIOR"
    INTERIOR = "INTERIOR"
    LAWN_GARDEN = "LAWN_GARDEN"
    SAFETY = "SAFETY"
    CLEANING = "CLEANING"
    OTHER = "OTHER"


class TaskPriority(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    URGENT = "URGENT"


class TaskFrequency(StrEnum):
    ONCE = "ONCE"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    BIWEEKLY = "BIWEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    ANNUAL = "ANNUAL"
    CUSTOM = "CUSTOM"


class RotationMode(StrEnum):
    """Who a recurring task is assigned to next (honeydue.rotation)."""

    FIXED = "FIXED"
    ROUND_ROBIN = "ROUND_ROBIN"
    FEWEST_COMPLETIONS = "FEWEST_COMPLETIONS"


class DocumentKind(StrEnum):
    MANUAL = "MANUAL"
    WARRANTY = "WARRANTY"
    RECEIPT = "RECEIPT"
    INVOICE = "INVOICE"
    INSURANCE = "INSURANCE"
    PERMIT = "PERMIT"
    OTHER = "OTHER"


class MediaStatus(StrEnum):
    PENDING = "PENDING"
    READY = "READY"
    REJECTED = "REJECTED"


class MediaPurpose(StrEnum):
    AVATAR = "AVATAR"
    COMPLETION_PHOTO = "COMPLETION_PHOTO"
    DOCUMENT_FILE = "DOCUMENT_FILE"
    RESIDENCE_PHOTO = "RESIDENCE_PHOTO"
    # Made by the server, never uploaded: a zip of the user's data (requestDataExport), under exports/<user_id>/.
    DATA_EXPORT = "DATA_EXPORT"
    # A .honeydue residence file uploaded for importResidence (JSON, no target), under users/<user_id>/imports/.
    RESIDENCE_IMPORT = "RESIDENCE_IMPORT"
    # Made by the server, never uploaded: a residence's .honeydue file (exportResidence), under exports/<user_id>/.
    RESIDENCE_EXPORT = "RESIDENCE_EXPORT"
    # Made by the server, never uploaded: a residence's PDF report (residenceReport), under exports/<user_id>/.
    RESIDENCE_REPORT = "RESIDENCE_REPORT"


class MediaVariantKind(StrEnum):
    """A smaller rendition the variant job makes of an image (or a video's poster frame), always WebP."""

    THUMB = "THUMB"  # at most 320 px on the long side: lists
    PREVIEW = "PREVIEW"  # at most 1600 px on the long side: full-screen viewing without the original


class VariantsStatus(StrEnum):
    """Where a READY media's variant job is; null on rows that never get variants (PDF, JSON, generated files)."""

    PENDING = "PENDING"  # sent to the job, not done yet (or being retried)
    READY = "READY"  # variants, size and placeholder written
    FAILED = "FAILED"  # out of attempts, or not an image the job can read: the error is in variants_error
    NONE = "NONE"  # a type with no variant maker (yet): served as the original only


class NotificationType(StrEnum):
    TASK_DUE_SOON = "TASK_DUE_SOON"
    TASK_OVERDUE = "TASK_OVERDUE"
    WARRANTY_EXPIRING = "WARRANTY_EXPIRING"
    RESIDENCE_SHARED = "RESIDENCE_SHARED"
    # The onboarding emails (welcome, add your home, add your first task); email only, no in-app row.
    ONBOARDING = "ONBOARDING"
    DATA_EXPORT_READY = "DATA_EXPORT_READY"


class EmailStatus(StrEnum):
    QUEUED = "QUEUED"  # waiting for its first or next attempt
    SENT = "SENT"  # the SMTP server accepted it (or, without SMTP_HOST, it was written to var/mail/)
    FAILED = "FAILED"  # refused for good (5xx) or out of attempts; never tried again


class NotificationChannelKind(StrEnum):
    WEBHOOK = "WEBHOOK"  # a signed JSON POST to the user's URL
    APPRISE = "APPRISE"  # any Apprise URL (ntfy, Telegram, Discord, Gotify, ...), through the apprise library


class DeliveryKind(StrEnum):
    """What a ``NotificationDelivery`` goes to: a channel of the user's, or a device of a platform."""

    WEBHOOK = "WEBHOOK"
    APPRISE = "APPRISE"
    IOS = "IOS"  # APNs
    ANDROID = "ANDROID"  # FCM
    WEB = "WEB"  # Web Push


class DeliveryStatus(StrEnum):
    QUEUED = "QUEUED"  # waiting for its first or next attempt
    SENT = "SENT"  # the receiver took it
    FAILED = "FAILED"  # refused for good, target gone, or out of attempts; never tried again


class ResidenceType(StrEnum):
    HOUSE = "HOUSE"
    APARTMENT = "APARTMENT"
    CONDO = "CONDO"
    TOWNHOUSE = "TOWNHOUSE"
    MOBILE_HOME = "MOBILE_HOME"
    CABIN = "CABIN"
    OTHER = "OTHER"


# The home profile (Residence.profile): what the home is built with. NONE says the home has no such system;
# a field left unset (null) says nothing.


class HeatingSystem(StrEnum):
    FORCED_AIR_GAS = "FORCED_AIR_GAS"
    HEAT_PUMP = "HEAT_PUMP"
    BOILER = "BOILER"
    ELECTRIC_BASEBOARD = "ELECTRIC_BASEBOARD"
    RADIANT = "RADIANT"
    WOOD_STOVE = "WOOD_STOVE"
    NONE = "NONE"
    OTHER = "OTHER"


class CoolingSystem(StrEnum):
    CENTRAL_AC = "CENTRAL_AC"
    HEAT_PUMP = "HEAT_PUMP"
    WINDOW_UNITS = "WINDOW_UNITS"
    MINI_SPLIT = "MINI_SPLIT"
    EVAPORATIVE = "EVAPORATIVE"
    NONE = "NONE"
    OTHER = "OTHER"


class WaterHeaterType(StrEnum):
    TANK_GAS = "TANK_GAS"
    TANK_ELECTRIC = "TANK_ELECTRIC"
    TANKLESS_GAS = "TANKLESS_GAS"
    TANKLESS_ELECTRIC = "TANKLESS_ELECTRIC"
    HEAT_PUMP = "HEAT_PUMP"
    SOLAR = "SOLAR"
    NONE = "NONE"
    OTHER = "OTHER"


class RoofType(StrEnum):
    ASPHALT_SHINGLE = "ASPHALT_SHINGLE"
    METAL = "METAL"
    TILE = "TILE"
    SLATE = "SLATE"
    WOOD_SHAKE = "WOOD_SHAKE"
    FLAT_MEMBRANE = "FLAT_MEMBRANE"
    NONE = "NONE"
    OTHER = "OTHER"


class ClimateRegion(StrEnum):
    COLD = "COLD"
    MIXED = "MIXED"
    HOT_HUMID = "HOT_HUMID"
    HOT_DRY = "HOT_DRY"
    MARINE = "MARINE"
    TROPICAL = "TROPICAL"
class DataExportStatus(StrEnum):
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


class AccountTokenPurpose(StrEnum):
    RESET = "RESET"  # a password reset link
    VERIFY = "VERIFY"  # the link that verifies the account's address
    EMAIL_CHANGE = "EMAIL_CHANGE"  # the link sent to a new address to confirm the change


class NotificationAction(StrEnum):
    """What a notification's action link does (``honeydue.notification_actions``); the value is the action's id
    in push payloads and webhook bodies."""

    DONE = "done"  # complete the task, as completeTask does
    SNOOZE = "snooze"  # hold the task's reminders back for a day, as snoozeTask does


class DevicePlatform(StrEnum):
    IOS = "IOS"  # an iPhone or iPad app: APNs
    ANDROID = "ANDROID"  # an Android app: FCM
    WEB = "WEB"  # a browser's push subscription: Web Push
