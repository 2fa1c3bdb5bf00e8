"""Steady ListUser traffic in background threads, recording every call.

A scenario starts the load, does something disruptive (restarts, collector
outage, hours of nothing), marks the phases, then stops the load and asks for
statistics per phase. Every call is recorded (start time, latency, status), so
one failed call out of hundreds of thousands is seen, not averaged away.

Fixed rate (`rate` calls/s shared by `workers` threads, each on its own
schedule) is the default: latency then reflects the service, not a queue the
client built. A worker that falls behind skips the missed slots instead of
bursting to catch up, so a stall cannot turn into a thundering herd; the
skipped slots are counted. `rate=None` is closed loop (each worker sends its
next call as soon as the previous one answers).

Every run is bounded twice: at most `max_calls` calls and at most
`max_seconds`, whichever comes first, even if the scenario never calls stop().
"""
import array
import bisect
import threading
import time

import grpc

import procs

REQUEST_ID, REQUEST_NAME = 2, "twtrubiks"


def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending list (NaN when empty)."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class Load:
    def __init__(self, channel, rate=200, workers=8, max_seconds=60, max_calls=None, timeout=5.0):
        user_pb2, user_pb2_grpc, _, _ = procs.stubs()
        self.stub = user_pb2_grpc.UsersStub(channel)
        self.request = user_pb2.UserRequest(id=REQUEST_ID, name=REQUEST_NAME)
        self.rate, self.workers, self.timeout = rate, workers, timeout
        self.max_seconds = max_seconds
        self.max_calls = max_calls or (int(rate * max_seconds * 1.1) + workers if rate else 10_000_000)
        self._budget = threading.Semaphore(self.max_calls)
        self._stop = threading.Event()
        self._threads = []
        self._records = []  # per worker: (start times, latencies in s, codes)
        self.failures = []  # (time since start, code name, details), first 50 only
        self.failed_total = 0
        self.skipped_slots = 0
        self.marks = []  # (time since start, phase name)
        self._lock = threading.Lock()

    def start(self, phase="steady"):
        self.t0 = time.monotonic()
        self.marks.append((0.0, phase))
        for index in range(self.workers):
            record = (array.array("d"), array.array("d"), array.array("b"))
            self._records.append(record)
            thread = threading.Thread(target=self._work, args=(index, record), daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def mark(self, phase):
        """From now on, calls belong to `phase`."""
        self.marks.append((self.elapsed(), phase))

    def elapsed(self):
        return time.monotonic() - self.t0

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        self.t_end = self.elapsed()
        return self

    def _work(self, index, record):
        starts, latencies, codes = record
        interval = self.workers / self.rate if self.rate else 0.0
        next_slot = self.t0 + interval * index / self.workers
        hard_end = self.t0 + self.max_seconds
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= hard_end or not self._budget.acquire(blocking=False):
                return
            if interval:
                if next_slot > now:
                    if self._stop.wait(next_slot - now):
                        return
                elif now - next_slot > interval:
                    missed = int((now - next_slot) / interval)
                    with self._lock:
                        self.skipped_slots += missed
                    next_slot += missed * interval
                next_slot += interval
            began = time.monotonic()
            code, detail = self.call(index)
            ended = time.monotonic()
            starts.append(began - self.t0)
            latencies.append(ended - began)
            codes.append(code)
            if code:
                with self._lock:
                    self.failed_total += 1
                    if len(self.failures) < 50:
                        self.failures.append((round(began - self.t0, 3), detail))

    def call(self, worker):
        """One call by `worker`: (0, None) when it succeeded, else (code, detail).
        Subclasses send other calls (reliability/directory_load.py)."""
        try:
            answer = self.stub.ListUser(self.request, timeout=self.timeout)
            if len(answer.details) != 2 or answer.details[0].value != REQUEST_NAME:
                return -1, f"wrong answer: {answer}"
        except grpc.RpcError as error:
            return error.code().value[0], f"{error.code().name}: {error.details()}"
        return 0, None

    def start_times(self):
        """Every call's start (seconds since start()), ascending: calls sent by a given moment."""
        return sorted(t for starts, _, _ in self._records for t in starts)

    def phases(self):
        """{phase: stats} for every marked phase, in order, plus "all"."""
        bounds = [t for t, _ in self.marks] + [float("inf")]
        per_phase = [([], {}) for _ in self.marks]
        every = []
        for starts, latencies, codes in self._records:
            for began, latency, code in zip(starts, latencies, codes):
                slot = bisect.bisect_right(bounds, began) - 1
                values, code_counts = per_phase[slot]
                values.append(latency)
                code_counts[code] = code_counts.get(code, 0) + 1
                every.append(latency)
        result = {}
        for (t, name), (values, code_counts), end in zip(self.marks, per_phase, bounds[1:]):
            result[name] = _stats(values, code_counts, min(end, self.t_end) - t)
        all_codes = {}
        for _, code_counts in per_phase:
            for code, n in code_counts.items():
                all_codes[code] = all_codes.get(code, 0) + n
        result["all"] = _stats(every, all_codes, self.t_end)
        result["all"]["skipped_slots"] = self.skipped_slots
        return result


def _stats(values, code_counts, seconds):
    values.sort()
    sent = len(values)
    failed = sum(n for code, n in code_counts.items() if code != 0)
    return {
        "sent": sent,
        "failed": failed,
        "codes": {_code_name(c): n for c, n in sorted(code_counts.items())},
        "seconds": round(seconds, 1),
        "rate": sent / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(values, 0.50) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
        "max_ms": (values[-1] * 1000) if values else float("nan"),
    }


def _code_name(code):
    if code == -1:
        return "WRONG_ANSWER"
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status.name
    return str(code)
