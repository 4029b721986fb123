"""The claimant side of web chat: starting a chat, its messages, its websocket."""
