"""HTTP surface: the versioned API router and the health endpoints."""
