"""The managed local Neo4j: Neo4j Community embedded in a small JVM launcher, jars resolved by Maven.

It exists so that `serve`, `ingest` and the tests run against a real Neo4j on a fresh machine with no setup.
Layout under $INSIGHTGRAPH_HOME/neo4j: lib/ (jars), classes/ (the compiled launcher), data/ (the DBMS home),
neo4j.conf, neo4j.pid, neo4j.log.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

LAUNCHER_DIR = Path(__file__).parent / "launcher"
JAVA_OPTS = [
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
]


class Neo4jError(RuntimeError):
    """A managed-Neo4j problem, worded for the person at the terminal."""


@dataclass
class ManagedNeo4j:
    home: Path
    port: int = 7687
    heap: str = "2g"
    pagecache: str = "2g"
    # Extra neo4j.conf settings (key -> value), written after the defaults below and replacing any of them.
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return self.home / "neo4j"

    @property
    def pid_file(self) -> Path:
        return self.dir / "neo4j.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "neo4j.log"

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    # --- install -------------------------------------------------------------------------------------------
    def install(self) -> None:
        """Resolve the jars with Maven (once) and compile the launcher (when its source is newer)."""
        lib, classes = self.dir / "lib", self.dir / "classes"
        pom = LAUNCHER_DIR / "pom.xml"
        marker = lib / ".resolved"
        if not marker.exists() or marker.read_text() != pom.read_text():
            mvn = shutil.which("mvn")
            if not mvn:
                raise Neo4jError("Maven (mvn) is not on PATH: it resolves the managed Neo4j's jars; install it")
            if lib.exists():
                shutil.rmtree(lib)
            lib.mkdir(parents=True)
            proc = subprocess.run(
                [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={lib}"],
                capture_output=True, text=True,
            )
            if proc.returncode != 0:
                raise Neo4jError(f"Maven could not resolve Neo4j's jars:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
            marker.write_text(pom.read_text())
        src = LAUNCHER_DIR / "Launcher.java"
        cls = classes / "Launcher.class"
        if not cls.exists() or cls.stat().st_mtime < src.stat().st_mtime:
            classes.mkdir(parents=True, exist_ok=True)
            proc = subprocess.run(
                [self._java("javac"), "-cp", f"{lib}/*", "-d", str(classes), str(src)], capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise Neo4jError(f"could not compile the Neo4j launcher:\n{proc.stderr[-2000:]}")

    @staticmethod
    def _java(tool: str = "java") -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / tool).exists():
            return str(Path(java_home) / "bin" / tool)
        found = shutil.which(tool)
        if not found:
            raise Neo4jError(f"{tool} is not on PATH: the managed Neo4j needs Java 17 or newer")
        return found

    # --- lifecycle -----------------------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The launcher's pid while its process is alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def answers(self) -> bool:
        """Whether Bolt answers a query on the port."""
        if not _port_open(self.port):
            return False
        from neo4j import GraphDatabase

        try:
            # Short timeouts and no retries: something else on the port must not hold `status` for minutes.
            with GraphDatabase.driver(self.uri, auth=None, connection_timeout=3, connection_acquisition_timeout=3,
                                      max_transaction_retry_time=0) as driver:
                driver.execute_query("RETURN 1")
            return True
        except Exception:
            return False

    def start(self, timeout: float = 180.0) -> bool:
        """Start in the background and wait until Bolt answers. False when it was already running."""
        if self.pid() is not None:
            if self.answers() or self._wait(self.pid(), timeout):
                return False
        if _port_open(self.port):
            raise Neo4jError(
                f"port {self.port} on 127.0.0.1 is already taken by another program: stop it, or set "
                f"INSIGHTGRAPH_NEO4J_PORT (or --neo4j-port) to a free port"
            )
        self.install()
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "neo4j.conf"
        settings = {
            "server.bolt.enabled": "true",
            "server.bolt.listen_address": f"127.0.0.1:{self.port}",
            "server.bolt.tls_level": "DISABLED",
            # Loopback only; the managed instance is a local store, not a shared server.
            "dbms.security.auth_enabled": "false",
            "server.memory.pagecache.size": self.pagecache,
            "db.transaction.timeout": "300s",
            "db.lock.acquisition.timeout": "120s",
            "db.tx_log.rotation.retention_policy": "2 files",
            "dbms.usage_report.enabled": "false",
            **self.settings,
        }
        conf.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        log = open(self.log_file, "ab")
        cmd = [
            self._java(), f"-Xms{self.heap}", f"-Xmx{self.heap}", *JAVA_OPTS,
            "-cp", f"{self.dir / 'classes'}:{self.dir / 'lib'}/*", "Launcher", str(data), str(conf),
        ]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=self.dir)
        self.pid_file.write_text(str(proc.pid))
        if not self._wait(proc.pid, timeout):
            self.stop()
            raise Neo4jError(f"Neo4j did not start within {timeout:.0f}s; see {self.log_file}:\n{self._log_tail()}")
        return True

    def _wait(self, pid: int | None, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pid is None or not _alive(pid):
                return False
            if self.answers():
                return True
            time.sleep(0.5)
        return False

    def stop(self, timeout: float = 120.0) -> bool:
        """SIGTERM (the launcher shuts the DBMS down, which checkpoints), SIGKILL if it hangs. False if not running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap our own child if it exited
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
