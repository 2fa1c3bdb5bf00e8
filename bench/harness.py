"""Child processes for the benchmark and reliability harnesses (bench/,
reliability/): starting them, free ports, readiness, resident memory and CPU,
and the guarantee that none outlives the harness.

Every child is started through `spawn()` (or `run()`, `start_sink()`,
`start_probed()`), which does three things so that an interrupted run leaves
nothing running or listening:

  * the kernel SIGKILLs the child when the harness dies, however it dies
    (PR_SET_PDEATHSIG, set by util-linux `setpriv --pdeathsig KILL`, which
    then execs the command: same pid). Not a Python `preexec_fn` when setpriv
    is there: forking a process that runs grpcio's threads and running Python
    in the child trips grpcio's fork handlers (the child aborts with SIGABRT).
    Without setpriv, and only while grpc is not loaded, the same prctl is made
    through ctypes in a `preexec_fn`. The signal follows the *thread* that
    started the child, so children are only started from the main thread;
  * the child leads a session and process group of its own: a terminal's Ctrl-C reaches
    only the harness, which then stops its children in order, and a cleanup
    kill reaches the child's own children too;
  * it is recorded in a registry that `stop_all()` empties: at exit (atexit),
    after an exception, on Ctrl-C (KeyboardInterrupt unwinds), and on SIGTERM
    or SIGHUP, which this module turns into SystemExit so they unwind through
    every `finally` as well.

Readiness is always polled (a port that accepts, an answer), never a fixed sleep.

Used by bench/*.py (same directory) and reliability/*.py (which put bench/ on
sys.path).
"""
import atexit
import ctypes
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
RELEASE = os.path.join(TARGET, "release")

_PR_SET_PDEATHSIG = 1
_children = []
_lock = threading.Lock()


class HarnessError(RuntimeError):
    """A child that did not start, exited early or never became ready."""


def profile_dir(profile="release"):
    """Cargo's output directory for a profile (`dev` builds go to `debug`)."""
    return os.path.join(TARGET, "debug" if profile == "dev" else profile)


def binary(name, profile="release"):
    """Path of the `user-service` binary or of an example, in `profile`'s directory."""
    base = profile_dir(profile)
    return os.path.join(base, name) if name == "user-service" else os.path.join(base, "examples", name)


def build(examples=(), service=True, profile="release"):
    """`cargo build --locked` of the service and/or examples in one profile."""
    cmd = ["cargo", "build", "--locked", "--profile", profile]
    if service:
        cmd += ["--bin", "user-service"]
    for example in examples:
        cmd += ["--example", example]
    subprocess.run(cmd, cwd=ROOT, check=True)


def free_port(host="127.0.0.1"):
    """A port nothing listens on right now (the kernel's choice, so parallel runs do not collide)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def rss_kib(pid, field="VmRSS"):
    """Resident memory of a live process in KiB, from /proc (VmRSS now, VmHWM peak)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise HarnessError(f"no {field} for pid {pid}")


