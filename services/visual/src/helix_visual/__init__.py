"""Visual service: frames, scenes and textures (diffusers)."""
