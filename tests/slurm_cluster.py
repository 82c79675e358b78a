"""A real single-machine SLURM cluster for the tests: install, start, stop.

The cluster runs on loopback: munge (authentication), MariaDB + slurmdbd (job accounting, so
that ``sacct`` lists the jobs and their states), slurmctld (controller) and slurmd (compute
daemon, one node). Facts this module relies on are recorded in
``../shared/spec/HPC-NOTES.md``:

- ``slurm.conf`` must be at ``/etc/slurm/slurm.conf``: the executor plugin's inner ``srun``
  drops every ``SLURM_*`` variable, ``SLURM_CONF`` included. Only one such cluster can run on a
  machine at a time, so a test session shares one (see ``tests/test_slurm.py``).
- Without systemd the daemons are started here, in the foreground of their own sessions, and
  stopped by PID in reverse order.
- ``DefMemPerCPU`` is needed, otherwise one job takes the whole node's memory.

Everything the cluster writes (state, spool, logs, database) lives in a fresh temporary folder.
The PIDs of the running daemons are recorded in :data:`REGISTRY`, so that a later run can end
daemons that an interrupted run left behind.

Usage (as root)::

    python tests/slurm_cluster.py start   # prints the folder and the startup time
    python tests/slurm_cluster.py stop
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Debian 12 packages that provide the daemons and client commands.
PACKAGES = ("slurmctld", "slurmd", "slurm-client", "slurmdbd", "munge", "mariadb-server")
#: Executables the cluster needs (searched on PATH plus the sbin folders).
BINARIES = (
    "munged",
    "munge",
    "unmunge",
    "mariadbd",
    "mariadb-install-db",
    "slurmdbd",
    "slurmctld",
    "slurmd",
    "sinfo",
    "sbatch",
    "srun",
    "sacct",
    "sacctmgr",
    "scontrol",
)
SLURM_CONF = Path("/etc/slurm/slurm.conf")
SLURMDBD_CONF = Path("/etc/slurm/slurmdbd.conf")
#: First line of every file this module writes outside its temporary folder.
MARKER = "# Written by cmftvb tests/slurm_cluster.py for a throwaway test cluster."
#: PIDs of the daemons of the running (or an interrupted) test cluster.
REGISTRY = Path(tempfile.gettempdir()) / "cmftvb-slurm-cluster.json"
#: Held (flock) by the process that owns the running cluster; released when it exits.
LOCK = Path(tempfile.gettempdir()) / "cmftvb-slurm-cluster.lock"
CLUSTER_NAME = "cmftvb"
PARTITION = "debug"
SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
)


class ClusterUnavailable(Exception):
    """SLURM cannot be provided on this machine (not root, no packages): tests skip."""


class ClusterError(RuntimeError):
    """The cluster was installed but failed to start; the message carries the daemon logs."""


def which(name: str) -> str | None:
    """Path of executable ``name`` on PATH or in the sbin folders, or None."""
    return shutil.which(name, path=SEARCH_PATH)


def clean_env() -> dict[str, str]:
    """The current environment without ``SLURM_*`` variables and with the sbin folders on PATH.

    A stray ``SLURM_CONF`` would point the client commands at another cluster.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PATH"] = SEARCH_PATH
    return env


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if which(b) is None]


