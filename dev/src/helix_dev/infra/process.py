"""Small process helpers for the local launcher: detached servers, pid files, ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

console = Console(stderr=True)


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing listens there, else a port the OS picks."""
    if preferred and not port_open(preferred):
        with contextlib.suppress(OSError), socket.socket() as sock:
            sock.bind(("127.0.0.1", preferred))
            return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child not yet reaped) is not alive for our purposes.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def start_detached(cmd: Sequence[str], *, log_file: Path, pid_file: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start a server in its own session (it outlives this command), logging to a file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def stop_process(pid_file: Path, *, timeout: float = 30.0, sig: signal.Signals = signal.SIGTERM) -> bool:
    """Signal the server's process group (SIGTERM by default), SIGKILL after `timeout`;
    True if one was running."""
    pid = read_pid(pid_file)
    if not pid_alive(pid):
        pid_file.unlink(missing_ok=True)
        return False
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while pid_alive(pid):
            time.sleep(0.1)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it was our child
    pid_file.unlink(missing_ok=True)
    return True


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, alive: Callable[[], bool] | None = None, log_file: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if alive is not None and not alive():
            tail = log_file.read_text(errors="replace")[-3000:] if log_file and log_file.exists() else ""
            raise RuntimeError(f"{what} exited while starting. Last log lines:\n{tail}")
        time.sleep(0.3)
    raise TimeoutError(f"{what} did not answer within {timeout:.0f} s" + (f" (log: {log_file})" if log_file else ""))


def run_with_progress(cmd: Sequence[str], *, label: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run a long build step, showing that it moves: a live status line on a terminal,
    a heartbeat line every 15 s otherwise (CI logs). Fails with the output's tail."""
    started = time.monotonic()
    lines: list[str] = []
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})}, cwd=cwd
    )

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    interactive = sys.stderr.isatty()
    console.print(f"[bold]{label}[/] …")
    if interactive:
        with console.status(label) as status:
            while proc.poll() is None:
                status.update(f"{label} — {time.monotonic() - started:.0f} s, {len(lines)} lines: {lines[-1][:90] if lines else ''}")
                time.sleep(0.25)
    else:
        last = started
        while proc.poll() is None:
            time.sleep(0.25)
            if time.monotonic() - last >= 15:
                last = time.monotonic()
                console.print(f"  … {label}: {last - started:.0f} s, {len(lines)} lines; last: {lines[-1][:120] if lines else ''}")
    reader.join(timeout=5)
    if proc.returncode != 0:
        tail = "\n".join(lines[-40:])
        raise RuntimeError(f"{label} failed (exit {proc.returncode}):\n{tail}")
    console.print(f"[green]✓[/] {label} ({time.monotonic() - started:.0f} s)")
