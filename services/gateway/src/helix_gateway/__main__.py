"""`helix-gateway`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from helix.logs import configure_logging
from helix.metrics import serve_metrics
from helix.telemetry import setup_tracing
from helix_gateway.app import create_app
from helix_gateway.settings import load_gateway_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="helix-gateway", description="Helix's HTTP API (settings: HELIX_* environment)")
    parser.add_argument("--host", help="bind address (default: HELIX_HTTP_HOST)")
    parser.add_argument("--port", type=int, help="port (default: HELIX_HTTP_PORT)")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in {"http_host": args.host, "http_port": args.port}.items() if v is not None}
    settings = load_gateway_settings(**overrides)
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    setup_tracing(settings)
    if settings.metrics_port:  # besides /metrics on the API port, for a separate scrape port
        serve_metrics(settings.metrics_port)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # std logging is already routed through helix.logs
        proxy_headers=True,
        timeout_graceful_shutdown=10,  # SSE streams end on shutdown; do not wait forever
    )


if __name__ == "__main__":
    main()
