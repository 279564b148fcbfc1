"""The wire: topics, the event and alert schemas, identifiers and codecs."""
