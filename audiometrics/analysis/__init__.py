"""Static analysis of notebook code with ``ast`` (never executed)."""
