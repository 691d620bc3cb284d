from __future__ import annotations

from helix.events import Authorship
from helix.provenance import ContentCredentials, signable
from helix_review.checks.base import FindingDraft, ScreeningContext, Severity


class ProvenanceCheck:
    """Every generated image, audio track and video carries Content Credentials (C2PA) that a
    trusted signer made for exactly these bytes and that name the model the event names.
    Missing, invalid (the file changed after signing) or wrong: the asset cannot be approved
    until an admin resolves the finding; an untrusted signer is reported."""

    name = "provenance"

    def __init__(self, credentials: ContentCredentials) -> None:
        self.credentials = credentials

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        asset = ctx.asset
        if not signable(asset.media_type) or asset.authorship is Authorship.HUMAN or ctx.content is None:
            return []
        verdict = self.credentials.verify(ctx.content, asset.media_type, ctx.manifest)
        if verdict.state == "missing":
            return [FindingDraft(self.name, Severity.HIGH, "no Content Credentials (C2PA) in this generated media", blocks_approval=True)]
        if verdict.state == "invalid":
            return [FindingDraft(self.name, Severity.CRITICAL, f"Content Credentials do not verify: {verdict.detail}", blocks_approval=True)]
        drafts = []
        if verdict.state == "untrusted":
            drafts.append(FindingDraft(self.name, Severity.MEDIUM, verdict.detail))
        if asset.model is not None and verdict.model not in (asset.model.id, None):
            drafts.append(FindingDraft(self.name, Severity.HIGH, f"the manifest names model {verdict.model!r}, the event {asset.model.id!r}",
                                       blocks_approval=True))
        elif asset.model is not None and verdict.model is None:
            drafts.append(FindingDraft(self.name, Severity.MEDIUM, "the manifest does not name the model that made this"))
        return drafts
