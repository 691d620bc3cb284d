from __future__ import annotations

import re

from helix.events import AssetKind
from helix_review.checks.base import FindingDraft, ScreeningContext, Severity

# Which consent scope an asset kind needs when it names or shows a performer.
REQUIRED_SCOPE = {
    AssetKind.SCRIPT: "name",
    AssetKind.DIALOGUE: "name",
    AssetKind.STORYBOARD: "name",
    AssetKind.SUBTITLES: "name",
    AssetKind.FRAME: "likeness",
    AssetKind.SCENE: "likeness",
    AssetKind.TEXTURE: "likeness",
    AssetKind.REFERENCE: "likeness",
    AssetKind.VOICEOVER: "voice",
    AssetKind.ANIMATIC: "likeness",  # its frames and tracks were each checked for their own scope too
    AssetKind.CLIP: "likeness",  # a shot in motion shows what its frame shows
}
SCOPES = ("name", "likeness", "voice")


def mentions(text: str, name: str) -> bool:
    """Whole-word, case-insensitive: 'Ann Lee' in 'ANN LEE enters', not in 'Joanne Leeds'."""
    words = r"\s+".join(re.escape(w) for w in name.split())
    return re.search(rf"(?<!\w){words}(?!\w)", text, re.IGNORECASE) is not None


class LikenessConsentCheck:
    """Every performer named in the prompt or the script has consent for this use."""

    name = "likeness_consent"

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        scope = REQUIRED_SCOPE[ctx.asset.kind]
        drafts = []
        for performer in ctx.performers:
            if not any(mentions(ctx.text, n) for n in [performer.name, *performer.aliases]):
                continue
            covering = next((c for c in ctx.consents
                             if c.performer_key == performer.name_key and c.covers(scope, ctx.asset.production_id, ctx.now)), None)
            if covering is not None:  # recorded as closed, so a lapse of this consent can flag it again
                drafts.append(FindingDraft(self.name, Severity.HIGH, f"{performer.name} appears in this {ctx.asset.kind.value} under "
                                           f"consent {covering.id} for '{scope}'", subject=performer.name, blocks_approval=True,
                                           covered_by=covering.id))
                continue
            drafts.append(
                FindingDraft(
                    self.name,
                    Severity.HIGH,
                    f"{performer.name} appears in this {ctx.asset.kind.value} without recorded consent "
                    f"for '{scope}' in production {ctx.asset.production_id}",
                    subject=performer.name,
                    blocks_approval=True,
                )
            )
        return drafts
