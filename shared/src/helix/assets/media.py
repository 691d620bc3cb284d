"""What a file's first bytes say it is: the check every place that takes a person's file makes
before trusting the type a client claims (consent references, uploaded views of the cast)."""

from __future__ import annotations

# media type -> (what the bytes begin with, and what they hold at offset 8 where the container says it)
_SIGNATURES: dict[str, tuple[bytes, bytes | None]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n", None),
    "image/jpeg": (b"\xff\xd8\xff", None),
    "image/webp": (b"RIFF", b"WEBP"),
    "audio/wav": (b"RIFF", b"WAVE"),
    "audio/flac": (b"fLaC", None),
}
SNIFFED_TYPES = tuple(_SIGNATURES)


def bytes_are(data: bytes, media_type: str) -> bool:
    """Whether `data` begins as a file of `media_type` does (one of SNIFFED_TYPES; others: False)."""
    found = _SIGNATURES.get(media_type)
    if found is None:
        return False
    start, at_eight = found
    return data.startswith(start) and (at_eight is None or data[8:12] == at_eight)
