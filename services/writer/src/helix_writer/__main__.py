"""`helix-writer` (or `python -m helix_writer`): run the writer service until SIGTERM."""

from __future__ import annotations

from helix.runtime import run_service
from helix_writer.app import WriterApp
from helix_writer.settings import load_writer_settings


def main() -> None:
    run_service(load_writer_settings(), WriterApp)


if __name__ == "__main__":
    main()
