"""Calls Pulse makes to the outside: webhook posts (http.py) and the delivery queue (queue.py)."""
