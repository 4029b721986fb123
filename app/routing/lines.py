"""An order-statistics list of sort keys, so that a place in line costs O(sqrt n), not O(n).

The waiting heaps answer "who is first" but not "how many are ahead of me"; counting a heap
costs the whole line, and the API asks for a position on every create and every read of a
waiting interaction. A `Line` holds the sort keys of exactly the live waiting entries of one
heap (kept in step by the engine) as a list of short sorted lists: `rank` bisects the short
list's maxima, sums the lengths before it and bisects inside one list. Inserts and removals
move at most `_LOAD` * 2 references.
"""

from __future__ import annotations

from bisect import bisect_left, insort

LineKey = tuple[float, float, int]
"""(rank, queued_at, seq): the order of a waiting heap without its lazy-deletion fields."""

# Sublists split beyond twice this length; around a thousand keeps memmoves small while the
# sum over sublists stays short even at 100,000 waiting in one line.
_LOAD = 1_000


class Line:
    """A multiset of `LineKey`s answering "how many keys are smaller than this one"."""

    __slots__ = ("_lists", "_maxes", "_size")

    def __init__(self) -> None:
        self._lists: list[list[LineKey]] = []
        self._maxes: list[LineKey] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, key: LineKey) -> None:
        """Insert `key` (duplicates are kept)."""
        maxes = self._maxes
        self._size += 1
        if not maxes:
            self._lists.append([key])
            maxes.append(key)
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

    def remove(self, key: LineKey) -> None:
        """Remove one occurrence of `key`; a missing key is a bug in the caller (ValueError)."""
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            raise ValueError(f"{key!r} is not in the line")
        part = self._lists[i]
        j = bisect_left(part, key)
        if j == len(part) or part[j] != key:
            raise ValueError(f"{key!r} is not in the line")
        del part[j]
        self._size -= 1
        if not part:
            del self._lists[i]
            del maxes[i]
        elif j == len(part):
            maxes[i] = part[-1]

    def rank(self, key: LineKey) -> int:
        """How many keys are strictly smaller than `key`."""
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return self._size
        before = sum(map(len, self._lists[:i])) if i else 0
        return before + bisect_left(self._lists[i], key)
