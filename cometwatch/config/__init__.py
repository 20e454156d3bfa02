"""webhooks.toml → a frozen Config, validated once. Every refusal names the file, the key and
the fix.

    model.py     the values, and every key declared once: kind and range, default, preset, fix
    kinds.py     the kinds of value (durations, whole numbers, lists…), each with its range
    reader.py    the one reader: a TOML table checked against a declaration
    checks.py    the checks a value passes beyond its kind (a folder, a git name, a header)
    sources.py   where secrets and tokens come from (file, environment, value)
    loader.py    the sections read and tied together
"""

from cometwatch.config.kinds import parse_duration
from cometwatch.config.loader import (
    DEFAULT_FILE,
    ENV_VAR,
    find_config_file,
    load_config,
    parse_config_text,
)
from cometwatch.config.model import (
    DATE_PREFIX,
    DEFAULT_RETRY_SCHEDULE,
    EVENT_NAMES,
    MAX_IN_FLIGHT,
    PUSH_FORGES,
    Config,
    ContentRules,
    DaemonConfig,
    DeliveryConfig,
    RepositoryConfig,
    Secret,
    ServerConfig,
    Webhook,
)

__all__ = [
    "DATE_PREFIX", "DEFAULT_FILE", "DEFAULT_RETRY_SCHEDULE", "ENV_VAR", "EVENT_NAMES",
    "MAX_IN_FLIGHT", "PUSH_FORGES", "Config", "ContentRules", "DaemonConfig", "DeliveryConfig",
    "RepositoryConfig", "Secret", "ServerConfig", "Webhook", "find_config_file", "load_config",
    "parse_config_text", "parse_duration",
]
