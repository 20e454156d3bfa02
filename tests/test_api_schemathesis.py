"""schemathesis against the OpenAPI document we ship, on a real server on 127.0.0.1.

Bounded and deterministic: a fixed number of examples per route, derandomized, no network
beyond the loopback server. Half the cases aim at the real workspace, collections and
entries, so the generated queries reach the list and entry code, not only the 404s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from apisite import TOKEN, WORKSPACE, ApiRig
from conftest import Site, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from testing import examples

from cometwatch.web.api import openapi_document

SCHEMA = schemathesis.openapi.from_dict(yaml.safe_load(openapi_document()))
OPERATIONS = {f"{op.method.upper()} {op.path}": op
              for op in (result.ok() for result in SCHEMA.get_all_operations())}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = examples(60)  # per route: six routes, a few hundred requests in all (thorough)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiRig, list[str]]]:
    root = tmp_path_factory.mktemp("schemathesis")
    site = Site(root / "site")
    site.write("posts/alpha.md", post("title: Alpha\nrank: 3\ntags: [a, b]"))
    site.write("posts/beta.md", post("title: Beta\ndraft: true"))
    site.write("posts/café.md", post("title: Café\npublishDate: 2031-01-01"))
    site.write("pages/about.md", post("title: About\nid: 'x:y z'"))
    site.commit()
    rig = ApiRig(site, root)
    rig.scan()
    yield rig, ["alpha", "beta", "café", "about", "x:y z"]
    rig.close()


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_generated_request_gets_an_answer_the_document_describes(
        served: tuple[ApiRig, list[str]], name: str) -> None:
    rig, identifiers = served
    base = rig.url  # starts the server
    operation = OPERATIONS[name]
    session = requests.Session()

    aimed = st.fixed_dictionaries({
        "workspace": st.sampled_from([WORKSPACE, None]),
        "collection": st.sampled_from(["posts", "pages", None]),
        "identifier": st.sampled_from([*identifiers, None]),
        "token": st.sampled_from([None, TOKEN, "wrong"]),
    })

    @given(case=operation.as_strategy(), aim=aimed)
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any, aim: dict[str, Any]) -> None:
        for key in ("workspace", "collection", "identifier"):
            if aim[key] is not None and key in (case.path_parameters or {}):
                case.path_parameters[key] = aim[key]
        headers = {"Authorization": f"Bearer {aim['token']}"} if aim["token"] else None
        response = case.call(base_url=base, session=session, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    run()
