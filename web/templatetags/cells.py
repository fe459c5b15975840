"""How a list page shows a plain value: yes / no for a boolean (never `True`),
nothing for None, a list joined."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
