"""CRM modules read side by side, with Singer output as valid as one module after another.

The SDK's ``Tap.sync_all`` calls ``stream.sync()`` for one stream after another. Here a CRM
stream's ``sync()`` hands the real sync to a worker thread (at most ``max_parallel_modules`` at
once) and returns; the main thread then writes every message the workers produce, in order per
stream, from one bounded queue. So:

* each message line is written whole, by one thread; a stream's SCHEMA precedes its records;
* a worker's STATE becomes a snapshot of *its own* bookmark, taken in the worker right after the
  records it covers were queued; the main thread writes the tap state made of the snapshots of
  the messages already written (never a bookmark ahead of a written record);
* memory stays bounded: a worker blocks when the queue is full.

Calls are limited across all workers by the run's one gated session (:mod:`tap_zoho.api.credits`).

This is the one module that overrides methods the SDK marks ``@final``, because no public hook
lets a stream's sync run elsewhere or its messages go anywhere but the tap's writer:

* ``Tap.sync_all``: the workers start with the SDK's loop and are drained after it; the tap's
  own start and end of a run (:meth:`ParallelTap.run_sync`) wrap the same call;
* ``Tap.write_message``: a worker's message goes to the queue, the main thread's to the writer;
* ``Stream.sync``: a module's whole sync is what a worker runs.

SDK members this relies on (the SDK's minor series is pinned; the tap's parallel tests fail
loudly when one changes): streams write through ``Tap.write_message`` and
``Tap.state_writer.write_state(tap_state)``; ``Tap.sync_all`` calls ``stream.sync()`` then
``stream.finalize_state_progress_markers()``; ``Tap._handle_termination`` writes ``Tap.state``.
"""

from __future__ import annotations

import copy
import queue
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

from singer_sdk import Tap
from singer_sdk.streams import Stream
from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from singer_sdk.helpers.types import TapState

QUEUE_MESSAGES = 2000


