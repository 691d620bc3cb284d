"""Localize service: translation, subtitles and voice-over."""
