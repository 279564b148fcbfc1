"""Cross-cutting pieces every layer shares: settings, clock, errors, telemetry."""
