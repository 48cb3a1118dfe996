"""Measuring instruments: they observe the responder, they never change what it does.

* ``Timeline``: an emulator plugin that timestamps every AWS call as AWS applies it (after the
  injected latency), with the calling thread.
* ``CpuMeter``: CPU seconds spent inside moto (the emulated AWS side: with real AWS that work is
  on Amazon's servers), in boto3 client creation and in botocore response parsing, per thread
  (``time.thread_time``), so time a thread spends waiting for the GIL is not counted.
* ``RssSampler``: the process's resident memory, sampled every few milliseconds during a run.
* ``LogCatcher``: the warnings and errors the responder logged during a run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3.session
import botocore.parsers
from moto.core.botocore_stubber import BotocoreStubber

from compromise_responder.tools.emulator import EmulatedAws
from compromise_responder.tools.emulator.hooks import Call

STOP_ACTIONS = frozenset(
    {
        "ec2:CancelSpotFleetRequests",
        "ec2:DeleteFleets",
        "ec2:CancelSpotInstanceRequests",
        "autoscaling:UpdateAutoScalingGroup",
        "ec2:ModifyInstanceAttribute",
        "ec2:TerminateInstances",
        # capacity beyond EC2 (the campaign run): the ECS scheduler, its tasks, a Lambda function's concurrency
        "ecs:UpdateService",
        "ecs:StopTask",
        "lambda:PutFunctionConcurrency",
    }
)
KEY_ACTION = "iam:UpdateAccessKey"
SWEEP_SERVICES = frozenset({"ec2", "autoscaling", "cloudtrail"})


@dataclass(frozen=True)
class CallEvent:
    at: float  # time.perf_counter() when the call reached (emulated) AWS, after the injected latency
    action: str
    region: str
    thread: str


class Timeline:
    """Emulator plugin: one ``CallEvent`` per AWS call. Never answers a call (returns None)."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.recording = True
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> None:
        event = CallEvent(time.perf_counter(), call.action, call.region, threading.current_thread().name)
        with self._lock:
            if self.recording:
                self.events.append(event)

    def reset(self) -> None:
        with self._lock:
            self.events.clear()
            self.recording = True

    def stop(self) -> None:
        """Keep what was recorded so far (the state checks after a run are not part of it)."""
        with self._lock:
            self.recording = False

    def first(self, action: str) -> float | None:
        return min((e.at for e in self.events if e.action == action), default=None)

    def last(self, actions: frozenset[str], region: str | None = None) -> float | None:
        return max(
            (e.at for e in self.events if e.action in actions and (region is None or e.region == region)), default=None
        )

    def install(self, aws: EmulatedAws) -> None:
        """Right after the latency plugin: before any plugin that may answer the call itself."""
        plugins = aws.dispatcher.plugins
        plugins.insert(plugins.index(aws.latency) + 1, self)


@dataclass
class CpuTotals:
    emulator: float = 0.0
    client_creation: float = 0.0
    clients_created: int = 0
    parsing: float = 0.0


class CpuMeter:
    """Thread CPU time inside moto's request processing, ``boto3.Session.client`` and botocore's parsers."""

    def __init__(self) -> None:
        self.totals = CpuTotals()
        self._lock = threading.Lock()

    def reset(self) -> CpuTotals:
        with self._lock:
            totals, self.totals = self.totals, CpuTotals()
        return totals

    def _timed(self, original: Callable[..., Any], add: Callable[[float], None]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    add(spent)

        return timed

    def _add_emulator(self, spent: float) -> None:
        self.totals.emulator += spent

    def _add_client(self, spent: float) -> None:
        self.totals.client_creation += spent
        self.totals.clients_created += 1

    def _add_parsing(self, spent: float) -> None:
        self.totals.parsing += spent

    @contextmanager
    def installed(self) -> Iterator[CpuMeter]:
        process, client = BotocoreStubber.process_request, boto3.session.Session.client
        parse = botocore.parsers.ResponseParser.parse
        BotocoreStubber.process_request = self._timed(process, self._add_emulator)  # type: ignore[method-assign]
        boto3.session.Session.client = self._timed(client, self._add_client)  # type: ignore[method-assign]
        botocore.parsers.ResponseParser.parse = self._timed(parse, self._add_parsing)  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BotocoreStubber.process_request = process  # type: ignore[method-assign]
            boto3.session.Session.client = client  # type: ignore[method-assign]
            botocore.parsers.ResponseParser.parse = parse  # type: ignore[method-assign]


class RssSampler:
    """Peak resident set size (from /proc/self/statm) between ``start`` and ``stop``."""

    def __init__(self, every: float = 0.005) -> None:
        self.every = every
        self.before_mb = 0.0
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def rss_mb() -> float:
        import os

        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def start(self) -> None:
        self.before_mb = self.peak_mb = self.rss_mb()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak_mb = max(self.peak_mb, self.rss_mb())

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_mb = max(self.peak_mb, self.rss_mb())


class LogCatcher(logging.Handler):
    """Collects WARNING+ records of the responder's logger (Powertools names it after the service)."""

    def __init__(self, logger: str = "compromise-responder") -> None:
        super().__init__(logging.WARNING)
        self.logger = logging.getLogger(logger)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        detail = getattr(record, "error", None)
        self.messages.append(f"{record.levelname}: {record.getMessage()}" + (f" ({detail})" if detail else ""))

    @contextmanager
    def catching(self) -> Iterator[list[str]]:
        self.messages = []
        self.logger.addHandler(self)
        try:
            yield self.messages
        finally:
            self.logger.removeHandler(self)


def timed_invocation(aws: Any, handler: Any, event: Any, latency: float) -> tuple[Timeline, float, float]:
    """One handler call at ``latency`` seconds per AWS call, its calls on a timeline: (timeline, the
    ``perf_counter`` it began at - the timeline's clock -, wall seconds).
    The world's set-up before it and the checks after it run at no latency and are not on the timeline."""
    from compromise_responder.tools.emulator import LambdaContext

    timeline = Timeline()
    timeline.install(aws)
    timeline.reset()
    aws.latency.seconds = latency
    began = time.perf_counter()
    try:
        handler(event, LambdaContext())
    finally:
        wall = time.perf_counter() - began
        aws.latency.seconds = 0.0
        timeline.stop()
    return timeline, began, wall
