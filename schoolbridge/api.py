"""The JSON API root: django-ninja under /api/v1, OpenAPI at /api/v1/openapi.json."""

from ninja import NinjaAPI

api = NinjaAPI(title="SchoolBridge API", version="1", urls_namespace="api-v1")
