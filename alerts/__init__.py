"""Alert lifecycle: building and merging (dedup), routing, the Redis alert store and feed,
and the relay that publishes every change to Kafka."""
