"""Site config files read by their format: a broken one is a SiteConfigError naming its line."""

from __future__ import annotations

import pytest

from cometwatch.sites import SiteConfigError
from cometwatch.sites.formats import parse_data


@pytest.mark.parametrize(("text", "line", "message"), [
    (b'baseURL = "x"\n[languages.fr\n', 2,
     "Expected ']' at the end of a table declaration (column 14)"),
    (b"a = \n", 1, "Invalid value (column 5)"),
    (b"a = 1\na = 2\n", 2, "Cannot overwrite a value (column 6)"),
])
def test_a_broken_toml_site_config_names_its_line_and_column_without_leftovers(
        text: bytes, line: int, message: str) -> None:
    with pytest.raises(SiteConfigError) as caught:
        parse_data("hugo.toml", text)
    assert caught.value.args[0] == message
    assert caught.value.line == line
