"""Remembered deliveries survive a restart and leave the window when it has passed."""

from __future__ import annotations

import time

from zoho_sync_service.history import History
from zoho_sync_service.replay import ReplayGuard


def test_remembered_deliveries_survive_reopening_and_expire_with_the_window(tmp_path):
    history = History(tmp_path / "h.db")
    guard = ReplayGuard(history, window=600)
    guard.remember("a")
    guard.remember("old", now=time.time() - 700)
    assert guard.seen("a")
    assert not guard.seen("old")
    assert not guard.seen("b")
    guard.flush()
    history.close()

    reopened = History(tmp_path / "h.db")
    again = ReplayGuard(reopened, window=600)
    assert again.seen("a")
    assert not again.seen("old")
    reopened.close()


def test_the_memory_and_the_table_keep_only_the_newest(tmp_path):
    history = History(tmp_path / "h.db")
    guard = ReplayGuard(history, window=600, capacity=3)
    for digest in "abcde":
        guard.remember(digest)
    assert [d for d in "abcde" if guard.seen(d)] == ["c", "d", "e"]
    guard.flush()
    stored = [d for d, _ in history.recent_deliveries(0, 100)]
    assert stored == ["c", "d", "e"]
    history.close()


def test_a_zero_window_remembers_nothing(tmp_path):
    history = History(tmp_path / "h.db")
    guard = ReplayGuard(history, window=0)
    guard.remember("a")
    assert not guard.seen("a")
    history.close()
