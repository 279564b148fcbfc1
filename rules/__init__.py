"""Risk rules (one module per rule), the engine that dispatches events to them, thresholds."""
