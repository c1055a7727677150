"""target-clickhouse: a Singer target for ClickHouse (embedded chDB or any server)."""
