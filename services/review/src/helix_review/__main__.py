"""`helix-review` (or `python -m helix_review`): run the review service until SIGTERM."""

from __future__ import annotations

from helix.runtime import run_service
from helix_review.app import ReviewApp
from helix_review.settings import load_review_settings


def main() -> None:
    run_service(load_review_settings(), ReviewApp)


if __name__ == "__main__":
    main()
