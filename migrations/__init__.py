"""Tortoise migrations for the ``honeydue`` app (applied by ``honeydue migrate``; see honeydue/db.py).

Adding a NOT NULL column to a table that may have rows needs a DEFAULT in the DDL: a field's Python
``default=`` never reaches the database, only ``db_default=`` does (Tortoise's schema editor emits
``ADD COLUMN ... NOT NULL DEFAULT <db_default>``). So every ``AddField`` of a non-null field carries
``db_default=`` equal to its ``default=``, and the model field says the same (tests/test_migrations_static.py
checks both). A value computed per row has no constant default: add the column nullable, fill it
(RunSQL/RunPython), then AlterField it to NOT NULL.

0004, 0008, 0009, 0020 and 0021 were shipped without those ``db_default``\\s and upgrading a database with rows
failed ("Cannot add a NOT NULL column with default value NULL"); they were edited in place to add them. That is
safe for a database that already applied them (migrations never re-run; its columns just lack the DEFAULT,
which nothing relies on: the ORM always sends the Python default) and lets one that has not upgrade.
"""
