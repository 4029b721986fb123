"""Supervisors: the live view of queues and agents, their actions, the audit log, metrics."""
