"""Making administrators from the command line (``honeydue createadmin``)."""

from __future__ import annotations

from honeydue.db import close_db, init_db
from honeydue.models import User
from honeydue.passwords import hash_password, password_problem
from honeydue.settings import Settings


async def create_admin(settings: Settings, email: str, password: str, display_name: str) -> User:
    """Create an admin, or promote an existing account (its password is left alone then)."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError("not an email address")
    await init_db(settings)
    try:
        user = await User.get_or_none(email=email)
        if user is not None:
            user.is_admin = True
            await user.save(update_fields=["is_admin"])
            return user
        problem = password_problem(password, email)
        if problem:
            raise ValueError(problem)
        return await User.create(
            email=email, password_hash=hash_password(password), display_name=display_name[:100], is_admin=True
        )
    finally:
        await close_db()
