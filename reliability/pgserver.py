"""A throwaway PostgreSQL server for the scenarios, from the distribution's
server binaries (Debian: the postgresql package): initdb into a temporary
directory, postgres on a free port on 127.0.0.1, run as nobody when
the harness runs as root, started through the shared harness (bench/harness.py:
SIGKILLed by the kernel if the harness dies, the parent-death signal set after
the user switch so it survives it; killed with its backends at exit).

The scenarios stop it (fast shutdown: clients are disconnected, what was
committed stays) and start it again on the same port to play an outage.
"""
import atexit
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

import procs
from procs import harness

_servers = []


def binaries():
    """The directory holding initdb and postgres, or None."""
    chosen = os.environ.get("USER_SERVICE_TEST_PG_BIN")
    candidates = [chosen] if chosen else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))[::-1]
    for directory in candidates:
        if all(os.access(os.path.join(directory, b), os.X_OK) for b in ("initdb", "postgres", "pg_ctl")):
            return directory
    return None


def _server_user():
    """nobody when root (PostgreSQL refuses root), else None (this user)."""
    return "nobody" if os.geteuid() == 0 else None


class PgServer:
    """One server; `url(database)` names a database on it."""

    def __init__(self, name, cpus=None):
        # `cpus`: a taskset CPU list the server (and its backends) run on.
        self.cpus = cpus
        self.bin = binaries()
        if not self.bin:
            raise RuntimeError("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
        # Under the system's temporary directory, not the checkout: `nobody`
        # must be able to reach it (a checkout under /root is closed to it).
        self.dir = tempfile.mkdtemp(prefix=f"reliability-pg-{name}-")
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = procs.free_port()
        self.log_path = os.path.join(self.dir, "postgres.log")
        harness.run([os.path.join(self.bin, "initdb"), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--no-sync", "-D", self.data], timeout=120, cwd=self.dir, user=_server_user())
        self.popen = None
        _servers.append(self)
        self.start()

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout=30):
        """Starts it (again) on its port and waits until it accepts connections."""
        with open(self.log_path, "ab") as log:
            self.child = harness.spawn(
                [os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
                 "-k", self.dir, "-c", "listen_addresses=127.0.0.1",
                 "-c", "max_connections=200", "-c", "shared_buffers=64MB"],
                name="postgres", cwd=self.dir, stdout=log, stderr=log, cpus=self.cpus, user=_server_user())
        self.popen = self.child.popen
        try:
            harness.wait_until(self._ready, timeout, "postgres accepting connections", self.child, every=0.05)
        except harness.HarnessError as error:
            raise RuntimeError(f"{error}: {self.log_tail()}")

    def _ready(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as pid_file:
                if "ready" not in pid_file.read().split():
                    return False
            return harness.port_open(self.port)
        except OSError:
            return False

    def stop(self, timeout=30):
        """Fast shutdown (SIGINT), waiting until the server is down."""
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            self.popen.wait(timeout=timeout)
            self.child.kill()  # its group: no backend outlives it

    def psql(self, sql, database="postgres"):
        """Runs `sql` with psql (from the same installation) and returns its output."""
        psql = os.path.join(self.bin, "psql")
        if not os.access(psql, os.X_OK):
            psql = shutil.which("psql")
        done = harness.run([psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", self.url(database),
                            "-c", sql], timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed on {sql[:80]!r}: {done.stderr.strip()}")
        return done.stdout

    def cpu_seconds(self):
        """CPU the server used so far: the postmaster's own and its reaped
        children's, plus every live backend's (from /proc)."""
        tick = os.sysconf("SC_CLK_TCK")

        def stat(pid):
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(") ", 1)[1].split()
        main = stat(self.popen.pid)
        total = sum(int(main[i]) for i in (11, 12, 13, 14))
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = stat(entry)
                except OSError:
                    continue
                if fields[1] == str(self.popen.pid):
                    total += int(fields[11]) + int(fields[12])
        return total / tick

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def kill(self):
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGQUIT)  # immediate shutdown, children included
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.popen:
            self.child.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def stop_all():
    for server in list(_servers):
        server.kill()
        _servers.remove(server)


atexit.register(stop_all)
