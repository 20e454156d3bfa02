"""Every API answer a test gets is checked against the OpenAPI document we ship."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from cometwatch.web.api import openapi_document


@cache
def spec() -> OpenAPI:
    return OpenAPI.from_dict(yaml.safe_load(openapi_document()))


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    parameters: RequestParameters = field(default_factory=RequestParameters)
    body: bytes | None = None
    content_type: str = "application/json"


@dataclass
class _Response:
    status_code: int
    headers: Any
    data: bytes | None
    content_type: str


def check_response(answer: httpx.Response) -> None:
    """Raise when `answer` is not what the document says its route answers."""
    url = answer.request.url
    request = _Request(f"{url.scheme}://{url.netloc.decode()}", url.path,
                       answer.request.method.lower(),
                       RequestParameters(query=ImmutableMultiDict(url.params.multi_items()),
                                         header=Headers(dict(answer.request.headers))))
    response = _Response(answer.status_code, Headers(dict(answer.headers)),
                         answer.content or None,
                         answer.headers.get("content-type", "").split(";")[0].strip())
    try:
        spec().validate_response(request, response)
    except (PathNotFound, OperationNotFound):
        return  # a route the document does not describe (unscoped, a write): nothing to check