def cpu_seconds(pid, children=False):
    """User + system CPU of a live process so far (with `children`: also its reaped children's)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(") ", 1)[1].split()
    ticks = sum(int(fields[i]) for i in ((11, 12, 13, 14) if children else (11, 12)))
    return ticks / os.sysconf("SC_CLK_TCK")


def port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _libc_prctl_pdeathsig():
    # Runs in the forked child before exec: only async-signal-safe work.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _guarded(cmd, user):
    """(command, preexec_fn): `cmd` with the parent-death signal set, as `user` if given."""
    setpriv = shutil.which("setpriv")
    if setpriv:
        prefix = [setpriv]
        if user:
            account = pwd.getpwnam(user)
            prefix += [f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]
        # setpriv sets the parent-death signal after the user switch, which would clear it.
        return prefix + ["--pdeathsig", "KILL", "--"] + list(cmd), None
    if user or "grpc" in sys.modules:
        raise HarnessError("setpriv (util-linux) is needed to start children here "
                           "(a user switch, or grpcio loaded: a preexec_fn would abort the child)")
    return list(cmd), _libc_prctl_pdeathsig


class Child:
    """One started process. `pid` is the command's own pid (setpriv and taskset exec it)."""

    def __init__(self, cmd, name=None, env=None, cwd=None, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=None, text=False, cpus=None, user=None):
        if threading.current_thread() is not threading.main_thread():
            raise HarnessError("children are started from the main thread only: "
                               "the parent-death signal fires when the starting thread ends")
        self.name = name or os.path.basename(cmd[0])
        full = (["taskset", "-c", str(cpus)] if cpus is not None else []) + list(cmd)
        guarded, preexec = _guarded(full, user)
        self._term_sent = False
        with _lock:
            self.popen = subprocess.Popen(guarded, env=env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr,
                                          text=text, start_new_session=True, preexec_fn=preexec)
            _children.append(self)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.returncode

    def send(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def send_term(self):
        """One SIGTERM only: a second one means "exit at once" to the service."""
        if not self._term_sent:
            self._term_sent = True
            self.send(signal.SIGTERM)

    def wait(self, timeout=None):
        return self.popen.wait(timeout=timeout)

    def communicate(self, timeout):
        """Output of a child started with pipes; killed (and HarnessError) past `timeout` s."""
        try:
            out = self.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise HarnessError(f"{self.name} did not finish within {timeout} s")
        self._forget()
        return out

    def stop(self, timeout=30):
        """SIGTERM, then the exit code; SIGKILL to its group after `timeout` s (returns None then)."""
        self.send_term()
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return code

    terminate = stop

    def kill(self):
        """SIGKILL to the child's whole process group (its own children too), then reap it."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._forget()

    def _forget(self):
        with _lock:
            if self in _children:
                _children.remove(self)
        for stream in (self.popen.stdout, self.popen.stderr, self.popen.stdin):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass


def spawn(cmd, **kwargs):
    """Starts `cmd` as a registered Child (see Child for the keyword arguments)."""
    return Child(cmd, **kwargs)


def run(cmd, timeout, check=True, **kwargs):
    """Runs `cmd` to completion as a registered child with its output captured
    (text); killed past `timeout` s. Returns subprocess.CompletedProcess."""
    child = Child(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    out, err = child.communicate(timeout)
    done = subprocess.CompletedProcess(cmd, child.returncode, out, err)
    if check and done.returncode != 0:
        raise HarnessError(f"{' '.join(cmd)} exited with {done.returncode}:\n{out}\n{err}")
    return done


def stop_all():
    """Kills every child still registered (and its process group). Signals that
    would interrupt the cleanup itself wait until it is done."""
    blocked = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        with _lock:
            running = list(_children)
        for child in running:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for child in running:
            child.kill()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def children():
    """The children still registered (for tests and reports)."""
    with _lock:
        return list(_children)


def wait_until(ready, timeout, what, child=None, every=0.02):
    """Polls `ready()` until it is true; HarnessError when `child` exits first
    or after `timeout` s. Returns `ready()`'s value."""
    deadline = time.monotonic() + timeout
    while True:
        if child is not None and not child.alive():
            raise HarnessError(f"{child.name} exited with {child.returncode} before {what}")
        value = ready()
        if value:
            return value
        if time.monotonic() > deadline:
            raise HarnessError(f"{what}: not within {timeout} s")
        time.sleep(every)


def wait_port(port, timeout=30, child=None, host="127.0.0.1"):
    """Waits until `port` accepts a TCP connection."""
    return wait_until(lambda: port_open(port, host), timeout, f"listening on {host}:{port}", child)


def start_sink(cpus=None, delay_ms=0, port=None, name="otlp_sink", print_spans=False, stdout=subprocess.PIPE,
               stderr=None, text=True, timeout=30):
    """examples/otlp_sink (release build) on 127.0.0.1:`port` (a free one
    unless given), waited for until it listens. It prints `spans_received N`
    when stopped (see `sink_spans`). Returns the Child, with `.addr`, `.port`."""
    port = port or free_port()
    addr = f"127.0.0.1:{port}"
    cmd = [binary("otlp_sink"), addr] + (["--print-spans"] if print_spans else [])
    env = dict(os.environ, OTLP_SINK_DELAY_MS=str(delay_ms))
    sink = Child(cmd, name=name, env=env, cpus=cpus, stdout=stdout, stderr=stderr, text=text)
    sink.addr, sink.port = addr, port
    wait_port(port, timeout, sink)
    return sink


def sink_spans(text):
    """The span count otlp_sink printed on exit, or None."""
    found = re.findall(r"spans_received (\d+)", text or "")
    return int(found[-1]) if found else None


class Probed:
    """A server started by examples/ready_probe, which measures exec-to-answer
    (`ready_ms`) and stays the server's parent: the server (`pid`) gets the
    parent-death signal from the probe, the probe from the harness."""

    def __init__(self, cmd, addr, check, env=None, cpus=None, name=None, timeout=60):
        server = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        server += (["taskset", "-c", str(cpus)] if cpus is not None else []) + list(cmd)
        self.name, self.addr = name or os.path.basename(cmd[0]), addr
        self.probe = Child([binary("ready_probe"), addr, check] + server, name=f"ready_probe {self.name}",
                           env=env, stdout=subprocess.PIPE, text=True)
        readable, _, _ = select.select([self.probe.popen.stdout], [], [], timeout)
        line = self.probe.popen.stdout.readline() if readable else ""
        if "ready_us=" not in line:
            self.probe.kill()
            raise HarnessError(f"{self.name} did not answer ({check}) within {timeout} s")
        fields = dict(item.split("=") for item in line.split())
        self.ready_ms = int(fields["ready_us"]) / 1000
        self.pid = int(fields["pid"])

    def alive(self):
        return self.probe.alive()

    def stop(self, timeout=20):
        """SIGTERM to the server; the probe exits with its exit code."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            return self.probe.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            self.probe.kill()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()


def _exit_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def _install():
    atexit.register(stop_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _exit_on_signal)


_install()
