"""HTTP plumbing: app factory, middleware, error mapping."""
