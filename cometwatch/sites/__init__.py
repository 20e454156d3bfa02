"""Site models: what each site tool builds, read from its own configuration."""
