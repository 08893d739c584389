"""Enqueue background jobs by actor name, without importing the workers package.

The broker is installed by whoever assembles the process (``workers.broker``);
the API only needs to send a message. A failed send is logged and reported as
False. Every job the API sends has a durable record: purges are re-sent by a periodic sweeper; notification
emails (``send_notifications``) are tried at most once, like reminders' emails, behind the in-app notification.
"""

from __future__ import annotations

import logging

import dramatiq

log = logging.getLogger(__name__)


def enqueue(actor_name: str, *args: object, queue_name: str = "default") -> bool:
    try:
        broker = dramatiq.get_broker()
        broker.enqueue(
            dramatiq.Message(queue_name=queue_name, actor_name=actor_name, args=args, kwargs={}, options={})
        )
        return True
    except Exception as exc:  # the broker may be down; the sweeper retries from the database
        log.warning("could not enqueue %s: %s", actor_name, exc.__class__.__name__)
        return False
