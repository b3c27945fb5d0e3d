"""Form input checked by the API's own request schemas, and forms shown again on error."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from domain.errors import DomainError, InvalidInput
from infra.http.errors import status_of
from infra.web.context import WebContext

M = TypeVar("M", bound=BaseModel)


def parse(schema: type[M], fields: dict[str, Any]) -> M:
    """`fields` as the API would accept them, or InvalidInput naming the field at fault."""
    try:
        return schema.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "form"
        # Only where and what: never echo the input, which may hold a password.
        raise InvalidInput(f"{where}: {first.get('msg', 'invalid')}") from None


def form_again(web: WebContext, template: str, error: DomainError, **values: Any) -> Response:
    """The form once more, with the error said above it and the same HTTP status."""
    return web.render(template, status_code=status_of(error), error=error, **values)
