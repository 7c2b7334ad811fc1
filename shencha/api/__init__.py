"""The REST API (contract.md "The REST API (v1)"; docs/api.md): `create_app`, served by `shencha api`."""

from .app import create_app, openapi_document

__all__ = ["create_app", "openapi_document"]
