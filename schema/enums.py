"""Every enum of the GraphQL schema, each value described for the docs pane: one table, one mechanism.

The Python enums stay where the code that stores or computes them lives (``honeydue.models``,
``honeydue.catalogue``, ``honeydue.schedule``, ...) and remain the one list of members; this module only adds
what each member means to a client. ``described_enum`` refuses an enum whose members and descriptions differ,
so a member added in Python without a description here stops the schema from building, naming the member.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import TypeVar, cast

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

from honeydue import catalogue, models
from honeydue.media_policy import PURPOSE_TYPES
from honeydue.schedule import TaskColumn as _TaskColumn
from honeydue.user_errors import UserErrorCode as _UserErrorCode
from resolvers.admin_views import Metric

E = TypeVar("E", bound=Enum)


def described_enum(python_enum: type[E], *, name: str, description: str, values: Mapping[E, str]) -> type[E]:
    """``python_enum`` as the GraphQL enum ``name``, each value described by ``values``.

    The Python enum stays the one list of members (the database and the resolvers use it); the schema only
    adds what each member means to a client. ``values`` must describe every member and nothing else: a
    member added without a description stops the schema from building, naming the member.
    """
    members = {member.value for member in python_enum}
    missing = [member.name for member in python_enum if member not in values]
    # Keys match by value, so a GraphQL enum made of some members of a model enum (UploadPurpose) is
    # described with the model enum's members.
    unknown = [str(key) for key in values if getattr(key, "value", key) not in members]
    if missing or unknown:
        raise TypeError(f"GraphQL enum {name}: describe every member of {python_enum.__qualname__} "
                        f"(missing: {missing or 'none'}; not members: {unknown or 'none'})")
    strawberry.enum(python_enum, name=name, description=description)
    definition = cast(StrawberryEnumDefinition, python_enum.__strawberry_definition__)  # type: ignore[attr-defined]
    for value in definition.values:
        value.description = values[python_enum(value.value)]
    return python_enum


UserErrorCode = described_enum(
    _UserErrorCode,
    name="UserErrorCode",
    description="Why a mutation refused its input. Stable: clients may branch on it; `message` is for people.",
    values={
        _UserErrorCode.INVALID_INPUT: "A value breaks a documented rule (length, range, format, a list over its "
                                      "cap, a control character); `message` says which.",
        _UserErrorCode.INVALID_EMAIL: "Not an email address of the form name@domain.tld, or longer than 254 "
                                      "characters (register, requestPasswordReset, requestEmailChange).",
        _UserErrorCode.EMAIL_TAKEN: "An account with this email already exists (register, requestEmailChange), or "
                                    "took the new address before it was confirmed (confirmEmailChange).",
        _UserErrorCode.WEAK_PASSWORD: "The new password breaks the password rules: 10 to 256 characters, at least "
                                      "4 different ones, not the email address (register, changePassword, "
                                      "resetPassword).",
        _UserErrorCode.INVALID_CREDENTIALS: "The email or the password is wrong; which one is not said (login).",
        _UserErrorCode.WRONG_PASSWORD: "The password given to confirm the change is not the account's "
                                       "(changePassword, deleteAccount, requestEmailChange).",
        _UserErrorCode.NOT_FOUND: "An ID in the input names nothing the caller can see: removeMember's userId "
                                  "(not a member), a malformed entry of markNotificationsRead's ids; or what the "
                                  "first request with this idempotencyKey made has since been deleted.",
        _UserErrorCode.FORBIDDEN: "Reserved. A caller whose role is too low gets the top-level FORBIDDEN "
                                  "error instead, so no mutation reports this code today.",
        _UserErrorCode.INVALID_TIMEZONE: "Not an IANA timezone name such as Europe/Paris (createResidence, "
                                         "updateResidence).",
        _UserErrorCode.INVALID_SCHEDULE: "A CUSTOM frequency without intervalDays from 1 to 36600, or a schedule "
                                         "whose next due date would be past the year 9999 (createTask, "
                                         "updateTask, completeTask).",
        _UserErrorCode.INVALID_CODE: "The share code is unknown, expired or revoked; which one is not said "
                                     "(joinResidence).",
        _UserErrorCode.ALREADY_MEMBER: "The caller already belongs to the residence of this share code "
                                       "(joinResidence).",
        _UserErrorCode.LAST_OWNER: "The last OWNER cannot leave or be removed; delete the residence instead "
                                   "(removeMember).",
        _UserErrorCode.DATE_IN_FUTURE: "completedAt is more than a day later than now (completeTask).",
        _UserErrorCode.MEDIA_NOT_READY: "The file is not READY yet: call finalizeUpload after the PUT "
                                        "(updateProfile, completeTask, createDocument, updateDocument).",
        _UserErrorCode.MEDIA_NOT_ALLOWED: "The file is not one of the caller's uploads, or was uploaded for "
                                          "another purpose or target (malformed IDs answer the same).",
        _UserErrorCode.MEDIA_IN_USE: "The file is already attached elsewhere (completeTask, createDocument, "
                                     "updateDocument), or is still attached and detach was not set (deleteMedia).",
        _UserErrorCode.TYPE_NOT_ALLOWED: "The declared content type is not accepted for this purpose; `message` "
                                         "lists the accepted ones (requestUpload).",
        _UserErrorCode.FILE_TOO_LARGE: "The declared size is over the server's file size limit, 10 MiB unless "
                                       "configured (requestUpload).",
        _UserErrorCode.UPLOAD_RATE_LIMITED: "Too many requestUpload calls in the last hour (50 unless "
                                            "configured); every call counts, refused ones too.",
        _UserErrorCode.TOO_MANY_PENDING_UPLOADS: "Too many of the caller's uploads are still PENDING (10 unless "
                                                 "configured); finalize or delete some first (requestUpload).",
        _UserErrorCode.UPLOAD_MISSING: "Nothing was PUT to the upload URL yet (finalizeUpload).",
        _UserErrorCode.IDEMPOTENCY_KEY_REUSED: "This idempotencyKey was used in the last 24 hours for a different "
                                               "input or another mutation; nothing was done (any mutation "
                                               "whose input takes an idempotencyKey).",
        _UserErrorCode.EXPORT_LIMIT: "A data export is already being prepared, or one was requested in the last "
                                     "24 hours (failed ones do not count); `message` says when to ask again "
                                     "(requestDataExport).",
        _UserErrorCode.STORAGE_UNAVAILABLE: "File storage did not answer; nothing was changed, retry shortly "
                                            "(requestUpload, finalizeUpload, deleteMedia).",
        _UserErrorCode.INVALID_TOKEN: "The emailed link's token is unknown, expired, already used, or replaced by a "
                                      "newer link; ask for a new email (resetPassword, verifyEmail, "
                                      "confirmEmailChange).",
        _UserErrorCode.ACCOUNT_DISABLED: "An administrator disabled the account: login with the right password "
                                         "(a wrong one is INVALID_CREDENTIALS), or resetPassword, which would sign "
                                         "in (nothing is changed; the link stays usable).",
        _UserErrorCode.LAST_ADMIN: "The change would leave no admin who can sign in: the last admin cannot be "
                                   "demoted, disabled or deleted (adminSetAdmin, adminSetUserDisabled, "
                                   "adminDeleteUser).",
        _UserErrorCode.UNKNOWN_JOB: "No periodic job has this name; `admin.jobs` lists them (adminRunJob).",
        _UserErrorCode.RATE_LIMITED: "Too many calls of this mutation by the caller in the current hour (10 "
                                     "residenceReport calls; every call counts, refused ones too); nothing was done, "
                                     "try again later.",
    },
)

DocumentKind = described_enum(
    models.DocumentKind,
    name="DocumentKind",
    description="What sort of paper a document is.",
    values={
        models.DocumentKind.MANUAL: "A user or installation manual.",
        models.DocumentKind.WARRANTY: "A warranty or guarantee; with `expiresAt`, the owners are reminded before "
                                      "it lapses.",
        models.DocumentKind.RECEIPT: "Proof of a purchase.",
        models.DocumentKind.INVOICE: "A bill for work or goods.",
        models.DocumentKind.INSURANCE: "An insurance policy or certificate.",
        models.DocumentKind.PERMIT: "A permit or official approval.",
        models.DocumentKind.OTHER: "Anything else (the default).",
    },
)

DevicePlatform = described_enum(
    models.DevicePlatform,
    name="DevicePlatform",
    description="Which push service reaches a device.",
    values={
        models.DevicePlatform.IOS: "An iPhone or iPad app, reached through APNs (Apple Push Notification service).",
        models.DevicePlatform.ANDROID: "An Android app, reached through FCM (Firebase Cloud Messaging).",
        models.DevicePlatform.WEB: "A browser's push subscription, reached through Web Push (RFC 8030) with VAPID.",
    },
)

DataExportStatus = described_enum(
    models.DataExportStatus,
    name="DataExportStatus",
    description="Where a data export is: being built, downloadable, failed, or gone.",
    values={
        models.DataExportStatus.PENDING: "Requested; the zip is being built. The user gets a notification and an "
                                         "email when it is READY.",
        models.DataExportStatus.READY: "Built: `url` downloads it until `expiresAt` (7 days).",
        models.DataExportStatus.FAILED: "Could not be built after 3 attempts; ask for a new one (a failed export "
                                        "does not count against the one-a-day limit).",
        models.DataExportStatus.EXPIRED: "Past `expiresAt`: the zip has been deleted.",
    },
)

EmailStatus = described_enum(
    models.EmailStatus,
    name="EmailStatus",
    description="Where an email is in its delivery.",
    values={
        models.EmailStatus.QUEUED: "Waiting for its first attempt, or for the next one after a failure that may "
                                   "pass (no connection, a timeout, a 4xx answer).",
        models.EmailStatus.SENT: "The mail server accepted it (without SMTP_HOST: it was written to var/mail/).",
        models.EmailStatus.FAILED: "Given up: the server refused it for good (a 5xx answer), or every attempt "
                                   "(EMAIL_MAX_ATTEMPTS) failed. Never tried again.",
    },
)

MediaStatus = described_enum(
    models.MediaStatus,
    name="MediaStatus",
    description="Where an uploaded file is in its lifecycle: requested, checked, or refused.",
    values={
        models.MediaStatus.PENDING: "Requested with requestUpload; not PUT or not finalized yet. Never served.",
        models.MediaStatus.READY: "Checked by finalizeUpload (size, type and content as declared); served through "
                                  "`url` and `directUrl`.",
        models.MediaStatus.REJECTED: "Failed finalizeUpload's checks (see `rejectReason`), or retired with what it "
                                     "was attached to. Never served; removed by a later cleanup.",
    },
)

# The purposes a client may upload for: those with accepted types. The others (DATA_EXPORT, RESIDENCE_EXPORT) are
# files the server makes; requestUpload cannot even name them.
UploadablePurpose = StrEnum(  # type: ignore[misc]
    "UploadablePurpose", {purpose.name: purpose.value for purpose in models.MediaPurpose if purpose in PURPOSE_TYPES})
UploadPurpose = described_enum(
    UploadablePurpose,
    name="UploadPurpose",
    description="What a file is uploaded for; it decides the target, the accepted types and who may read it.",
    values={UploadablePurpose[purpose.name]: text for purpose, text in {
        models.MediaPurpose.AVATAR: "The caller's profile picture: an image, no target.",
        models.MediaPurpose.COMPLETION_PHOTO: "A photo for a task's completion: an image, the task as target "
                                              "(EDITOR).",
        models.MediaPurpose.DOCUMENT_FILE: "A file of a document: a PDF or an image, the residence as target "
                                           "(EDITOR).",
        models.MediaPurpose.RESIDENCE_PHOTO: "The residence's photo (Residence.photo): an image, the residence as "
                                             "target (EDITOR); finalizing it replaces and deletes the previous one.",
        models.MediaPurpose.RESIDENCE_IMPORT: "A `.honeydue` residence file for importResidence: application/json "
                                              "(whatever the server's allowed types), no target. finalizeUpload "
                                              "parses it and checks it against the format's JSON Schema; a file "
                                              "that does not match is REJECTED, its `rejectReason` naming the "
                                              "first problem.",
    }.items()},
)
MediaVariantKind = described_enum(
    models.MediaVariantKind,
    name="MediaVariantKind",
    description="A smaller WebP rendition of an image (or of a video's poster frame) made after finalizeUpload.",
    values={
        models.MediaVariantKind.THUMB: "At most 320 px on the long side: for lists and grids. A video has only this.",
        models.MediaVariantKind.PREVIEW: "At most 1600 px on the long side: for viewing on screen without "
                                         "downloading the original.",
    },
)

TimeseriesMetric = described_enum(
    Metric,
    name="TimeseriesMetric",
    description="What `admin.timeseries` counts per day.",
    values={
        Metric.SIGNUPS: "Accounts registered that UTC day.",
        Metric.COMPLETIONS: "Task completions recorded for that UTC day (by `completedAt`).",
    },
)

HomeFeature = described_enum(
    catalogue.HomeFeature,
    name="HomeFeature",
    description="Something a home has that some chores need. POOL, SEPTIC, FIREPLACE, BASEMENT and SPRINKLERS "
                "come from the home profile's has* flags (unset counts as absent); ROOF, GUTTERS, YARD and EXTERIOR "
                "from the residence type: every type but APARTMENT and CONDO has them (ROOF and GUTTERS not when "
                "the profile's roof is NONE).",
    values={
        catalogue.HomeFeature.POOL: "A swimming pool (HomeProfile.hasPool).",
        catalogue.HomeFeature.SEPTIC: "A septic tank and drain field (HomeProfile.hasSeptic).",
        catalogue.HomeFeature.FIREPLACE: "A fireplace or chimney (HomeProfile.hasFireplace).",
        catalogue.HomeFeature.BASEMENT: "A basement (HomeProfile.hasBasement).",
        catalogue.HomeFeature.SPRINKLERS: "Lawn sprinklers or irrigation (HomeProfile.hasSprinklers).",
        catalogue.HomeFeature.ROOF: "A roof the household looks after.",
        catalogue.HomeFeature.GUTTERS: "Gutters and downspouts the household looks after.",
        catalogue.HomeFeature.YARD: "A lawn or garden of its own.",
        catalogue.HomeFeature.EXTERIOR: "Outside walls, doors and grounds of its own (siding, deck, driveway).",
    },
)

Season = described_enum(
    catalogue.Season,
    name="Season",
    description="The time of year a seasonal template is best done (northern-hemisphere meteorological seasons).",
    values={
        catalogue.Season.SPRING: "March to May.",
        catalogue.Season.SUMMER: "June to August.",
        catalogue.Season.FALL: "September to November.",
        catalogue.Season.WINTER: "December to February.",
    },
)

TemplateImportance = described_enum(
    catalogue.Importance,
    name="TemplateImportance",
    description="How much a template's chore matters; the base of its suggestion score.",
    values={
        catalogue.Importance.ESSENTIAL: "Skipping it risks safety or costly damage (score 3).",
        catalogue.Importance.RECOMMENDED: "Worth doing in most homes it applies to (score 2).",
        catalogue.Importance.OPTIONAL: "Nice to keep up (score 1).",
    },
)

ResidenceRole = described_enum(
    models.ResidenceRole,
    name="ResidenceRole",
    description="What a member may do in a residence; each role may do everything the roles below it may.",
    values={
        models.ResidenceRole.OWNER: "Also edits and deletes the residence, makes and revokes share codes and "
                                    "removes members. A residence always keeps at least one.",
        models.ResidenceRole.EDITOR: "Also creates, changes, completes and deletes tasks and documents, and uploads "
                                     "their files.",
        models.ResidenceRole.VIEWER: "Reads the residence, its members, tasks, documents and files.",
    },
)

ResidenceType = described_enum(
    models.ResidenceType,
    name="ResidenceType",
    description="What kind of home a residence is. APARTMENT and CONDO get no roof, gutter, yard or exterior "
                "suggestions (the building looks after those).",
    values={
        models.ResidenceType.HOUSE: "A detached house (the default).",
        models.ResidenceType.APARTMENT: "A rented or owned flat in a building the household does not maintain.",
        models.ResidenceType.CONDO: "An owned unit in a building an association maintains.",
        models.ResidenceType.TOWNHOUSE: "A house sharing walls with its neighbours, with its own roof and yard.",
        models.ResidenceType.MOBILE_HOME: "A manufactured or mobile home.",
        models.ResidenceType.CABIN: "A cabin or holiday home, often closed for part of the year.",
        models.ResidenceType.OTHER: "Anything else.",
    },
)

HeatingSystem = described_enum(
    models.HeatingSystem,
    name="HeatingSystem",
    description="How a home is heated (HomeProfile.heating).",
    values={
        models.HeatingSystem.FORCED_AIR_GAS: "A gas furnace blowing air through ducts.",
        models.HeatingSystem.HEAT_PUMP: "An air- or ground-source heat pump.",
        models.HeatingSystem.BOILER: "A boiler heating water for radiators.",
        models.HeatingSystem.ELECTRIC_BASEBOARD: "Electric baseboard or panel heaters.",
        models.HeatingSystem.RADIANT: "Radiant floor or ceiling heating.",
        models.HeatingSystem.WOOD_STOVE: "A wood or pellet stove.",
        models.HeatingSystem.NONE: "No heating system.",
        models.HeatingSystem.OTHER: "Another kind of heating.",
    },
)

CoolingSystem = described_enum(
    models.CoolingSystem,
    name="CoolingSystem",
    description="How a home is cooled (HomeProfile.cooling).",
    values={
        models.CoolingSystem.CENTRAL_AC: "Central air conditioning through ducts.",
        models.CoolingSystem.HEAT_PUMP: "A heat pump, also used for heating.",
        models.CoolingSystem.WINDOW_UNITS: "Window or portable air conditioners.",
        models.CoolingSystem.MINI_SPLIT: "Ductless mini-split units.",
        models.CoolingSystem.EVAPORATIVE: "An evaporative (swamp) cooler.",
        models.CoolingSystem.NONE: "No cooling system.",
        models.CoolingSystem.OTHER: "Another kind of cooling.",
    },
)

WaterHeaterType = described_enum(
    models.WaterHeaterType,
    name="WaterHeaterType",
    description="How a home heats its water (HomeProfile.waterHeater).",
    values={
        models.WaterHeaterType.TANK_GAS: "A gas-fired storage tank.",
        models.WaterHeaterType.TANK_ELECTRIC: "An electric storage tank.",
        models.WaterHeaterType.TANKLESS_GAS: "A gas tankless (on-demand) heater.",
        models.WaterHeaterType.TANKLESS_ELECTRIC: "An electric tankless (on-demand) heater.",
        models.WaterHeaterType.HEAT_PUMP: "A heat-pump water heater (with a tank).",
        models.WaterHeaterType.SOLAR: "Solar water heating (with a tank).",
        models.WaterHeaterType.NONE: "No water heater of its own.",
        models.WaterHeaterType.OTHER: "Another kind of water heater.",
    },
)

RoofType = described_enum(
    models.RoofType,
    name="RoofType",
    description="What a home's roof is covered with (HomeProfile.roof).",
    values={
        models.RoofType.ASPHALT_SHINGLE: "Asphalt or composite shingles.",
        models.RoofType.METAL: "Metal panels or shingles.",
        models.RoofType.TILE: "Clay or concrete tiles.",
        models.RoofType.SLATE: "Slate.",
        models.RoofType.WOOD_SHAKE: "Wood shakes or shingles.",
        models.RoofType.FLAT_MEMBRANE: "A flat roof with a membrane (EPDM, TPO, bitumen).",
        models.RoofType.NONE: "No roof to look after (no roof or gutter suggestions).",
        models.RoofType.OTHER: "Another covering.",
    },
)

ClimateRegion = described_enum(
    models.ClimateRegion,
    name="ClimateRegion",
    description="The climate a home is in, as its owner judges it (HomeProfile.climateRegion); seasonal "
                "suggestions follow it.",
    values={
        models.ClimateRegion.COLD: "Long freezing winters, snow.",
        models.ClimateRegion.MIXED: "Cold winters and hot summers.",
        models.ClimateRegion.HOT_HUMID: "Hot, humid summers, mild winters; storms.",
        models.ClimateRegion.HOT_DRY: "Hot, dry summers; wildfire risk.",
        models.ClimateRegion.MARINE: "Mild, damp all year (coastal).",
        models.ClimateRegion.TROPICAL: "Warm all year, wet seasons, hurricanes.",
    },
)

NotificationType = described_enum(
    models.NotificationType,
    name="NotificationType",
    description="What a notification is about; each type has its own preference.",
    values={
        models.NotificationType.TASK_DUE_SOON: "A task comes due soon (on lead days that depend on its frequency, "
                                               "e.g. 30, 14, 7 and 0 days before for ANNUAL).",
        models.NotificationType.TASK_OVERDUE: "A task is overdue (1, 2 and 3 days after, then every 3 days until "
                                              "14).",
        models.NotificationType.WARRANTY_EXPIRING: "A document of a residence the user owns expires in 30 or 7 "
                                                   "days.",
        models.NotificationType.RESIDENCE_SHARED: "Someone joined a residence the user owns with a share code.",
        models.NotificationType.ONBOARDING: "The getting-started emails: welcome (once the address is verified), "
                                            "add your home (2 days after sign-up, without one) and add your "
                                            "first task (5 days after, without one). Email only, never in the "
                                            "app; hourOfDay does not apply (they go out daily at 16:00 UTC).",
        models.NotificationType.DATA_EXPORT_READY: "A data export the user asked for (requestDataExport) is ready "
                                                   "to download; sent at once, not at the preferred hour. Turning "
                                                   "it off stops only the in-app notification: the email with the "
                                                   "link is always sent.",
    },
)
NotificationChannelKind = described_enum(
    models.NotificationChannelKind,
    name="NotificationChannelKind",
    description="How a notification channel reaches the user.",
    values={
        models.NotificationChannelKind.WEBHOOK: "A JSON POST to an https URL, signed with `X-Honeydue-Signature: "
                                                "sha256=<hex HMAC-SHA256 of the raw body keyed with the secret>` "
                                                "(docs/notifications.md).",
        models.NotificationChannelKind.APPRISE: "Any Apprise URL (ntfy, Telegram, Discord, Pushover, Gotify, "
                                                "Matrix, email, ...), sent through the apprise library.",
    },
)
DeliveryKind = described_enum(
    models.DeliveryKind,
    name="DeliveryKind",
    description="What a delivery went to.",
    values={
        models.DeliveryKind.WEBHOOK: "A WEBHOOK channel.",
        models.DeliveryKind.APPRISE: "An APPRISE channel.",
        models.DeliveryKind.IOS: "An iOS device (APNs).",
        models.DeliveryKind.ANDROID: "An Android device (FCM).",
        models.DeliveryKind.WEB: "A browser (Web Push).",
    },
)
DeliveryStatus = described_enum(
    models.DeliveryStatus,
    name="DeliveryStatus",
    description="Where a delivery is.",
    values={
        models.DeliveryStatus.QUEUED: "Waiting for its first or next attempt (a 429, 5xx or timeout is retried "
                                      "with back-off).",
        models.DeliveryStatus.SENT: "The receiver took it.",
        models.DeliveryStatus.FAILED: "Refused for good, the target is gone or dead, or out of attempts; "
                                      "`lastError` says why.",
    },
)

TaskCategory = described_enum(
    models.TaskCategory,
    name="TaskCategory",
    description="What part of the home a task is about; for filtering and icons.",
    values={
        models.TaskCategory.HVAC: "Heating, ventilation and air conditioning: filters, boilers, heat pumps.",
        models.TaskCategory.PLUMBING: "Pipes, drains, taps, water heaters.",
        models.TaskCategory.ELECTRICAL: "Wiring, breakers, outlets, lighting.",
        models.TaskCategory.APPLIANCES: "Fridge, washer, dishwasher, oven and other machines.",
        models.TaskCategory.EXTERIOR: "Roof, gutters, walls, windows and doors from outside.",
        models.TaskCategory.INTERIOR: "Walls, floors, ceilings, fittings inside.",
        models.TaskCategory.LAWN_GARDEN: "Lawn, plants, trees, garden equipment.",
        models.TaskCategory.SAFETY: "Smoke and CO detectors, extinguishers, alarms.",
        models.TaskCategory.CLEANING: "Cleaning and tidying.",
        models.TaskCategory.OTHER: "Anything else (the default).",
    },
)

TaskPriority = described_enum(
    models.TaskPriority,
    name="TaskPriority",
    description="How much a task matters; it orders nothing by itself, clients show it.",
    values={
        models.TaskPriority.LOW: "Can wait.",
        models.TaskPriority.MEDIUM: "Normal (the default).",
        models.TaskPriority.HIGH: "Should be done soon.",
        models.TaskPriority.URGENT: "Needs doing now.",
    },
)

TaskFrequency = described_enum(
    models.TaskFrequency,
    name="TaskFrequency",
    description="How often a task recurs. Completing a recurring task moves its due date to the next date of the "
                "schedule; `rolling` decides from where.",
    values={
        models.TaskFrequency.ONCE: "Does not recur: completing it makes it done (`completed`, no due date).",
        models.TaskFrequency.DAILY: "Every day.",
        models.TaskFrequency.WEEKLY: "Every 7 days.",
        models.TaskFrequency.BIWEEKLY: "Every 14 days.",
        models.TaskFrequency.MONTHLY: "Every calendar month, on the same day (or the month's last day).",
        models.TaskFrequency.QUARTERLY: "Every 3 calendar months.",
        models.TaskFrequency.ANNUAL: "Every 12 calendar months.",
        models.TaskFrequency.CUSTOM: "Every `intervalDays` days (1 to 36600).",
    },
)

RotationMode = described_enum(
    models.RotationMode,
    name="RotationMode",
    description="Who a task is assigned to after each completion (`Task.rotation`). Skips move no one on.",
    values={
        models.RotationMode.FIXED: "The assignee stays whoever `assigneeId` says (the default); no member list.",
        models.RotationMode.ROUND_ROBIN: "The members take turns in the rotation's order: after each completion the "
                                         "member after the current assignee, wrapping round to the first.",
        models.RotationMode.FEWEST_COMPLETIONS: "After each completion, the member with the fewest completions of "
                                                "this task (skips do not count); ties go to the earliest in the "
                                                "rotation's order.",
    },
)

TaskColumn = described_enum(
    _TaskColumn,
    name="TaskColumn",
    description="The Kanban column a task sits in, judged on today's date in its residence's timezone. The first "
                "that applies, in this order: CANCELLED, COMPLETED, IN_PROGRESS, then by due date.",
    values={
        _TaskColumn.OVERDUE: "Open and due before today.",
        _TaskColumn.DUE_SOON: "Open and due today or within the next 30 days.",
        _TaskColumn.UPCOMING: "Open and due more than 30 days from now, or without a due date.",
        _TaskColumn.IN_PROGRESS: "Started (`inProgress`) and not completed or cancelled.",
        _TaskColumn.COMPLETED: "A ONCE task that has been done (and not cancelled).",
        _TaskColumn.CANCELLED: "Cancelled (`cancelled`).",
    },
)
