"""`siam-rt report`: an interactive HTML page of recordings decomposed into context and events (no torch)."""
