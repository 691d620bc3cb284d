from __future__ import annotations

import structlog

from helix.events import AssetKind
from helix_review.checks.base import FindingDraft, ScreeningContext, Severity
from helix_review.checks.consent import REQUIRED_SCOPE
from helix_review.likeness import Likeness, cosine

log = structlog.get_logger("helix.review.likeness")
SCREENED = (AssetKind.FRAME, AssetKind.SCENE, AssetKind.TEXTURE, AssetKind.REFERENCE, AssetKind.VOICEOVER)  # images, and voice-overs by their audio


class LikenessResemblanceCheck:
    """A generated image that resembles a performer's reference image, or a voice-over that
    resembles their reference recording (cosine similarity of the encoder's embeddings at or
    above its threshold), needs their consent for 'likeness' (images) or 'voice' (voice-overs) in
    this production, whether or not their name appears anywhere: without one, a high finding
    that blocks approval; with one, a closed finding that records it, reopened if it lapses."""

    name = "likeness_resemblance"

    def __init__(self, likeness: Likeness) -> None:
        self.likeness = likeness

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        if ctx.asset.kind not in SCREENED or ctx.content is None or not ctx.references:
            return []
        encoding = self.likeness.encoder_for(ctx.asset.media_type)
        if encoding is None:
            return []
        encoder, threshold = encoding
        references = [r for r in ctx.references if r.model == encoder.model]
        if not references:
            return []
        try:
            embedding = encoder.embed(ctx.content)
        except Exception as exc:  # bytes the encoder cannot read: the integrity check reports unreadable content
            log.warning("review.likeness_unreadable", asset_id=ctx.asset.asset_id, error=f"{type(exc).__name__}: {exc}"[:300])
            return []
        scope = REQUIRED_SCOPE[ctx.asset.kind]
        what = "voice" if scope == "voice" else "reference image"
        closest: dict[str, tuple[float, str]] = {}
        for ref in references:
            similarity = cosine(embedding, ref.embedding)
            if similarity > closest.get(ref.performer_key, (-2.0, ""))[0]:
                closest[ref.performer_key] = (similarity, ref.performer)
        drafts = []
        for key, (similarity, performer) in sorted(closest.items()):
            if similarity < threshold:
                continue
            production = ctx.asset.production_id
            covering = next((c for c in ctx.consents if c.performer_key == key and c.covers(scope, production, ctx.now)), None)
            resembles = (f"this {ctx.asset.kind.value} resembles {performer}'s {what} (similarity {similarity:.2f}, "
                         f"threshold {threshold:.2f})")
            if covering is not None:
                drafts.append(FindingDraft(self.name, Severity.HIGH, f"{resembles} under consent {covering.id} for '{scope}'",
                                           subject=performer, blocks_approval=True, covered_by=covering.id))
            else:
                drafts.append(FindingDraft(self.name, Severity.HIGH, f"{resembles} without recorded consent for '{scope}' in "
                                           f"production {production}", subject=performer, blocks_approval=True))
        return drafts
