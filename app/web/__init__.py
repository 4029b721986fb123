"""Static pages served by the service itself (no CDN, no build step)."""
