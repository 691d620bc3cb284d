"""`helix-localize` (or `python -m helix_localize`): run the localize service until SIGTERM."""

from __future__ import annotations

from helix.runtime import run_service
from helix_localize.app import LocalizeApp
from helix_localize.settings import load_localize_settings


def main() -> None:
    run_service(load_localize_settings(), LocalizeApp)


if __name__ == "__main__":
    main()
