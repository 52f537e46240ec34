"""The director's HTTP service: REST API (`api`), dashboard (`dashboard`), Prometheus metrics
(`metrics`), run by uvicorn on the director's event loop (`server`)."""
