"""Outbound to WebSocket clients: API Gateway's Management API (post, close, ask)."""
