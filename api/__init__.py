"""The HTTP and WebSocket surface (``api.md``): routes, the live feed, the board."""
