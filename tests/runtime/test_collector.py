"""The server entry points tune Python's garbage collector; tests keep the defaults."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.runtime import collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    """Put the collector back as it was after the test."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tuning_freezes_what_exists_and_collects_young_objects_less_often(
    restored_collector: None,
) -> None:
    collector.tune_for_service()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (
        collector.YOUNG_THRESHOLD,
        collector.MIDDLE_THRESHOLD,
        collector.OLD_THRESHOLD,
    )
