"""The safety flags of an order, for any page: `{% load safety %}{% safety_flags_of order as flags %}`
then `{% include "safety/_flags.html" %}` (which reads `flags` and `order`)."""

from __future__ import annotations

from django import template

from ris.models import ImagingOrder
from ris.services.safety_rules import SafetyFlag, safety_flags

register = template.Library()


@register.simple_tag
def safety_flags_of(order: ImagingOrder) -> list[SafetyFlag]:
    return safety_flags(order)
