"""Every Helix service as a process on this machine: `helix up`, `helix down`, `helix status`.

`up` starts the local infrastructure (`helix_dev.infra`: Kafka, MinIO, PostgreSQL) and then
the services in the order they depend on each other (review before the gateway that calls
it), each on free ports, its log under `.helix/logs/`, its pid under `.helix/run/`, and waits
until each answers (gRPC health, or the gateway's `/readyz`). Models come from a profile
(`helix_dev.profiles`: `tiny`, Helix's own random-weight models, or `real`, the real small
models from the package registries); settings in the environment win over the profile's
(HELIX_WRITER_MODEL, HELIX_VISUAL_MODEL, HELIX_LOCALIZE_TRANSLATION_MODELS, HELIX_LOCALIZE_VOICES).
Where everything runs is kept in `.helix/stack.json`, which `status` and `down` read.

`status` reads the live system: each service's process and health, each topic's end offset
and every consumer group's lag, and the review queue (through the gateway, as an admin).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from helix.events import Topic
from helix.settings import helix_home, load_settings
from helix_dev.infra.local import LocalInfra
from helix_dev.infra.process import free_port, pid_alive, port_open, read_pid, start_detached, stop_process
from helix_dev.profiles import get_profile

console = Console(stderr=True)
# Start order: what a service calls must already answer.
SERVICES = ("review", "writer", "visual", "localize", "gateway")
# Each service keeps its own SQLite database under .helix/state (one file per service):
# locally that is all they need; on Kubernetes they point at PostgreSQL (HELIX_DATABASE_URL).
INFRA = ("kafka", "minio")


def torch_threads() -> int:
    """One machine, three services running models (writer, visual, localize): each gets an
    equal share of the cores, so their thread pools do not fight over them."""
    return max(1, (os.cpu_count() or 1) // 3)


@dataclass
class Running:
    name: str
    pid: int
    address: str  # the gRPC address, or the gateway's URL
    log: str


@dataclass
class StackState:
    gateway_url: str = ""
    services: dict[str, Running] = field(default_factory=dict)
    profile: str = "tiny"


class LocalStack:
    def __init__(self, home: Path | None = None) -> None:
        self.home = home or helix_home()
        self.infra = LocalInfra()
        self.run_dir, self.log_dir = self.home / "run", self.home / "logs"
        self.state_file = self.home / "stack.json"

    # --- state ------------------------------------------------------------------------------

    def state(self) -> StackState:
        if not self.state_file.is_file():
            return StackState()
        raw = json.loads(self.state_file.read_text())
        return StackState(raw.get("gateway_url", ""), {k: Running(**v) for k, v in raw.get("services", {}).items()}, raw.get("profile", "tiny"))

    def _save(self, state: StackState) -> None:
        self.state_file.write_text(json.dumps({"gateway_url": state.gateway_url, "profile": state.profile,
                                               "services": {k: asdict(v) for k, v in state.services.items()}}, indent=1))

    # --- up / down --------------------------------------------------------------------------

    def up(self, services: tuple[str, ...] = SERVICES, *, profile: str = "tiny", timeout: float = 600.0) -> StackState:
        unknown = sorted(set(services) - set(SERVICES))
        if unknown:
            raise ValueError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
        chosen = get_profile(profile)
        state = self.state()
        running = [name for name, r in state.services.items() if pid_alive(r.pid)]
        if running and state.profile != chosen.name:
            raise ValueError(f"{', '.join(running)} already run with the {state.profile} profile: `helix down` first")
        with console.status(f"making the {chosen.name} profile's models ready (once; cached under .helix/models)"):
            models = chosen.prepare()
        state.profile = chosen.name
        env = self.infra.up(INFRA)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        addresses = {name: (state.services[name].address if name in state.services and pid_alive(state.services[name].pid)
                            else f"127.0.0.1:{free_port()}") for name in SERVICES}
        gateway_port = int(addresses["gateway"].rsplit(":", 1)[1])
        common = {**models, **os.environ, **env, "HELIX_LOG_JSON": "true",
                  "HELIX_REVIEW_GRPC_ADDRESS": addresses["review"], "HELIX_WRITER_GRPC_ADDRESS": addresses["writer"],
                  "HELIX_VISUAL_GRPC_ADDRESS": addresses["visual"], "HELIX_LOCALIZE_GRPC_ADDRESS": addresses["localize"],
                  "HELIX_LOCALIZE_WRITER_ADDRESS": addresses["writer"],  # dubbing asks the writer for shorter lines
                  "HELIX_LOCALIZE_CASTING_ADDRESS": addresses["review"],  # and reads each production's voice casting
                  "HELIX_TORCH_THREADS": os.environ.get("HELIX_TORCH_THREADS", str(torch_threads())),
                  # one replica of each generator and no autoscaler: each takes every request
                  # as it comes, and its engine batches and queues them
                  "HELIX_JOBS_MAX_IN_FLIGHT": os.environ.get("HELIX_JOBS_MAX_IN_FLIGHT", "256"),
                  # Every approved frame gets its shot in motion; the animatic moves with the approved clips.
                  "HELIX_VISUAL_MOTION_ON_APPROVAL": os.environ.get("HELIX_VISUAL_MOTION_ON_APPROVAL", "true")}
        bin_dir = Path(sys.executable).parent
        for name in [s for s in SERVICES if s in services]:
            running = state.services.get(name)
            if running and pid_alive(running.pid):
                console.print(f"[green]✓[/] {name} already running (pid {running.pid}, {running.address})")
                continue
            command = [str(bin_dir / f"helix-{name}")] + (["--port", str(gateway_port)] if name == "gateway" else [])
            log_file, pid_file = self.log_dir / f"{name}.log", self.run_dir / f"{name}.pid"
            pid = start_detached(command, log_file=log_file, pid_file=pid_file, env={**common, "HELIX_SERVICE_NAME": name})
            address = f"http://127.0.0.1:{gateway_port}" if name == "gateway" else addresses[name]
            state.services[name] = Running(name, pid, address, str(log_file))
            if name == "gateway":
                state.gateway_url = address
            self._save(state)
            started = time.monotonic()
            with console.status(f"starting {name} (pid {pid}; log {log_file})"):
                while not self._answers(state.services[name]):
                    if not pid_alive(pid):
                        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:]) if log_file.exists() else ""
                        raise RuntimeError(f"{name} exited while starting; the end of {log_file}:\n{tail}")
                    if time.monotonic() - started > timeout:
                        raise TimeoutError(f"{name} did not answer in {timeout:.0f} s; see {log_file}")
                    time.sleep(0.3)
            console.print(f"[green]✓[/] {name} ready in {time.monotonic() - started:.1f} s at {address}")
        return state

    def down(self, *, infra: bool = True) -> list[str]:
        stopped = []
        for name in reversed(SERVICES):
            if stop_process(self.run_dir / f"{name}.pid", timeout=30):
                stopped.append(name)
        self.state_file.unlink(missing_ok=True)
        if infra:
            stopped += self.infra.down()
        return stopped

    def _answers(self, running: Running) -> bool:
        if running.name == "gateway":
            import httpx

            try:
                return httpx.get(f"{running.address}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        return grpc_serving(running.address)

    # --- status -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        state = self.state()
        services = {}
        for name in SERVICES:
            running = state.services.get(name)
            pid = read_pid(self.run_dir / f"{name}.pid")
            alive = pid_alive(pid)
            services[name] = {"pid": pid if alive else None, "address": running.address if running else "",
                              "answering": bool(running and alive and self._answers(running))}
        return {"infra": self.infra.status(), "profile": state.profile, "services": services, "topics": topic_lag(), "review": review_queue(state.gateway_url)}


def grpc_serving(address: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    host, _, port = address.rpartition(":")
    if not port_open(int(port), host or "127.0.0.1"):
        return False
    with grpc.insecure_channel(address) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        except grpc.RpcError:
            return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


def topic_lag() -> dict[str, dict[str, Any]]:
    """Per Helix topic: messages in it (end offsets) and each consumer group's lag."""
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    settings = load_settings()
    config = settings.kafka_client_config()
    admin = AdminClient(config)
    try:
        metadata = admin.list_topics(timeout=5)
    except Exception as exc:
        return {"error": {"detail": f"the broker does not answer: {exc}"}}
    reader = Consumer({**config, "group.id": "helix-status", "enable.auto.commit": False})
    ends: dict[str, dict[int, int]] = {}
    try:
        for topic in Topic:
            name = settings.topic(topic)
            if name not in metadata.topics:
                continue
            ends[name] = {p: reader.get_watermark_offsets(TopicPartition(name, p), timeout=5)[1] for p in metadata.topics[name].partitions}
    finally:
        reader.close()
    report = {name: {"messages": sum(v.values()), "lag": {}} for name, v in ends.items()}
    groups = [g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid if not g.group_id.startswith(("helix-status", "reader-"))]
    for group in groups:
        try:
            offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=10)
        except Exception:
            continue
        for tp in offsets.topic_partitions:
            if tp.topic in report and tp.offset >= 0:
                lag = ends[tp.topic].get(tp.partition, 0) - tp.offset
                report[tp.topic]["lag"][group] = report[tp.topic]["lag"].get(group, 0) + max(0, lag)
    return report


def review_queue(gateway_url: str) -> dict[str, Any]:
    """The review queue by kind, from the gateway's dashboard (as a local admin)."""
    if not gateway_url:
        return {}
    import httpx

    from helix.auth import Role, mint_token

    try:
        token = mint_token(load_settings(), "helix-status", [Role.ADMIN], productions=["*"])
        answer = httpx.get(f"{gateway_url}/reviews/dashboard", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        answer.raise_for_status()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    body = answer.json()
    return {k["kind"]: {"pending": k["pending"], "oldest_s": round(k["oldest_pending_seconds"]), "decided": k["decided"]} for k in body.get("kinds", [])}
