"""Content Credentials (C2PA) on every generated image, audio track and video, through
c2pa-python: signed when the generator kit stores an asset, verified by review.

- Generated output: a `c2pa.created` action with digital source type
  `trainedAlgorithmicMedia`, the model (id and revision) as the software agent, the seed and
  parameters, and an `org.helix.generation` assertion (asset, job, model, seed).
- Revisions and dubbed tracks: `compositeWithTrainedAlgorithmicMedia`, the parent media as an
  ingredient where there is one.
- Signed with the key and certificate chain from settings (`HELIX_C2PA_CHAIN`,
  `HELIX_C2PA_KEY`); with none configured, a development chain is made once under
  `.helix/c2pa` (`helix c2pa dev-chain`). Trust anchors: `HELIX_C2PA_TRUST_ANCHORS` (the
  development root by default). Production sets all three from Kubernetes Secrets.
- Media types the library cannot embed into (checked at run time) get a sidecar instead: the
  same claims (`org.helix.content` with the bytes' sha256, the generation, the action) signed
  detached with the same key and chain (ES256 over canonical JSON; not a C2PA manifest store,
  which the library only builds around a file it can hash).
A signed file is not byte-identical to a second signing of the same content: C2PA salts its
hashes and labels each manifest uniquely. What is reproducible is the content under it.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from helix import __version__
from helix.settings import HelixSettings, helix_home

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
SIGNED_KINDS = ("image/", "audio/", "video/")


def signable(media_type: str) -> bool:
    return media_type.startswith(SIGNED_KINDS)


def dev_chain(folder: Path | None = None) -> dict[str, Path]:
    """A development signing chain (ES256 root CA + end-entity signer), made once in `folder`."""
    folder = Path(folder or helix_home() / "c2pa")
    paths = {"chain": folder / "chain.pem", "key": folder / "key.pem", "root": folder / "root.pem"}
    if all(p.is_file() for p in paths.values()):
        return paths
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Helix development")])

    def usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)

    now = datetime.now(UTC)
    root_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(name("Helix development root")).issuer_name(name("Helix development root"))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage(sign=False, ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    signer = (x509.CertificateBuilder().subject_name(name("Helix development signer")).issuer_name(root.subject)
              .public_key(signer_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=825))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(usage(sign=True, ca=False), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
              .sign(root_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    paths["chain"].write_bytes(signer.public_bytes(pem) + root.public_bytes(pem))
    paths["root"].write_bytes(root.public_bytes(pem))
    paths["key"].write_bytes(signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    paths["key"].chmod(0o600)
    return paths


@dataclass(frozen=True)
class Signed:
    data: bytes  # the asset's bytes (with the manifest embedded, where the format allows)
    sidecar: bytes | None  # the manifest, where it could not be embedded
    label: str


@dataclass(frozen=True)
class Verdict:
    state: Literal["trusted", "untrusted", "invalid", "missing"]
    detail: str
    manifest: dict[str, Any] | None = None

    @property
    def model(self) -> str | None:
        """The model the manifest names as the software agent of its first action."""
        for assertion in (self.manifest or {}).get("assertions", []):
            if assertion.get("label", "").startswith("c2pa.actions"):
                for action in assertion.get("data", {}).get("actions", []):
                    agent = action.get("softwareAgent")
                    if isinstance(agent, dict) and agent.get("name"):
                        return str(agent["name"])
        return None

    @property
    def source_types(self) -> list[str]:
        return [a.get("digitalSourceType", "") for assertion in (self.manifest or {}).get("assertions", [])
                if assertion.get("label", "").startswith("c2pa.actions") for a in assertion.get("data", {}).get("actions", [])]


TRAINING_MINING = "cawg.training-mining"  # CAWG Training and Data Mining assertion 1.0
TRAINING_MINING_USES = ("cawg.ai_generative_training", "cawg.ai_inference", "cawg.ai_training", "cawg.data_mining")


TrainingMining = Literal["notAllowed", "allowed", "constrained"]


class DataUse(BaseModel):
    """What a production lets downstream tools do with its media: the CAWG training-and-mining
    `use` every manifest of its assets carries. Chosen when the production is created (the
    gateway keeps it in the store, `AssetStore.put_data_use`); read by each generator as it signs."""

    model_config = ConfigDict(frozen=True)
    production_id: str
    training_mining: TrainingMining = "notAllowed"


def training_mining(use: str) -> dict[str, Any]:
    """Whether downstream tools may mine the asset or train on it: one `use` for every kind."""
    return {"label": TRAINING_MINING, "data": {"entries": {kind: {"use": use} for kind in TRAINING_MINING_USES}}}


class ContentCredentials:
    """Signing (generators) and verification (review) with the configured chain and trust anchors."""

    _lock = threading.Lock()

    def __init__(self, settings: HelixSettings) -> None:
        if settings.c2pa_chain and settings.c2pa_key:
            self.chain, self.key = Path(settings.c2pa_chain), Path(settings.c2pa_key)
            self.anchors = Path(settings.c2pa_trust_anchors) if settings.c2pa_trust_anchors else None
        else:
            with self._lock:
                paths = dev_chain()
            self.chain, self.key = paths["chain"], paths["key"]
            self.anchors = Path(settings.c2pa_trust_anchors) if settings.c2pa_trust_anchors else paths["root"]
        self._signer: Any = None
        self.training_mining = settings.c2pa_training_mining

    def _sign_with(self) -> Any:
        import c2pa

        if self._signer is None:
            info = c2pa.C2paSignerInfo(alg=c2pa.C2paSigningAlg.ES256, sign_cert=self.chain.read_bytes(), private_key=self.key.read_bytes(),
                                       ta_url=None)
            self._signer = c2pa.Signer.from_info(info)
        return self._signer

    @staticmethod
    def embeddable(media_type: str) -> bool:
        import c2pa

        return media_type in c2pa.Builder.get_supported_mime_types()

    def sign(self, data: bytes, media_type: str, *, title: str, model: str | None, revision: str | None, parameters: dict[str, Any],
             generation: dict[str, Any], composite: bool, ingredients: Sequence[tuple[str, bytes, str]] = (),
             training_mining_use: TrainingMining | None = None) -> Signed:
        """`data` with Content Credentials: created by a model, or composed with one (revisions, dubs).
        `training_mining_use`: the production's choice (`DataUse`); None: this deployment's default."""
        import c2pa

        action: dict[str, Any] = {"action": "c2pa.created", "digitalSourceType": COMPOSITE if composite else TRAINED,
                                  "parameters": {k: v for k, v in parameters.items() if isinstance(v, str | int | float | bool)}}
        if model:
            action["softwareAgent"] = {"name": model, "version": revision or "unknown"}
        manifest = {
            "claim_generator_info": [{"name": "helix", "version": __version__}],
            "title": title,
            "format": media_type,
            "assertions": [
                {"label": "c2pa.actions.v2", "data": {"actions": [action]}},
                {"label": "org.helix.generation", "data": generation},
                {"label": "org.helix.content", "data": {"sha256": hashlib.sha256(data).hexdigest(), "media_type": media_type}},
                training_mining(training_mining_use or self.training_mining),
            ],
        }
        if not self.embeddable(media_type):
            return Signed(data, self._detached(manifest), "sidecar")
        builder = c2pa.Builder(json.dumps(manifest, default=str))
        for ingredient_title, ingredient, ingredient_type in ingredients:  # what the composite was made from
            if self.embeddable(ingredient_type):
                builder.add_ingredient(json.dumps({"title": ingredient_title, "relationship": "componentOf"}), ingredient_type,
                                       io.BytesIO(ingredient))
        out = io.BytesIO()
        builder.sign(self._sign_with(), media_type, io.BytesIO(data), out)
        reader = c2pa.Reader(media_type, io.BytesIO(out.getvalue()))
        return Signed(out.getvalue(), None, str(json.loads(reader.json()).get("active_manifest", "")))

    def _detached(self, manifest: dict[str, Any]) -> bytes:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        body = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str).encode()
        key = serialization.load_pem_private_key(self.key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"the signing key {self.key} is not an elliptic-curve key (C2PA's ES256 needs one)")
        signature = key.sign(body, ec.ECDSA(hashes.SHA256()))
        return json.dumps({"manifest": manifest, "signature": signature.hex(), "chain": self.chain.read_text()}, default=str).encode()

    def verify(self, data: bytes, media_type: str, sidecar: bytes | None = None) -> Verdict:
        """What a manifest says of `data`: trusted, untrusted (valid, unknown signer), invalid (the
        bytes changed after signing, or a broken manifest), or missing."""
        import c2pa

        settings: dict[str, Any] = {"verify": {"verify_trust": True}}
        if self.anchors is not None:
            settings["trust"] = {"trust_anchors": self.anchors.read_text()}
        context = c2pa.Context.from_dict(settings)
        try:
            if sidecar is not None:
                return self._verify_sidecar(data, sidecar, context)
            reader = c2pa.Reader.try_create(media_type, io.BytesIO(data), context=context)
        except Exception as exc:
            return Verdict("invalid", f"the manifest cannot be read: {type(exc).__name__}: {str(exc)[:300]}")
        if reader is None:
            return Verdict("missing", "no Content Credentials in the file")
        state = (reader.get_validation_state() or "").lower()
        manifest = reader.get_active_manifest()
        if state == "invalid":
            failures = (reader.get_validation_results() or {}).get("activeManifest", {}).get("failure", [])
            return Verdict("invalid", "; ".join(f"{f.get('code')}: {f.get('explanation', '')}" for f in failures)[:1000] or "invalid", manifest)
        if state == "trusted":
            return Verdict("trusted", "signed by a trusted signer; the bytes match", manifest)
        return Verdict("untrusted", f"the manifest is valid, but its signer is not a configured trust anchor ({state})", manifest)

    def _verify_sidecar(self, data: bytes, sidecar: bytes, context: Any) -> Verdict:
        from cryptography import x509
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        envelope = json.loads(sidecar)
        manifest = envelope["manifest"]
        chain = x509.load_pem_x509_certificates(envelope["chain"].encode())
        body = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str).encode()
        signer = chain[0].public_key()
        if not isinstance(signer, ec.EllipticCurvePublicKey):
            return Verdict("invalid", "the sidecar's signer is not an elliptic-curve key", manifest)
        try:
            signer.verify(bytes.fromhex(envelope["signature"]), body, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return Verdict("invalid", "the sidecar's signature does not verify", manifest)
        bound: dict[str, Any] = next((a["data"] for a in manifest.get("assertions", []) if a.get("label") == "org.helix.content"), {})
        if bound.get("sha256") != hashlib.sha256(data).hexdigest():
            return Verdict("invalid", "the sidecar does not match the bytes (sha256)", manifest)
        anchors = x509.load_pem_x509_certificates(self.anchors.read_bytes()) if self.anchors else []
        trusted = any(chain[-1] == anchor or chain[-1].issuer == anchor.subject for anchor in anchors)
        return Verdict("trusted" if trusted else "untrusted", "signed sidecar: " + ("trusted signer" if trusted else "unknown signer"), manifest)
