from __future__ import annotations

import structlog

from helix.events import AssetKind
from helix_review.checks.base import FindingDraft, ScreeningContext, Severity
from helix_review.likeness import ImageEncoder, cosine

log = structlog.get_logger("helix.review.likeness")
IMAGE_KINDS = (AssetKind.FRAME, AssetKind.SCENE, AssetKind.TEXTURE)


class LikenessResemblanceCheck:
    """A generated image that resembles a performer's reference image (cosine similarity of the
    encoder's embeddings at or above the threshold) needs their consent for 'likeness' in this
    production, whether or not their name appears anywhere: without one, a high finding that
    blocks approval; with one, a closed finding that records it, reopened if it lapses."""

    name = "likeness_resemblance"

    def __init__(self, encoder: ImageEncoder, threshold: float) -> None:
        self.encoder = encoder
        self.threshold = threshold

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        if ctx.asset.kind not in IMAGE_KINDS or ctx.content is None or not ctx.references:
            return []
        try:
            embedding = self.encoder.embed(ctx.content)
        except Exception as exc:  # an image the encoder cannot read: the integrity check reports unreadable content
            log.warning("review.likeness_unreadable", asset_id=ctx.asset.asset_id, error=f"{type(exc).__name__}: {exc}"[:300])
            return []
        closest: dict[str, tuple[float, str]] = {}
        for ref in ctx.references:
            similarity = cosine(embedding, ref.embedding)
            if similarity > closest.get(ref.performer_key, (-2.0, ""))[0]:
                closest[ref.performer_key] = (similarity, ref.performer)
        drafts = []
        for key, (similarity, performer) in sorted(closest.items()):
            if similarity < self.threshold:
                continue
            production = ctx.asset.production_id
            covering = next((c for c in ctx.consents if c.performer_key == key and c.covers("likeness", production, ctx.now)), None)
            resembles = (f"this {ctx.asset.kind.value} resembles {performer}'s reference image (similarity {similarity:.2f}, "
                         f"threshold {self.threshold:.2f})")
            if covering is not None:
                drafts.append(FindingDraft(self.name, Severity.HIGH, f"{resembles} under consent {covering.id} for 'likeness'",
                                           subject=performer, blocks_approval=True, covered_by=covering.id))
            else:
                drafts.append(FindingDraft(self.name, Severity.HIGH, f"{resembles} without recorded consent for 'likeness' in "
                                           f"production {production}", subject=performer, blocks_approval=True))
        return drafts
