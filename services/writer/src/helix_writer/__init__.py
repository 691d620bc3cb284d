"""Writer service: scripts, dialogue and storyboard beats (transformers)."""
