"""Gateway: the HTTP API (FastAPI), review console and SSE event stream. Built in issue 3."""
