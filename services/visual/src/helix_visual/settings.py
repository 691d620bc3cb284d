"""Visual settings: the HELIX_* environment, like every Helix process, plus its models and engine."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from helix.settings import HelixSettings, helix_home, infra_env_file

DEFAULT_MODEL = "default"


class VisualSettings(HelixSettings):
    service_name: str = "visual"
    # The default model: a Hugging Face id or a local folder in diffusers format; empty: the
    # tiny random pipeline Helix builds itself under .helix/models (noise, real code path).
    visual_model: str = ""
    visual_revision: str = "main"
    # More models by name, chosen per request (`model` in the request): {"sdxl": "stabilityai/sdxl-turbo"}.
    visual_models: dict[str, str] = Field(default_factory=dict)
    visual_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    visual_device: Literal["auto", "cpu", "cuda"] = "auto"
    visual_scheduler: str = "default"  # helix.models.diffusion.SCHEDULERS: default, euler, euler_a, ddim, dpmpp_2m, unipc, lcm, turbo
    visual_max_batch: int = Field(8, ge=1, le=64)  # images per pipeline call: what fits device memory
    visual_max_queue: int = Field(64, ge=1, le=10_000)  # images waiting; a full queue holds the Kafka consumer back
    visual_batch_wait_s: float = Field(0.01, ge=0, le=1)
    # Draw in a worker process of the service's own (helix_visual.worker), so a denoising loop
    # never holds the GIL the service's event loop needs. Off until it is measured to help: on
    # the episode bench with tiny models on 2 CPU cores it did not (bench/NOTES.md).
    visual_worker_process: bool = False
    # Layout conditioning of the default model: a ControlNet (id or folder) for it, which frames
    # condition on with each shot's layout sketch (helix.layout); empty: the tiny ControlNet
    # Helix builds where the default model is the tiny pipeline, none otherwise; "none": off.
    visual_layout_model: str = ""
    visual_layout_scale: float = Field(0.8, ge=0, le=2)
    # Reference conditioning of the default model (a character's look in every frame): an
    # IP-Adapter folder for it (`ip-adapter.safetensors` beside `image_encoder/`, or
    # `<folder>::<weights file>`); empty: the tiny one with the tiny pipeline, none otherwise; "none": off.
    visual_reference_model: str = ""
    visual_reference_scale: float = Field(0.6, ge=0, le=2)
    # A studio's LoRAs of its characters, by name (a folder or a .safetensors file each):
    # `FrameRequested.character_loras` names them; each frame with the character draws with its
    # LoRA at this weight (on the default model; it must fit that model's UNet).
    visual_loras: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$")], str] = Field(default_factory=dict)
    visual_lora_scale: float = Field(0.8, ge=0, le=2)
    # Motion: the image-to-video pipeline clips are made with (a diffusers folder or id); empty:
    # the tiny LTX-Video one Helix builds; "none": off. Its memory bounds: VAE tiling, and CPU
    # offload (each model moves to the device only while it runs).
    visual_video_model: str = ""
    visual_video_vae_tiling: bool = False
    visual_video_offload: bool = False
    # Each approved frame gets a clip of its shot (a request the service makes of itself).
    visual_motion_on_approval: bool = False
    visual_clip_fps: int = Field(8, ge=1, le=60)
    visual_clip_width: int = Field(256, ge=64, le=2048, multiple_of=32)
    visual_clip_height: int = Field(160, ge=64, le=2048, multiple_of=32)
    visual_clip_steps: int = Field(4, ge=1, le=100)
    visual_max_side: int = Field(0, ge=0, le=8192)  # 0: twice the model's native size
    visual_preview_side: int = Field(256, ge=32, le=1024)  # the review console's preview image
    visual_progress_every_s: float = Field(0.5, ge=0)  # step progress at most this often per job
    visual_revision_strength: float = Field(0.5, gt=0, le=1)  # how far a revision may move from its parent image
    # Frames drawn when a storyboard is approved (choreography): size and steps.
    visual_frame_width: int = Field(512, ge=64, le=4096, multiple_of=8)
    visual_frame_height: int = Field(288, ge=64, le=4096, multiple_of=8)
    visual_frame_steps: int = Field(4, ge=1, le=200)
    # GPU settings, each measured (bench/visual_throughput.py) and kept only where it helps.
    visual_channels_last: bool = False
    visual_fuse_qkv: bool = False
    visual_compile: bool = False
    # The live storyboard preview (visual.proto).
    visual_grpc_address: str = "127.0.0.1:50081"
    visual_preview_steps: int = Field(2, ge=1, le=50)
    visual_preview_max_side: int = Field(512, ge=64, le=2048)

    def layout_path(self) -> str:
        """The default model's layout ControlNet ('' when there is none)."""
        return self._conditioning(self.visual_layout_model, "tiny-controlnet")

    def reference_path(self) -> str:
        """The default model's IP-Adapter ('' when there is none)."""
        return self._conditioning(self.visual_reference_model, "tiny-ip-adapter")

    def _conditioning(self, setting: str, tiny: str) -> str:
        """A conditioning model's setting: "none" is off; empty is the tiny one, but only beside the
        tiny pipeline (a real model gets none it was not configured with)."""
        if setting == "none" or (not setting and self.visual_model):
            return ""
        return setting or str(helix_home() / "models" / tiny)

    def model_paths(self) -> dict[str, str]:
        """Configured model names -> id or folder ('default' is always there)."""
        return {DEFAULT_MODEL: self.visual_model or str(helix_home() / "models" / "tiny-sd"), **self.visual_models}


def load_visual_settings(**overrides: Any) -> VisualSettings:
    env_file = infra_env_file()
    return VisualSettings(_env_file=env_file if env_file.is_file() else None, **overrides)
