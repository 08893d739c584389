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


class NotificationType(StrEnum):
    TASK_DUE_SOON = "TASK_DUE_SOON"
    TASK_OVERDUE = "TASK_OVERDUE"
    WARRANTY_EXPIRING = "WARRANTY_EXPIRING"
    RESIDENCE_SHARED = "RESIDENCE_SHARED"
