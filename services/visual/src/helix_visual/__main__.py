"""`helix-visual` (or `python -m helix_visual`): run the visual service until SIGTERM."""

from __future__ import annotations

from helix.runtime import run_service
from helix_visual.app import VisualApp
from helix_visual.settings import load_visual_settings


def main() -> None:
    run_service(load_visual_settings(), VisualApp)


if __name__ == "__main__":
    main()
