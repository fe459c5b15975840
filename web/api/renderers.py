"""The REST framework's browsable pages under the RIS's Content-Security-Policy."""

from typing import Any

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's HTML pages put style elements and attributes in the page (its
    highlighting and layout): those pages, and only those, allow inline
    style. Script stays our own. Production serves JSON only unless
    RIS_BROWSABLE_API is set."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src-elem": ["'unsafe-inline'"], "style-src-attr": ["'unsafe-inline'"]}
        return super().render(data, accepted_media_type, renderer_context)
