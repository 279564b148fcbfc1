"""Stateful stream processing: the faust app, one agent per input topic, profile stores."""
