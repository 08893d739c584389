"""Walk two key-ordered listings side by side, a page at a time: a sorted merge of two paginated streams.

The backup job compares the primary bucket with the backup, ``verify-backup`` reports their differences and
the reconcile job compares the bucket with the media rows. None of them may hold a whole listing: a bucket
has millions of keys. Both inputs must come in the same key order (S3 lists keys in UTF-8 byte order, which
is Python's ``str`` order); the walker reads each side one page at a time and holds at most that page, so
memory is bounded by ``page_size`` whatever the bucket's size. ``peak_held`` records the most it held at
once per side, so a test can check the bound structurally.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

DEFAULT_PAGE_SIZE = 1000  # S3's own listing page


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


L = TypeVar("L", bound=Keyed)
R = TypeVar("R", bound=Keyed)


class ListingOrderError(RuntimeError):
    """A listing was not in ascending key order: merging it would report false differences."""


@dataclass(frozen=True)
class Pair(Generic[L, R]):
    """One key and what each side has under it (None where that side lacks it)."""

    key: str
    left: L | None
    right: R | None


class _PagedSide(Generic[L]):
    """One listing read a page at a time into a buffer that never exceeds the page."""

    def __init__(self, items: AsyncIterator[L], page_size: int, name: str) -> None:
        self._items = items
        self._page_size = page_size
        self._name = name
        self._buffer: deque[L] = deque()
        self._done = False
        self._last: str | None = None
        self.peak_held = 0

    async def peek(self) -> L | None:
        if not self._buffer and not self._done:
            await self._fill()
        return self._buffer[0] if self._buffer else None

    def pop(self) -> L:
        return self._buffer.popleft()

    async def _fill(self) -> None:
        while len(self._buffer) < self._page_size:
            try:
                item = await anext(self._items)
            except StopAsyncIteration:
                self._done = True
                break
            if self._last is not None and item.key <= self._last:
                raise ListingOrderError(f"{self._name} listing out of order: {item.key!r} after {self._last!r}")
            self._last = item.key
            self._buffer.append(item)
        self.peak_held = max(self.peak_held, len(self._buffer))


class SortedMerge(Generic[L, R]):
    """Iterate ``Pair``s in key order over two ascending listings (each key once)."""

    def __init__(self, left: AsyncIterator[L], right: AsyncIterator[R], page_size: int = DEFAULT_PAGE_SIZE) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._left: _PagedSide[L] = _PagedSide(left, page_size, "left")
        self._right: _PagedSide[R] = _PagedSide(right, page_size, "right")

    @property
    def peak_held(self) -> int:
        """The most items one side's buffer held at once."""
        return max(self._left.peak_held, self._right.peak_held)

    def __aiter__(self) -> AsyncIterator[Pair[L, R]]:
        return self._walk()

    async def _walk(self) -> AsyncIterator[Pair[L, R]]:
        while True:
            left, right = await self._left.peek(), await self._right.peek()
            if left is None and right is None:
                return
            if right is None or (left is not None and left.key < right.key):
                yield Pair(self._left.pop().key, left, None)
            elif left is None or right.key < left.key:
                yield Pair(self._right.pop().key, None, right)
            else:
                self._left.pop()
                self._right.pop()
                yield Pair(left.key, left, right)
