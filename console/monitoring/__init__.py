"""What an operator sees of the console: readiness (/ready), metrics (/metrics), worker pulses."""
