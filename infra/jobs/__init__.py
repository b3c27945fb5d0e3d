"""The job store's adapters: SQLite (embedded) and PostgreSQL (cluster), one schema."""
