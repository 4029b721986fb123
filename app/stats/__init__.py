"""Real-time statistics from the routing engine, with the metric definitions of DESIGN.md."""