class ParallelModules:
    """Worker threads for module syncs and the queue the main thread writes from."""

    def __init__(self, tap: ParallelTap, workers: int) -> None:
        """Nothing runs until :meth:`submit`."""
        self._tap = tap
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="module")
        self._queue: queue.Queue[tuple[t.Any, ...]] = queue.Queue(maxsize=QUEUE_MESSAGES)
        self._local = threading.local()
        self._owned: set[str] = set()
        self._written: dict[str, t.Any] = {}
        self._pending = 0

    def in_worker(self) -> bool:
        """True in a worker thread (whose messages go through the queue)."""
        return getattr(self._local, "stream", None) is not None

    def owns(self, name: str) -> bool:
        """True when ``name`` is synced by a worker."""
        return name in self._owned

    @property
    def active(self) -> bool:
        """True once a module has been handed to a worker."""
        return bool(self._owned)

    def submit(self, name: str, bookmarks: dict[str, t.Any], run: Callable[[], None]) -> None:
        """Run ``run`` (a stream's sync) in a worker; its saved bookmark stands until then."""
        if name in bookmarks:
            self._written[name] = copy.deepcopy(bookmarks[name])
        self._owned.add(name)
        self._pending += 1
        self._pool.submit(self._work, name, run)

    def _work(self, name: str, run: Callable[[], None]) -> None:
        self._local.stream = name
        error: BaseException | None = None
        try:
            run()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            error = exc
        finally:
            self._local.stream = None
            self._queue.put(("done", name, error))

    def message(self, message: t.Any) -> None:
        """Queue a worker's message."""
        self._queue.put(("message", message))

    def state(self, state: dict[str, t.Any]) -> None:
        """Queue a snapshot of the calling worker's own bookmark."""
        name = self._local.stream
        own = (state.get("bookmarks") or {}).get(name)
        self._queue.put(("state", name, copy.deepcopy(own)))

    def compose(self, live: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The tap state covering written messages: workers' snapshots, others' live state."""
        out = {key: copy.deepcopy(value) for key, value in live.items() if key != "bookmarks"}
        bookmarks: dict[str, t.Any] = {}
        for name, value in list((live.get("bookmarks") or {}).items()):
            if name not in self._owned:
                bookmarks[name] = copy.deepcopy(value)
            elif name in self._written:
                bookmarks[name] = self._written[name]
        out["bookmarks"] = bookmarks
        return out

    def drain(
        self, write_message: Callable[[t.Any], None], write_state: Callable[[], None]
    ) -> None:
        """Write every queued message until all workers are done; re-raise a worker's error."""
        error: BaseException | None = None
        try:
            while self._pending:
                item = self._queue.get()
                if item[0] == "message":
                    write_message(item[1])
                elif item[0] == "state":
                    if item[2] is not None:
                        self._written[item[1]] = item[2]
                    write_state()
                else:
                    self._pending -= 1
                    error = error or item[2]
        finally:
            self._pool.shutdown(wait=True)
        if error is not None:
            raise error


class ParallelTap(Tap):
    """Tap mixin: CRM module streams run side by side (``max_parallel_modules``)."""

    _parallel: ParallelModules | None = None

    @override  # type: ignore[misc]  # Tap.sync_all is @final: the module docstring says why
    def sync_all(self) -> None:
        """The SDK's sync inside :meth:`run_sync`, module syncs handed to workers."""
        self.run_sync(self._sync_streams)

    def run_sync(self, sync: Callable[[], None]) -> None:
        """Run ``sync``, the sync of every selected stream; a tap adds its start and end."""
        sync()

    def _sync_streams(self) -> None:
        """The SDK's sync, with module syncs handed to workers, then their output written."""
        workers = int(self.config.get("max_parallel_modules", 4))
        if workers <= 1:
            super().sync_all()
            return
        self._parallel = ParallelModules(self, workers)
        try:
            super().sync_all()
            self._parallel.drain(super().write_message, self._write_covered_state)
            self._write_covered_state()
        finally:
            self._parallel = None

    def _write_covered_state(self) -> None:
        super().state_writer.write_state(self.state)

    @property
    def live_state(self) -> TapState:
        """The SDK's state dict, which the streams update as they read."""
        return super().state

    @property
    @override
    def state(self) -> TapState:
        """While workers run: only what written messages cover (also what SIGTERM writes)."""
        live = self.live_state
        parallel = self._parallel
        if parallel is None or not parallel.active:
            return live
        return t.cast("TapState", parallel.compose(live))

    @override  # type: ignore[misc]  # @final: workers' messages must go through the queue
    def write_message(self, message: t.Any) -> None:
        """A worker's message is queued; the main thread writes."""
        parallel = self._parallel
        if parallel is not None and parallel.in_worker():
            parallel.message(message)
        else:
            super().write_message(message)

    @property
    @override
    def state_writer(self) -> t.Any:
        """Workers' STATE becomes a snapshot of their bookmark; the main thread's is covered."""
        parallel = self._parallel
        if parallel is None:
            return super().state_writer
        return _StateProxy(self, parallel)


class _StateProxy:
    """What ``Tap.state_writer`` is while modules run side by side."""

    def __init__(self, tap: ParallelTap, parallel: ParallelModules) -> None:
        self._tap = tap
        self._parallel = parallel

    def write_state(self, state: dict[str, t.Any]) -> None:
        """Queue a worker's bookmark, or write the covered state from the main thread."""
        if self._parallel.in_worker():
            self._parallel.state(state)
        else:
            self._tap._write_covered_state()  # noqa: SLF001


class ParallelSync(Stream):
    """Stream mixin: ``sync()`` runs in a worker when the tap reads modules side by side."""

    @override  # type: ignore[misc]  # Stream.sync is @final: it is what runs in a worker
    def sync(self, context: t.Any = None) -> None:
        """Hand the sync to a worker (or sync here, one module at a time)."""
        parallel: ParallelModules | None = getattr(self._tap, "_parallel", None)
        if parallel is None or parallel.in_worker():
            super().sync(context)
            return
        bookmarks = t.cast("ParallelTap", self._tap).live_state.get("bookmarks") or {}
        parallel.submit(self.name, bookmarks, lambda: self._sync_in_worker(context))

    def _sync_in_worker(self, context: t.Any) -> None:
        super().sync(context)
        super().finalize_state_progress_markers()

    @override
    def finalize_state_progress_markers(self, state: dict[str, t.Any] | None = None) -> None:
        """Done by the worker when its sync ends, not by the SDK's loop while it runs."""
        parallel: ParallelModules | None = getattr(self._tap, "_parallel", None)
        if parallel is not None and parallel.owns(self.name) and not parallel.in_worker():
            return
        super().finalize_state_progress_markers(state)
