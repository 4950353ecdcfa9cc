"""Operations: metrics, structured logs with a request id, health and readiness."""
