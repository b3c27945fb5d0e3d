"""The API's operations, each written once as a generator (aimarket_client.calls)."""
