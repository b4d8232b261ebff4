"""Compact storage for the recorders: numbers per (recorded step, slot, column) in NumPy arrays.

A recorder writes one row per recorded step; a *slot* is what the numbers are about (a
parameter, a group), a *column* one quantity (a statistic, ``lr``). The arrays are
preallocated and grow by doubling, so a step costs one row write, not a dict per number;
with ``max_steps`` they form a ring that keeps only the newest rows. Each cell costs 9
bytes (a float64 and a presence flag), plus the slack of doubling the rows (at most 2x).
"""

from __future__ import annotations

import numpy as np

from ._checks import require_positive_int


def check_every_and_max_steps(every: int, max_steps: int | None) -> None:
    require_positive_int(every, "every")
    if max_steps is not None:
        require_positive_int(max_steps, "max_steps")


class Table:
    """``values[row, slot, column]`` (float64, NaN where unset) and ``present[row, slot, column]``."""

    def __init__(self, columns: int, max_steps: int | None = None, rows: int = 64, slots: int = 1):
        self.max_steps = max_steps
        rows = min(rows, max_steps) if max_steps else rows
        self.values = np.full((rows, slots, columns), np.nan)
        self.present = np.zeros((rows, slots, columns), dtype=bool)
        self.steps = np.zeros(rows, dtype=np.int64)
        self.written = 0  # rows written since the start (the ring keeps the last max_steps of them)

    @property
    def nbytes(self) -> int:
        return self.values.nbytes + self.present.nbytes + self.steps.nbytes

    def new_row(self, step: int) -> int:
        """The index of a cleared row for ``step``."""
        capacity = self.values.shape[0]
        if self.max_steps is None or capacity < self.max_steps:
            if self.written == capacity:
                grow = capacity if self.max_steps is None else min(capacity, self.max_steps - capacity)
                self._resize(rows=capacity + grow)
            row = self.written
        else:
            row = self.written % capacity
        self.values[row] = np.nan
        self.present[row] = False
        self.steps[row] = step
        self.written += 1
        return row

    def ensure_slots(self, slots: int) -> None:
        """Room for ``slots`` slots (exactly: new slots are rare, e.g. a group added later)."""
        if slots > self.values.shape[1]:
            self._resize(slots=slots)

    def _resize(self, rows: int | None = None, slots: int | None = None) -> None:
        old_rows, old_slots, columns = self.values.shape
        rows, slots = rows or old_rows, slots or old_slots
        values = np.full((rows, slots, columns), np.nan)
        present = np.zeros((rows, slots, columns), dtype=bool)
        steps = np.zeros(rows, dtype=np.int64)
        values[:old_rows, :old_slots] = self.values
        present[:old_rows, :old_slots] = self.present
        steps[:old_rows] = self.steps
        self.values, self.present, self.steps = values, present, steps

    def write(self, row: int, slots: np.ndarray, start: int, block: np.ndarray) -> None:
        """Set ``block[i, j]`` at ``(row, slots[i], start + j)``."""
        stop = start + block.shape[1]
        self.values[row, slots, start:stop] = block
        self.present[row, slots, start:stop] = True

    def order(self) -> np.ndarray:
        """The filled rows, oldest first."""
        capacity = self.values.shape[0]
        if self.written <= capacity:
            return np.arange(self.written)
        start = self.written % capacity
        return np.concatenate([np.arange(start, capacity), np.arange(start)])

    def clear(self) -> None:
        self.written = 0
