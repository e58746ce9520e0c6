"""The query API: reads Redis, then the read store; never the event store."""
