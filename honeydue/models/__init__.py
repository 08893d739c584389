"""Tortoise models for the whole domain; the app label is ``honeydue``."""

from honeydue.models.accounts import AccountToken, AuthToken, CalendarFeed, NotificationPreference, User
from honeydue.models.actions import ActionToken
from honeydue.models.admin import AuditEntry, JobRun
from honeydue.models.contractors import Contractor
from honeydue.models.delivery import NotificationChannel, NotificationDelivery
from honeydue.models.devices import Device
from honeydue.models.documents import Document
from honeydue.models.enums import (
    ROLE_RANK,
    AccountTokenPurpose,
    ClimateRegion,
    CoolingSystem,
    DataExportStatus,
    DeliveryKind,
    DeliveryStatus,
    DevicePlatform,
    DocumentKind,
    EmailStatus,
    HeatingSystem,
    MediaPurpose,
    MediaStatus,
    MediaVariantKind,
    NotificationAction,
    NotificationChannelKind,
    NotificationType,
    ResidenceRole,
    ResidenceType,
    RoofType,
    RotationMode,
    TaskCategory,
    TaskFrequency,
    TaskPriority,
    VariantsStatus,
    WaterHeaterType,
)
from honeydue.models.exports import DataExport
from honeydue.models.idempotency import IDEMPOTENCY_WINDOW, MAX_IDEMPOTENCY_KEY_LENGTH, IdempotencyKey
from honeydue.models.mail import EmailDelivery
from honeydue.models.media import BackupTombstone, Media, MediaVariant
from honeydue.models.notifications import AccountPurge, Notification, ReminderLog
from honeydue.models.residences import MemberRemoval, Membership, Residence, ShareCode
from honeydue.models.tasks import Task, TaskCompletion, TaskRotationMember

__all__ = [
    "IDEMPOTENCY_WINDOW", "MAX_IDEMPOTENCY_KEY_LENGTH", "ROLE_RANK", "AccountPurge", "AccountToken", "ActionToken",
    "AccountTokenPurpose", "AuditEntry", "AuthToken", "BackupTombstone", "CalendarFeed", "ClimateRegion", "Contractor",
    "CoolingSystem", "DataExport", "DataExportStatus", "DeliveryKind", "DeliveryStatus", "Device",
    "DevicePlatform", "Document", "DocumentKind", "EmailDelivery", "EmailStatus",
    "HeatingSystem", "IdempotencyKey", "JobRun", "Media", "MediaPurpose", "MediaVariant", "MediaVariantKind",
    "MediaStatus", "MemberRemoval", "Membership", "Notification", "NotificationAction", "NotificationChannel",
    "NotificationChannelKind", "NotificationDelivery", "NotificationPreference", "NotificationType",
    "ResidenceType", "RoofType", "RotationMode", "TaskRotationMember", "WaterHeaterType",
    "ReminderLog", "Residence", "ResidenceRole", "ShareCode", "Task", "TaskCategory", "TaskCompletion",
    "TaskFrequency", "TaskPriority", "User", "VariantsStatus",
]
