"""ffmpeg, the one program every media step of Helix runs: finding it, running it, its version,
and the two cuts more than one service makes (frames into a clip, a clip back into frames)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise RuntimeError("ffmpeg is not installed: Helix cuts video with it (apt-get install ffmpeg)")
    return found


def run(command: list[str], cwd: Path) -> None:
    """Run one ffmpeg command; its stderr's tail is the error when it fails. Its own session: the
    SIGTERM a stopping service gets (its process group's) must not kill a cut the drain waits for."""
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, start_new_session=True)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def version() -> str:
    out = subprocess.run([ffmpeg(), "-version"], capture_output=True, text=True, check=False).stdout.split()
    return out[2] if len(out) > 2 else "unknown"


def encode_frames(folder: Path, pattern: str, fps: float, out: Path) -> None:
    """Numbered PNGs (`pattern`, e.g. `f%04d.png`) into an H.264 MP4 at `fps`: every frame a
    picture of its own (no frame dropped or doubled), 4:2:0, even sides, the index up front."""
    run([ffmpeg(), "-nostdin", "-y", "-hide_banner", "-loglevel", "error", "-framerate", f"{fps:g}", "-i", pattern,
         "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
         "-movflags", "+faststart", str(out)], cwd=folder)


def decode_frames(clip: Path, folder: Path, prefix: str) -> list[Path]:
    """A clip's pictures as numbered PNGs in `folder` (`<prefix>0001.png`, …), in order."""
    run([ffmpeg(), "-nostdin", "-y", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-fps_mode", "passthrough",
         f"{prefix}%04d.png"], cwd=folder)
    return sorted(folder.glob(f"{prefix}[0-9][0-9][0-9][0-9].png"))
