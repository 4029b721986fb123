"""A sorted line of waiting keys: who is first in O(1), a place in line in O(sqrt n).

A line answers both "who is first" (routing) and "how many are ahead of me" (the API asks
for a position on every create and every read of a waiting interaction). It holds the sort
keys of exactly the interactions waiting in it (kept in step by the engine) as a list of
short sorted lists: `rank` bisects the short lists' maxima, sums the lengths before it and
bisects inside one list. Inserts and removals move at most `_LOAD` * 2 references.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

from app.routing.model import InteractionId

LineKey = tuple[float, float, int, InteractionId]
"""(rank, queued_at, seq, interaction id): the routing order of waiting interactions.

Keys hold only numbers and a string, never the interaction itself: the garbage collector
then stops tracking them, which keeps its full collections short when 100,000 wait."""

# Sublists split beyond twice this length; around a thousand keeps memmoves small while the
# sum over sublists stays short even at 100,000 waiting in one line.
_LOAD = 1_000


class Line:
    """A multiset of `LineKey`s answering "how many keys are smaller than this one"."""

    __slots__ = ("_lists", "_maxes", "_size", "head")

    def __init__(self) -> None:
        self._lists: list[list[LineKey]] = []
        self._maxes: list[LineKey] = []
        self._size = 0
        # The smallest key, or None when empty: kept on every change because routing reads
        # the head of several lines per decision, and an attribute costs less than a call.
        self.head: LineKey | None = None

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[LineKey]:
        """The keys in order, smallest first."""
        for part in self._lists:
            yield from part

    def add(self, key: LineKey) -> None:
        """Insert `key` (duplicates are kept)."""
        maxes = self._maxes
        self._size += 1
        if not maxes:
            self._lists.append([key])
            maxes.append(key)
            self.head = key
            return
        i = bisect_left(maxes, key)
        if i == len(maxes):
            i -= 1
            self._lists[i].append(key)
            maxes[i] = key
        else:
            insort(self._lists[i], key)
        part = self._lists[i]
        if len(part) > 2 * _LOAD:
            self._lists[i : i + 1] = [part[:_LOAD], part[_LOAD:]]
            maxes[i : i + 1] = [part[_LOAD - 1], part[-1]]
        self.head = self._lists[0][0]

    def remove(self, key: LineKey) -> None:
        """Remove one occurrence of `key`; a missing key is a bug in the caller (ValueError)."""
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            raise ValueError(f"{key!r} is not in the line")
        part = self._lists[i]
        # Routing mostly removes the head, and callers pass the very key object they added.
        j = 0 if part[0] is key else bisect_left(part, key)
        if j == len(part) or part[j] != key:
            raise ValueError(f"{key!r} is not in the line")
        del part[j]
        self._size -= 1
        if not part:
            del self._lists[i]
            del maxes[i]
        elif j == len(part):
            maxes[i] = part[-1]
        self.head = self._lists[0][0] if self._lists else None

    def rank(self, key: LineKey | tuple[float, float, int]) -> int:
        """How many keys are strictly smaller than `key` (a 3-field prefix counts keys before
        every key that starts with it)."""
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return self._size
        before = sum(map(len, self._lists[:i])) if i else 0
        return before + bisect_left(self._lists[i], key)
