"""Entry point for Tortoise's own CLI when authoring migrations.

``python -m tortoise -c honeydue.migration_config.TORTOISE_ORM makemigrations``
writes the next file into ``migrations/``; ``honeydue migrate`` applies them.
The database is an in-memory SQLite: the autodetector reads model state from
the migration files, not from a live database.
"""

TORTOISE_ORM = {
    "connections": {"default": "sqlite://:memory:"},
    "apps": {"honeydue": {"models": ["honeydue.models"], "migrations": "migrations"}},
}
