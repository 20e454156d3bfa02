"""cometwatch: CometCMS content webhooks from a git repository of Markdown content."""

__version__ = "0.1.0"
