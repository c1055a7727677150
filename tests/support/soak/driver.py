"""The kill-and-resume soak: seeded cycles of edits, a racing run, a SIGKILL, a resume.

Per family (CRM → ClickHouse, Books → ERP) and cycle: edit the sandbox (edits, inserts,
deletes, Lead conversions, approvals entered and left, mass updates of more than a page in one
second, Books item/contact/price-list edits and item deletions), start ``tap | target`` from the
last STATE the target printed, keep editing while it reads (a thread, plus a mass update at a
random API call), SIGKILL the tap or the target at a seeded random moment and keep the last STATE
the target printed, as Meltano would. After the cycles: one complete incremental run, then the
destination is compared with the sandbox's truth. Both families run side by side.
"""

from __future__ import annotations

import contextlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.soak.families import Comparison, CrmFamily, ErpFamily, Family
from tests.support.soak.pipeline import (
    Kill,
    RunResult,
    StoppedError,
    allow_runs,
    kill_all,
    run_pipe,
)
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.read_hooks import ReadHooks
from tests.zoho_sandbox.seed import default_specs

BIN = Path(sys.executable).parent
RECONCILE_SETTING = "items_reconcile_deletions"  # issue 9 point 8, when the tap has it
FINAL_CLOCK_SKIP = 120  # seconds the sandbox clock moves, editless, before the final run


@dataclass
class Options:
    """How long and how hard to soak."""

    cycles: int = 20
    seed: int = 1
    only: str | None = None  # "crm" or "erp"
    kill_min: float = 0.5
    kill_max: float = 10.0
    warmup: float = 3.0  # kills after this many seconds of a run are expected to keep progress
    scale: float = 1.0  # size of the seeded CRM world (1.0: 2,300 Leads, 120 Deals)
    crm_latency: float = 0.02  # seconds added to every sandbox call
    books_delay: float = 0.3  # seconds added to every Books call on top
    books_import: int = 1500  # Books items created by one import (one second) before the soak
    run_timeout: float = 300.0


@dataclass
class Cycle:
    """One killed (or completed) run of one family."""

    family: str
    cycle: int
    result: RunResult  # the run killed at the cycle's moment (or ended before it)
    resumed: RunResult  # the run resumed from the STATE the first one left, to its end
    between: int
    racing: int


@dataclass
class FamilyReport:
    """Everything one family did and found."""

    family: str
    cycles: list[Cycle] = field(default_factory=list)
    mutations: Counter[str] = field(default_factory=Counter)
    final: RunResult | None = None
    comparison: Comparison | None = None
    error: str | None = None

    def kills_after_warmup(self, warmup: float) -> list[Cycle]:
        """Cycles whose run was killed at least ``warmup`` seconds in."""
        return [c for c in self.cycles if c.result.killed and (c.result.kill_at or 0.0) >= warmup]


@dataclass
class SoakReport:
    """The figures of a whole soak."""

    options: Options
    families: list[FamilyReport]
    seconds: float
    rss_mb: list[float]  # the soak process after each cycle (flat memory)
    children_peak_rss_mb: float

    def totals(self) -> dict[str, int]:
        """Missing, extra, stale and deleted-visible rows over every family and table."""
        out: Counter[str] = Counter()
        for report in self.families:
            if report.comparison:
                for key in ("missing", "extra", "stale", "deleted_visible"):
                    out[key] += report.comparison.total(key)
        return dict(out)

    def progress_share(self) -> tuple[int, int]:
        """(kills after the warm-up that kept progress, kills after the warm-up)."""
        kills = [c for r in self.families for c in r.kills_after_warmup(self.options.warmup)]
        return sum(c.result.progressed for c in kills), len(kills)

    def passed(self) -> bool:
        """The acceptance: nothing wrong anywhere, half the late kills kept progress."""
        kept, late = self.progress_share()
        clean_finals = all(
            r.final is not None
            and r.final.clean
            and r.error is None
            and all(c.resumed.clean for c in r.cycles)
            for r in self.families
        )
        hidden_ok = all(
            h.total == h.correct for r in self.families if r.comparison for h in r.comparison.hidden
        )
        return (
            clean_finals
            and not any(self.totals().values())
            and hidden_ok
            and (late == 0 or kept * 2 >= late)
        )


