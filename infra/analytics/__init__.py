"""The analytics read side's adapters: usage and priced spend in quarter-hour slots."""