def _apt(args: list[str], log: list[str], timeout: float) -> bool:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", NEEDRESTART_MODE="a")
    try:
        proc = subprocess.run(
            ["apt-get", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        log.append(f"$ apt-get {' '.join(args)}\n(timed out after {timeout:.0f} s)\n{exc.stdout}")
        return False
    log.append(f"$ apt-get {' '.join(args)}  (exit {proc.returncode})\n{proc.stdout}{proc.stderr}")
    return proc.returncode == 0


def ensure_installed(timeout: float = 600.0) -> float:
    """Install Debian's SLURM, munge and MariaDB packages if any executable is missing.

    Installs only as root and only with ``apt-get``; the package lists are refreshed (once) only
    when a first install attempt fails. apt is kept from starting the services (a temporary
    ``policy-rc.d``): this module starts its own. apt's output is captured and shown only on
    failure. Returns the seconds spent installing (0.0 when nothing was missing).

    Raises :class:`ClusterUnavailable` with the reason when the packages cannot be installed.
    """
    missing = missing_binaries()
    if not missing:
        return 0.0
    if os.geteuid() != 0:
        raise ClusterUnavailable(
            f"SLURM is not installed (missing {', '.join(missing)}) and the tests do not run as "
            f"root, so Debian's packages ({' '.join(PACKAGES)}) cannot be installed"
        )
    if which("apt-get") is None:
        raise ClusterUnavailable(
            f"SLURM is not installed (missing {', '.join(missing)}) and there is no apt-get"
        )
    start = time.monotonic()
    log: list[str] = []
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text(
            "#!/bin/sh\n# cmftvb tests: do not start services during install\nexit 101\n"
        )
        policy.chmod(0o755)
    try:
        install = ["install", "-y", "-q", "--no-install-recommends"]
        install += ["-o", "DPkg::Lock::Timeout=120", *PACKAGES]
        ok = _apt(install, log, timeout)
        if not ok and _apt(["update", "-q"], log, timeout):  # stale package lists?
            _apt(install, log, timeout)
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    missing = missing_binaries()
    if missing:
        tail = "\n".join("\n".join(log).splitlines()[-40:])
        raise ClusterUnavailable(
            f"installing {' '.join(PACKAGES)} with apt-get failed (still missing "
            f"{', '.join(missing)}); last lines of apt's output:\n{tail}"
        )
    return time.monotonic() - start


# --------------------------------------------------------------------------------------------
# Processes


def _pid_alive(pid: int, exe: str | None = None) -> bool:
    """Whether ``pid`` is a live (not zombie) process, whose name starts like ``exe`` if given."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # /proc/PID/stat: "pid (comm) state ..."; comm is at most 15 characters.
    comm, _, rest = stat.partition("(")[2].rpartition(")")
    if rest.split()[0] in ("Z", "X"):
        return False
    return exe is None or comm == Path(exe).name[:15]


def _terminate(pid: int, exe: str | None, grace: float = 15.0) -> None:
    """SIGTERM ``pid`` (if it still is ``exe``), wait up to ``grace`` seconds, then SIGKILL."""
    if not _pid_alive(pid, exe):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not _pid_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"({exc.strerror})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _owned_by_us(path: Path) -> bool:
    try:
        return path.read_text(errors="replace").startswith(MARKER)
    except OSError:
        return False


def stop_stale() -> list[str]:
    """End the daemons a previous (interrupted) run recorded in :data:`REGISTRY`.

    A PID is signalled only if it still runs the recorded executable. Our configuration files
    in /etc/slurm are removed. Returns the names of the daemons that were ended.
    """
    ended = []
    try:
        record = json.loads(REGISTRY.read_text())
    except (OSError, ValueError):
        record = {"daemons": []}
    for entry in reversed(record.get("daemons", [])):
        pid, exe = int(entry["pid"]), entry["exe"]
        if _pid_alive(pid, exe):
            _terminate(pid, exe)
            ended.append(entry["name"])
    for conf in (SLURM_CONF, SLURMDBD_CONF):
        if _owned_by_us(conf):
            conf.unlink()
    root = record.get("root")
    if root and Path(root).name.startswith("cmftvb-slurm-") and not record.get("keep"):
        shutil.rmtree(root, ignore_errors=True)
    REGISTRY.unlink(missing_ok=True)
    return ended


# --------------------------------------------------------------------------------------------
# The cluster


@dataclass
class Daemon:
    name: str
    exe: str
    proc: subprocess.Popen
    logs: list[Path]


@dataclass
class Cluster:
    """A running single-machine cluster; :meth:`stop` ends it."""

    root: Path
    hostname: str
    ports: dict[str, int]
    keep: bool = False
    daemons: list[Daemon] = field(default_factory=list)
    install_s: float = 0.0
    startup_s: float = 0.0
    #: client commands run by the readiness checks, with their output (for error reports)
    last_checks: dict[str, str] = field(default_factory=dict)
    #: open file holding the lock on :data:`LOCK` while this cluster runs
    lock: object = None

    # ---- commands ----------------------------------------------------------------------

    def run(self, *argv: str, timeout: float = 30.0, check: bool = True):
        """Run a client command (``sinfo``, ``sacct`` ...) against this cluster."""
        proc = subprocess.run(
            [which(argv[0]) or argv[0], *argv[1:]],
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{' '.join(argv)} failed with exit status {proc.returncode}:\n"
                f"{proc.stdout}{proc.stderr}\n{self.logs()}"
            )
        return proc

    def _probe(self, *argv: str) -> str | None:
        """Output of a client command, or None if it fails or hangs (for readiness checks)."""
        try:
            proc = self.run(*argv, timeout=10.0, check=False)
        except subprocess.TimeoutExpired:
            self.last_checks[" ".join(argv)] = "(timed out)"
            return None
        self.last_checks[" ".join(argv)] = f"exit {proc.returncode}: {proc.stdout}{proc.stderr}"
        return proc.stdout if proc.returncode == 0 else None

    def sacct(self, since: str = "2000-01-01T00:00:00") -> list[dict[str, str]]:
        """Accounting records of the jobs (allocations only) submitted since ``since``.

        Fields: JobID, JobName, Comment (the executor plugin writes ``rule_<name>...`` there),
        Partition, State, ExitCode, Elapsed, NodeList.
        """
        fields = ["JobID", "JobName", "Comment", "Partition", "State", "ExitCode", "Elapsed"]
        fields.append("NodeList")
        out = self.run(
            "sacct", "-a", "-X", "-P", "-n", "-S", since, "--format", ",".join(fields)
        ).stdout
        return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines()]

    def logs(self, lines: int = 30) -> str:
        """The last lines of every daemon's log, and of the last readiness checks."""
        parts = [f"=== logs of the test cluster in {self.root}"]
        for daemon in self.daemons:
            state = daemon.proc.poll()
            status = "running" if state is None else f"exited with status {state}"
            for log in daemon.logs:
                parts.append(f"--- {daemon.name} ({status}): {log}\n{_tail(log, lines)}")
        for cmd, out in self.last_checks.items():
            parts.append(f"--- last `{cmd}`: {out.strip()}")
        return "\n".join(parts)

    # ---- starting ----------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], logs: list[Path], **kwargs) -> Daemon:
        out = self.root / "log" / f"{name}.out"
        with open(out, "ab") as sink:
            proc = subprocess.Popen(
                argv,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,
            )
        daemon = Daemon(name, argv[0], proc, [out, *logs])
        self.daemons.append(daemon)
        self._record()
        return daemon

    def _record(self) -> None:
        record = {
            "root": str(self.root),
            "keep": self.keep,
            "daemons": [{"name": d.name, "pid": d.proc.pid, "exe": d.exe} for d in self.daemons],
        }
        tmp = REGISTRY.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(REGISTRY)

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for daemon in self.daemons:
                if daemon.proc.poll() is not None:
                    raise ClusterError(
                        f"{daemon.name} exited with status {daemon.proc.returncode} while "
                        f"waiting for {what}\n{self.logs()}"
                    )
            if ready():
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"timed out after {timeout:.0f} s waiting for {what}\n{self.logs()}"
                )
            time.sleep(0.2)

    def _start_munge(self) -> None:
        munge_dir = self.root / "munge"
        munge_dir.mkdir(mode=0o700)
        shutil.chown(munge_dir, "munge", "munge")
        run_dir = Path("/run/munge")
        run_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        key = Path("/etc/munge/munge.key")
        if not key.exists():  # the package's postinst normally creates it
            key.write_bytes(os.urandom(128))
            key.chmod(0o400)
            shutil.chown(key, "munge", "munge")
        argv = [which("munged"), "--foreground", "--force"]
        argv += [f"--pid-file={munge_dir / 'munged.pid'}", f"--log-file={munge_dir / 'munged.log'}"]
        munge_user = pwd.getpwnam("munge")
        self._spawn(
            "munged",
            argv,
            [],  # in the foreground munged logs to its output
            user=munge_user.pw_uid,
            group=munge_user.pw_gid,
            extra_groups=[],
        )

        def munge_works() -> bool:
            cred = subprocess.run([which("munge"), "-n"], capture_output=True, timeout=10)
            if cred.returncode != 0:
                return False
            check = subprocess.run([which("unmunge")], input=cred.stdout, capture_output=True)
            self.last_checks["munge -n | unmunge"] = check.stdout.decode() + check.stderr.decode()
            return check.returncode == 0

        self._wait("munged (munge -n | unmunge)", munge_works, 20)

    def _start_mariadb(self) -> None:
        data = self.root / "mysql"
        data.mkdir()
        shutil.chown(data, "mysql", "mysql")
        install = subprocess.run(
            [
                which("mariadb-install-db"),
                "--no-defaults",
                "--user=mysql",
                f"--datadir={data / 'data'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if install.returncode != 0:
            raise ClusterError(f"mariadb-install-db failed:\n{install.stdout}{install.stderr}")
        error_log = data / "error.log"
        argv = [
            which("mariadbd"),
            "--no-defaults",
            "--user=mysql",
            f"--datadir={data / 'data'}",
            f"--socket={data / 'mysqld.sock'}",
            f"--pid-file={data / 'mariadbd.pid'}",
            f"--log-error={error_log}",
            f"--port={self.ports['mariadb']}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            # loopback test database only: no passwords, and no need for durability
            "--skip-grant-tables",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
        ]
        self._spawn("mariadbd", argv, [error_log])
        self._wait("MariaDB to accept connections", lambda: _port_open(self.ports["mariadb"]), 60)

    def _write_configs(self) -> None:
        r = self.root
        for sub in ("state", "spool", "log", "run"):
            (r / sub).mkdir(exist_ok=True)
        cpus, topology = _node_topology()
        memory = _real_memory_mb()
        slurm_conf = f"""{MARKER}
# Single-machine cluster on loopback; see tests/slurm_cluster.py and HPC-NOTES.md.
ClusterName={CLUSTER_NAME}
SlurmctldHost={self.hostname}(127.0.0.1)
SlurmctldPort={self.ports["slurmctld"]}
SlurmdPort={self.ports["slurmd"]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={r / "state"}
SlurmdSpoolDir={r / "spool"}
SlurmctldPidFile={r / "run" / "slurmctld.pid"}
SlurmdPidFile={r / "run" / "slurmd.pid"}
SlurmctldLogFile={r / "log" / "slurmctld.log"}
SlurmdLogFile={r / "log" / "slurmd.log"}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={self.ports["slurmdbd"]}
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
MailProg=/bin/true
MinJobAge=300
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
InactiveLimit=0
NodeName={self.hostname} NodeAddr=127.0.0.1 CPUs={cpus} {topology} RealMemory={memory} State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        dbd_conf = f"""{MARKER}
AuthType=auth/munge
DbdHost={self.hostname}
DbdAddr=127.0.0.1
DbdPort={self.ports["slurmdbd"]}
SlurmUser=root
PidFile={r / "run" / "slurmdbd.pid"}
LogFile={r / "log" / "slurmdbd.log"}
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.ports["mariadb"]}
StorageUser=root
StorageLoc=slurm_acct_db
"""
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        (r / "slurm.conf").write_text(slurm_conf)
        (r / "slurm.conf").chmod(0o644)
        (r / "slurm.conf").replace(SLURM_CONF)
        (r / "slurmdbd.conf").write_text(dbd_conf)
        (r / "slurmdbd.conf").chmod(0o600)
        (r / "slurmdbd.conf").replace(SLURMDBD_CONF)

    def _start_slurm(self) -> None:
        log = self.root / "log"
        self._spawn("slurmdbd", [which("slurmdbd"), "-D"], [log / "slurmdbd.log"])
        self._wait(
            "slurmdbd (sacctmgr -n list cluster)",
            lambda: self._probe("sacctmgr", "-n", "list", "cluster") is not None,
            60,
        )
        self.run("sacctmgr", "-i", "add", "cluster", CLUSTER_NAME, check=False)
        self._wait(
            f"cluster {CLUSTER_NAME} in the accounting database",
            lambda: CLUSTER_NAME in (self._probe("sacctmgr", "-n", "-P", "list", "cluster") or ""),
            20,
        )
        self._spawn("slurmctld", [which("slurmctld"), "-D", "-i"], [log / "slurmctld.log"])
        self._wait(
            "slurmctld (scontrol ping)",
            lambda: "UP" in (self._probe("scontrol", "ping") or ""),
            30,
        )
        self._spawn("slurmd", [which("slurmd"), "-D"], [log / "slurmd.log"])
        self._wait(f"node {self.hostname} idle (sinfo)", self._node_idle, 45)

    def _node_idle(self) -> bool:
        state = (self._probe("sinfo", "-h", "-N", "-o", "%t") or "").strip()
        if state.rstrip("*~#") in ("drain", "drng", "inval", "fail"):  # will not heal by itself
            node = self.run("scontrol", "show", "node", check=False).stdout
            raise ClusterError(f"node {self.hostname} is {state}:\n{node}\n{self.logs()}")
        return state == "idle"

    # ---- stopping ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the daemons in reverse order of starting; remove our configs and folder."""
        for daemon in reversed(self.daemons):
            if daemon.proc.poll() is None:
                _terminate(daemon.proc.pid, daemon.exe)
                try:
                    daemon.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        self.daemons.clear()
        for conf in (SLURM_CONF, SLURMDBD_CONF):
            if _owned_by_us(conf):
                conf.unlink()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        REGISTRY.unlink(missing_ok=True)
        if self.lock is not None:
            self.lock.close()  # releases the flock
            self.lock = None


def _acquire_lock(wait_s: float):
    """Lock :data:`LOCK` so that one process at a time owns the (single) test cluster.

    Another test session that owns a cluster is waited for (up to ``wait_s`` seconds); a lock
    left by a dead process is free again (flock), and its daemons are then ended as stale.
    """
    handle = open(LOCK, "a")  # held open while the cluster runs
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise ClusterError(
                    f"another process has held {LOCK} (a running test cluster) for more than "
                    f"{wait_s:.0f} s"
                ) from None
            time.sleep(1.0)


def _node_topology() -> tuple[int, str]:
    """CPUs and socket/core/thread layout of this machine as ``slurmd -C`` reports them."""
    try:
        out = subprocess.run(
            [which("slurmd"), "-C"], capture_output=True, text=True, timeout=20, env=clean_env()
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    values = dict(re.findall(r"(\w+)=(\S+)", out))
    keys = ("Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")
    if "CPUs" in values and all(k in values for k in keys):
        return int(values["CPUs"]), " ".join(f"{k}={values[k]}" for k in keys)
    return os.cpu_count() or 1, ""


def _real_memory_mb(margin_mb: int = 1024) -> int:
    """Memory the node offers to jobs, MB: available memory minus a margin (at least 1000)."""
    info = dict(
        (line.split(":")[0], int(line.split()[1]))
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.split()[1:2] and line.split()[1].isdigit()
    )
    available = info.get("MemAvailable", info.get("MemTotal", 0)) // 1024
    return max(1000, available - margin_mb)


def start_cluster(keep: bool | None = None) -> Cluster:
    """Install (if needed and possible) and start the cluster; return it when a node is idle.

    Raises :class:`ClusterUnavailable` when SLURM cannot be provided (not root, no packages)
    and :class:`ClusterError` (with the daemon logs) when a daemon fails to come up. Set the
    environment variable ``CMFTVB_SLURM_KEEP=1`` to keep the folder with logs after stopping.
    """
    install_s = ensure_installed()
    if os.geteuid() != 0:
        raise ClusterUnavailable(
            "the tests do not run as root: starting a SLURM cluster needs root (it writes "
            f"{SLURM_CONF} and starts munged as user munge)"
        )
    for name in ("munge", "mysql"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise ClusterUnavailable(f"user {name!r} is missing (broken package install)") from None
    for conf in (SLURM_CONF, SLURMDBD_CONF):
        if conf.exists() and not _owned_by_us(conf):
            raise ClusterUnavailable(
                f"{conf} exists and was not written by tests/slurm_cluster.py: this machine has "
                "a real SLURM configuration, which the test cluster would overwrite"
            )
    lock = _acquire_lock(wait_s=900)
    start = time.monotonic()
    stop_stale()
    if keep is None:
        keep = os.environ.get("CMFTVB_SLURM_KEEP", "") not in ("", "0")
    root = Path(tempfile.mkdtemp(prefix="cmftvb-slurm-"))
    root.chmod(0o755)  # munge and mysql must reach their sub-folders
    ports = {name: _free_port() for name in ("slurmctld", "slurmd", "slurmdbd", "mariadb")}
    if len(set(ports.values())) < len(ports):  # unlikely: the kernel handed out a port twice
        ports = {name: port + i for i, (name, port) in enumerate(ports.items())}
    hostname = socket.gethostname().split(".")[0]
    cluster = Cluster(root=root, hostname=hostname, ports=ports, keep=keep, install_s=install_s)
    cluster.lock = lock
    (root / "log").mkdir()
    try:
        cluster._write_configs()
        cluster._start_munge()
        cluster._start_mariadb()
        cluster._start_slurm()
    except BaseException:
        cluster.keep = True  # leave the logs for inspection; the message names the folder
        cluster.stop()
        raise
    cluster.startup_s = time.monotonic() - start
    return cluster


def main(argv: list[str]) -> int:
    if argv[1:2] == ["start"]:
        cluster = start_cluster()
        print(f"cluster up in {cluster.startup_s:.1f} s (install {cluster.install_s:.1f} s)")
        print(f"folder: {cluster.root}; stop with: python {argv[0]} stop")
        return 0
    if argv[1:2] == ["stop"]:
        try:
            lock = _acquire_lock(wait_s=0)  # never stop a cluster a live test session owns
        except ClusterError as exc:
            print(exc, file=sys.stderr)
            return 1
        print("ended:", ", ".join(stop_stale()) or "nothing")
        lock.close()
        return 0
    print(f"usage: python {argv[0]} start|stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
