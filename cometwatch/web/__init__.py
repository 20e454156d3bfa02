"""cometwatch's HTTP face: the Public API, the admin pages, push receivers and metrics."""
