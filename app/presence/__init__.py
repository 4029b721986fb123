"""Agent presence: available, busy with a reason, or offline, set through the routing service."""
