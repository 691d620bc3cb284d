from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable

import structlog
from pydantic import ValidationError

from helix.assets import Store
from helix.events import AssetKind, FrameSummary
from helix.generation.ids import parse_asset_id
from helix.layout import layout
from helix.story import Shot
from helix_review.checks.base import FindingDraft, ScreeningContext, Severity
from helix_review.likeness import Encoder, cosine

log = structlog.get_logger("helix.review.drift")
ReadReference = Callable[[str, str, int], bytes | None]  # (production, asset id, version) -> the image, None when it is gone


def references_in(store: Store) -> ReadReference:
    """Reference versions read from the asset store (an image asset of any kind a frame may cite)."""

    def read(production_id: str, asset_id: str, version: int) -> bytes | None:
        parsed = parse_asset_id(asset_id)
        kind = parsed.kind if parsed is not None else AssetKind.REFERENCE
        found = [v for v in store.versions(production_id, kind, asset_id) if v.key.version == version]
        return store.get(found[0].key) if found else None

    return read


class CastDriftCheck:
    """A frame drawn with a character's reference (its `FrameSummary`) still looks like them:
    the character's region of the frame (where the shot's layout puts them) is embedded and
    compared with the reference version it cites. Below the threshold, a medium finding naming
    the character and the reference: the reviewer compares the two. Not blocking: drift is a
    judgement, and the reviewer makes it."""

    name = "cast_drift"

    def __init__(self, encoder: Encoder, threshold: float, read_reference: ReadReference, *, cached: int = 256) -> None:
        self.encoder = encoder
        self.threshold = threshold
        self.read_reference = read_reference
        self._embedded: OrderedDict[tuple[str, str, int], list[float] | None] = OrderedDict()
        self._cached = cached

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        summary = ctx.asset.typed_summary()
        if ctx.asset.kind is not AssetKind.FRAME or ctx.content is None or not isinstance(summary, FrameSummary) or not summary.references:
            return []
        try:
            shot = Shot.model_validate(ctx.asset.inputs.get("shot"))
            from PIL import Image

            frame = Image.open(io.BytesIO(ctx.content)).convert("RGB")
        except (ValidationError, OSError, ValueError) as exc:
            log.warning("review.drift_unreadable", asset_id=ctx.asset.asset_id, error=f"{type(exc).__name__}: {exc}"[:300])
            return []
        figures = {f.character: f for f in layout(shot).figures}
        drafts = []
        for character, used in sorted(summary.references.items()):
            figure = figures.get(character)
            reference = self._reference(ctx.asset.production_id, used.asset_id, used.version)
            if figure is None or reference is None:
                continue
            region = frame.crop(figure.box(frame.width, frame.height))
            out = io.BytesIO()
            region.save(out, "PNG")
            similarity = cosine(self.encoder.embed(out.getvalue()), reference)
            if similarity < self.threshold:
                drafts.append(FindingDraft(self.name, Severity.MEDIUM, f"{character} may have drifted from their reference {used.asset_id} "
                                           f"v{used.version}: where they stand, the frame is {similarity:.2f} similar to it (threshold "
                                           f"{self.threshold:.2f}); compare the two", subject=character))
        return drafts

    def _reference(self, production_id: str, asset_id: str, version: int) -> list[float] | None:
        key = (production_id, asset_id, version)
        if key not in self._embedded:
            data = self.read_reference(production_id, asset_id, version)
            self._embedded[key] = self.encoder.embed(data) if data is not None else None
            while len(self._embedded) > self._cached:
                self._embedded.popitem(last=False)
        return self._embedded[key]
