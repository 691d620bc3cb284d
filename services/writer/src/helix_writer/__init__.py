"""Writer service: scripts, dialogue and storyboard beats (transformers). Built in issue 4."""