def _tap_settings() -> set[str]:
    about = subprocess.run(
        [str(BIN / "tap-zoho"), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set((json.loads(about.stdout).get("settings") or {}).get("properties") or {})


def _quiet_disconnects(sandbox: Sandbox) -> None:
    """A killed tap drops its connections: the sandbox must not print a traceback for each."""
    server = sandbox._server
    if server is not None:
        vars(server)["handle_error"] = lambda request, client_address: None


def _trim_sandbox_logs(sandbox: Sandbox) -> None:
    """The sandbox keeps every request in lists for tests: empty them so memory stays flat."""
    with sandbox.stats.lock:
        sandbox.stats.log.clear()
        sandbox.stats.queries.clear()
    with sandbox.finance.lock:
        sandbox.finance.queries.clear()


class _Job:
    """A family with its config files and commands in its own directory."""

    def __init__(self, family: Family, options: Options, abort: threading.Event) -> None:
        self.family = family
        self.options = options
        self.abort = abort
        self.dir = family.workdir / family.name
        self.dir.mkdir(parents=True, exist_ok=True)
        tap_config = self.dir / "tap.json"
        tap_config.write_text(json.dumps(family.tap_config()))
        target_config = self.dir / "target.json"
        target_config.write_text(json.dumps(family.target_config()))
        self.tap = [str(BIN / "tap-zoho"), "--config", str(tap_config)]
        self.target = [
            str(BIN / family.target_command()[0]),
            "--config",
            str(target_config),
        ]
        self.report = FamilyReport(family.name)
        self.state: dict[str, Any] | None = None

    def _racing_run(
        self, number: int, purpose: str, kill: Kill | None, racing: Counter[str]
    ) -> RunResult:
        """One run from the current state, with the family editing while it reads."""
        stop = threading.Event()
        racer = threading.Thread(
            target=self.family.race, args=(number, purpose, stop, racing), daemon=True
        )
        racer.start()
        try:
            result = run_pipe(
                self.tap,
                self.target,
                self.dir,
                self.state,
                kill=kill,
                timeout=self.options.run_timeout,
            )
        finally:
            stop.set()
            racer.join(30)
        self.state = result.state  # what Meltano would have persisted
        return result

    def cycle(self, number: int, on_cycle: Callable[[Cycle], None]) -> None:
        """Edit, run and kill at a seeded moment, then resume from the kept STATE to the end."""
        family, options = self.family, self.options
        rng = family.rng(number, "cycle")
        between: Counter[str] = Counter()
        family.mutate(rng, number, between)
        kill = Kill(rng.choice(["tap", "target"]), rng.uniform(options.kill_min, options.kill_max))
        racing: Counter[str] = Counter()
        killed = self._racing_run(number, "race-killed", kill, racing)
        resumed = self._racing_run(number, "race-resumed", None, racing)
        self.report.mutations.update(between)
        self.report.mutations.update(racing)
        row = Cycle(
            family.name, number, killed, resumed, sum(between.values()), sum(racing.values())
        )
        self.report.cycles.append(row)
        on_cycle(row)

    def cycles(self, on_cycle: Callable[[Cycle], None]) -> None:
        try:
            for number in range(1, self.options.cycles + 1):
                if self.abort.is_set():
                    return
                self.cycle(number, on_cycle)
        except StoppedError:
            return
        except Exception as err:  # reported in the figures, never silent
            self.report.error = f"cycle failed: {type(err).__name__}: {err}"
            raise

    def final(self) -> None:
        if self.report.error or self.abort.is_set():
            return
        try:
            self.report.final = run_pipe(
                self.tap, self.target, self.dir, self.state, timeout=self.options.run_timeout
            )
            self.report.comparison = self.family.compare()
        except StoppedError:
            return
        except Exception as err:
            self.report.error = f"final run failed: {type(err).__name__}: {err}"
            raise
        if not self.report.final.clean:
            log = (self.dir / "tap.log").read_text(errors="replace")[-2000:]
            target_log = (self.dir / "target.log").read_text(errors="replace")[-2000:]
            self.report.error = (
                f"final run not clean (tap rc {self.report.final.tap_rc}, target rc "
                f"{self.report.final.target_rc}); tap log tail: {log!r}; target log tail: "
                f"{target_log!r}"
            )


def _run_threads(
    jobs: list[_Job], method: Callable[[_Job], None], started: list[threading.Thread]
) -> None:
    threads = [threading.Thread(target=method, args=(job,), daemon=True) for job in jobs]
    started += threads
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)  # short waits: Ctrl-C reaches this thread


def _rss_mb(who: int) -> float:
    """Peak resident memory of this process or of its largest child, in MB."""
    return resource.getrusage(who).ru_maxrss / 1024


def _current_rss_mb() -> float:
    """Resident memory of this process now (Linux), in MB; the peak elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _rss_mb(resource.RUSAGE_SELF)


def run_soak(options: Options, out: Callable[[str], None] = print) -> SoakReport:
    """Run the whole soak and return its figures (every process and server stopped after)."""
    started = time.monotonic()
    abort = threading.Event()
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    sandbox: Sandbox | None = None
    pg: Any = None
    jobs: list[_Job] = []
    rss: list[float] = []
    threads: list[threading.Thread] = []
    allow_runs()
    try:
        specs = [s for s in default_specs(options.scale) if s.api_name in {"Leads", "Deals"}]
        sandbox = Sandbox(specs=specs)
        sandbox.start()
        sandbox.faults.latency_seconds = options.crm_latency
        # The soak packs hours of scheduled runs into minutes; each run mints one access token,
        # so Zoho's 10 mints per 10 minutes (tested on its own) is lifted here.
        sandbox.accounts.mints_per_window = 10**6
        # Likewise Books' 100 calls a minute per organisation: runs here follow each other within
        # seconds, not an hour apart (429 handling has its own tests).
        sandbox.finance.per_minute = 10**6
        _quiet_disconnects(sandbox)
        hooks = ReadHooks(sandbox, books_delay=options.books_delay)
        mutex = threading.Lock()
        if options.only in {None, "crm"}:
            crm = CrmFamily(sandbox, hooks, workdir, options.seed, mutex)
            jobs.append(_Job(crm, options, abort))
        if options.only in {None, "erp"}:
            pg, dsn = _start_postgres()
            extra = {RECONCILE_SETTING: True} if RECONCILE_SETTING in _tap_settings() else {}
            erp = ErpFamily(sandbox, hooks, workdir, options.seed, mutex, dsn=dsn, tap_extra=extra)
            erp.prepare(options.books_import)
            jobs.append(_Job(erp, options, abort))
            if not extra:
                out(f"note: tap-zoho has no {RECONCILE_SETTING} setting: Books deletions stay")
        out(_CYCLE_HEADER)
        lock = threading.Lock()

        def on_cycle(row: Cycle) -> None:
            if abort.is_set():
                return  # a cycle cut short by the stop is no figure
            with lock:
                _trim_sandbox_logs(sandbox)
                rss.append(_current_rss_mb())
                out(_cycle_line(row))

        _run_threads(jobs, lambda job: job.cycles(on_cycle), threads)
        sandbox.store.clock.advance(FINAL_CLOCK_SKIP)  # time passes before the scheduled run
        _run_threads(jobs, lambda job: job.final(), threads)
    finally:
        abort.set()
        kill_all()
        for thread in threads:  # each ends once its run sees its processes gone
            thread.join(30)
        if sandbox is not None:
            sandbox.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report = SoakReport(
        options,
        [job.report for job in jobs],
        time.monotonic() - started,
        rss,
        _rss_mb(resource.RUSAGE_CHILDREN),
    )
    for line in figures(report):
        out(line)
    return report


def _start_postgres() -> tuple[Any, dict[str, Any]]:
    import psycopg2

    from tests.support.pgserver import PgServer

    pg = PgServer().start()
    admin = psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "erp_soak"')
    admin.close()
    return pg, pg.dsn("erp_soak")


_CYCLE_HEADER = (
    f"{'family':<6} {'cycle':>5} {'killed':<7} {'at s':>5} {'ran s':>6} {'states':>6} "
    f"{'progress':<8} {'rc':>7} {'resume s':>8} {'rc':>5} {'edits':>5} {'racing':>6}"
)


def _cycle_line(row: Cycle) -> str:
    r = row.result
    killed = r.killed or ("timeout" if r.timed_out else "-")
    at = f"{r.kill_at:.1f}" if r.kill_at is not None else "-"
    return (
        f"{row.family:<6} {row.cycle:>5} {killed:<7} {at:>5} {r.seconds:>6.1f} "
        f"{r.states_printed:>6} {'yes' if r.progressed else 'no':<8} "
        f"{f'{r.tap_rc}/{r.target_rc}':>7} {row.resumed.seconds:>8.1f} "
        f"{f'{row.resumed.tap_rc}/{row.resumed.target_rc}':>5} {row.between:>5} {row.racing:>6}"
    )


def figures(report: SoakReport) -> list[str]:
    """The figures table."""
    o = report.options
    lines = [
        "",
        (
            f"soak: {o.cycles} cycles, seed {o.seed}, kills at {o.kill_min}-{o.kill_max} s, "
            f"families {', '.join(r.family for r in report.families)}, {report.seconds:.0f} s"
        ),
        (
            f"{'family':<6} {'table':<16} {'rows':>6} {'missing':>7} {'extra':>5} {'stale':>5} "
            f"{'(same time)':>11} {'deleted visible':>15}"
        ),
    ]
    for r in report.families:
        tables = r.comparison.tables if r.comparison else {}
        for name, t in tables.items():
            lines.append(
                f"{r.family:<6} {name:<16} {t.rows:>6} {t.missing:>7} {t.extra:>5} "
                f"{t.stale:>5} {t.stale_same_second:>11} {t.deleted_visible:>15}"
            )
    lines.append("records Zoho's default lists hide (all must arrive, newest):")
    lines.extend(
        f"  {r.family:<6} {h.label:<58} {h.correct:>5} of {h.total:>5} correct"
        for r in report.families
        for h in (r.comparison.hidden if r.comparison else [])
    )
    lines.append("kills:")
    for r in report.families:
        killed = [c for c in r.cycles if c.result.killed]
        late = r.kills_after_warmup(o.warmup)
        kept = sum(c.result.progressed for c in late)
        lines.append(
            f"  {r.family:<6} {len(r.cycles)} runs, {len(killed)} killed "
            f"({sum(c.result.killed == 'tap' for c in killed)} tap, "
            f"{sum(c.result.killed == 'target' for c in killed)} target), "
            f"{len(r.cycles) - len(killed)} ended before the kill; "
            f"killed after {o.warmup:.0f} s: {len(late)}, kept progress: {kept}"
            + (f" ({kept / len(late):.0%})" if late else "")
        )
        for c in r.cycles:
            for run, note in [("killed run", n) for n in c.result.notes] + [
                ("resumed run", n) for n in c.resumed.notes
            ]:
                lines.append(f"  {r.family:<6} cycle {c.cycle} {run}: {note}")
        unclean = [c.cycle for c in r.cycles if not c.resumed.clean]
        if unclean:
            lines.append(f"  {r.family:<6} resumed runs not ending cleanly: cycles {unclean}")
        if r.final:
            lines.append(
                f"  {r.family:<6} final incremental run: {r.final.seconds:.1f} s, "
                f"rc {r.final.tap_rc}/{r.final.target_rc}"
            )
        lines.append(f"  {r.family:<6} edits: {dict(sorted(r.mutations.items()))}")
        if r.error:
            lines.append(f"  {r.family:<6} ERROR: {r.error}")
        lines.extend(
            f"  {r.family:<6} e.g. {example}"
            for example in (r.comparison.examples if r.comparison else [])
        )
    kept_total, late_total = report.progress_share()
    totals = report.totals()
    if report.rss_mb:
        middle = report.rss_mb[len(report.rss_mb) // 2]
        lines.append(
            f"memory: soak process (sandbox included) {report.rss_mb[0]:.0f} MB after the first "
            f"cycle, {middle:.0f} MB half-way, {report.rss_mb[-1]:.0f} MB after the last; "
            f"largest child (tap or target) peak {report.children_peak_rss_mb:.0f} MB"
        )
    lines.append(
        f"TOTAL missing {totals.get('missing', 0)}, extra {totals.get('extra', 0)}, "
        f"stale {totals.get('stale', 0)}, deleted visible {totals.get('deleted_visible', 0)}; "
        f"late kills keeping progress {kept_total}/{late_total}: "
        + ("PASS" if report.passed() else "FAIL")
    )
    return lines


@contextlib.contextmanager
def interrupted_cleanly() -> Any:
    """Let Ctrl-C (and SIGTERM) end the soak through its cleanup, without a traceback."""
    import signal

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except KeyboardInterrupt:
        sys.stderr.write("soak interrupted: every process and server was stopped\n")
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
