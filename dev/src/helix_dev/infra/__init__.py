"""The local infrastructure launcher (`helix infra ...`) and its process helpers."""

from helix_dev.infra.local import COMPONENTS, DEFAULT_COMPONENTS, LocalInfra

__all__ = ["COMPONENTS", "DEFAULT_COMPONENTS", "LocalInfra"]
