"""Review service: human-in-the-loop review of every generated asset."""
