"""Background work: the Dramatiq broker and actors, the periodic schedule and its leader-elected scheduler.

Job logic lives in plain async modules (``reminders``, ``cleanup``, ``purge``, ``reconcile``) that take the
clock, storage and delivery channels as arguments, so tests drive them directly; ``actors`` only adapts
them to Dramatiq messages.
"""
