"""New ids for productions and jobs (valid `helix.events.data.Id`s)."""

from __future__ import annotations

import re
import secrets
import uuid

from pydantic import TypeAdapter

from helix.events.data import Id

_ids = TypeAdapter(Id)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def production_id_for(title: str) -> str:
    """A readable, unique production id: the title's slug plus a short random suffix."""
    slug = _NOT_SLUG.sub("-", title.lower()).strip("-")[:60].rstrip("-") or "production"
    return _ids.validate_python(f"{slug}-{secrets.token_hex(3)}")


def new_job_id() -> str:
    return f"job-{uuid.uuid4().hex}"


def new_upload_id() -> str:
    """Where a person's file waits in the store until its service keeps it (`helix.assets.UploadKey`)."""
    return f"upload-{uuid.uuid4().hex}"
