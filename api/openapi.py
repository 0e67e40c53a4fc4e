"""Corrections that make the OpenAPI document say what the server does.

Litestar (2.x) generates the document from the handlers, but three things come out wrong:

* a Struct declared ``forbid_unknown_fields=True`` (every request body: the server refuses an
  unknown field with a 400) gets no ``additionalProperties: false``, so clients and fuzzers
  believe extra fields are fine: :class:`StrictStructSchemaPlugin` adds it;
* every request body is ``required: true``, even ``data: VoterIn | None = None``, which the
  server treats as optional: such routes take ``operation_class=OptionalBody``;
* a handler that reads the raw body (the CSV import) declares none: it takes
  ``operation_class=CsvBody``.

(``OPTIONS`` answering a path with fewer methods than it has is fixed where requests are
answered, in :mod:`api.security`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Litestar's own Struct plugin (not re-exported): we extend its output rather than copy it
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

__all__ = ["CSV_MEDIA_TYPES", "CsvBody", "OptionalBody", "StrictStructSchemaPlugin"]

CSV_MEDIA_TYPES = ("text/csv", "text/plain", "application/csv")
"""Content types the CSV import accepts (``text/csv`` is the one to send)."""


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's msgspec Struct schemas, plus ``additionalProperties: false`` on Structs that
    forbid unknown fields (what msgspec's own ``msgspec.json.schema`` says for them).

    Registered in :func:`api.app.create_app` ahead of Litestar's built-in plugin.
    """

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if forbids_unknown_fields(field_definition.type_):
            schema.additional_properties = False
        return schema


def forbids_unknown_fields(tp: Any) -> bool:
    """Whether ``tp`` is a msgspec Struct whose decoder refuses unknown fields.

    >>> import msgspec
    >>> class A(msgspec.Struct, forbid_unknown_fields=True):
    ...     x: int
    >>> forbids_unknown_fields(A), forbids_unknown_fields(int)
    (True, False)
    """
    config = getattr(tp, "__struct_config__", None)
    return bool(config is not None and config.forbid_unknown_fields)


@dataclass
class OptionalBody(Operation):
    """An operation whose JSON body may be left out (``data: X | None = None``)."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


@dataclass
class CsvBody(Operation):
    """The CSV import: the body is CSV text (``text/csv``; ``text/plain`` is accepted too),
    read raw by the handler, so Litestar cannot see it."""

    def __post_init__(self) -> None:
        text = Schema(
            type=OpenAPIType.STRING,
            description="UTF-8 CSV: one idea per row; the `text` (or `idea`) column if a header "
            "names one, else the first column.",
        )
        self.request_body = RequestBody(
            content={m: OpenAPIMediaType(schema=text) for m in CSV_MEDIA_TYPES[:2]},
            required=True,
        )
