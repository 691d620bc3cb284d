"""The gateway's read model: productions, jobs and assets in SQL, projected from events."""

from helix_gateway.readmodel.database import make_engine, migrate, normalize_url
from helix_gateway.readmodel.repository import ReadModel

__all__ = ["ReadModel", "make_engine", "migrate", "normalize_url"]
