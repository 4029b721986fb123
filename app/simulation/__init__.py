"""The simulator shell: reads scenario, trace and roster files; prints KPIs; writes CSV."""
