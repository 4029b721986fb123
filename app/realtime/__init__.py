"""Realtime plumbing: the bus that carries events between processes, and websocket hubs."""
