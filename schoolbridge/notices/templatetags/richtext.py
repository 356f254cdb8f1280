from django import template
from django.utils.safestring import SafeString, mark_safe

from schoolbridge.notices import richtext as rt

register = template.Library()


@register.filter(name="richtext")
def richtext(value: str) -> SafeString:
    """Show a notice body: sanitized rich text (legacy plain text gets paragraphs and links)."""
    return mark_safe(rt.render(value or ""))  # noqa: S308 — rt.render returns sanitizer output only
