"""Rich-text notice bodies: what is kept, what is removed, and what families and SMS see."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from schoolbridge.notices import actions, richtext
from schoolbridge.notify.models import Notification
from schoolbridge.testing.world import World


def test_formatting_is_kept_and_scripts_handlers_and_bad_links_are_removed() -> None:
    posted = (
        "<h3>Sports day</h3><p><strong>Bring</strong> <em>trainers</em> <u>and</u> water.</p>"
        "<ul><li>Grade 7 at 9:00</li><li>Grade 8 at 10:30</li></ul>"
        '<p><a href="https://example.org/plan" onclick="steal()">plan</a> '
        '<a href="javascript:alert(1)">click</a></p>'
        '<script>alert(1)</script><img src="x" onerror="alert(2)"><p style="color:red" class="x">done</p>'
    )
    out = richtext.clean(posted)
    for kept in (
        "<h3>Sports day</h3>",
        "<strong>Bring</strong>",
        "<em>trainers</em>",
        "<u>and</u>",
        "<li>Grade 7 at 9:00</li>",
        'href="https://example.org/plan"',
    ):
        assert kept in out
    for removed in ("script", "alert", "onclick", "onerror", "<img", "javascript:", "style=", "class="):
        assert removed not in out
    assert 'rel="noopener noreferrer nofollow"' in out
    assert "<p>done</p>" in out


def test_plain_text_becomes_paragraphs_breaks_and_links_with_markup_shown_as_text() -> None:
    out = richtext.clean("Line one\nsee https://example.org/a?b=1&c=2\n\n<script>x</script> & 5 < 6")
    assert out.startswith('<p>Line one<br>see <a href="https://example.org/a?b=1&amp;c=2"')
    assert "<p>&lt;script&gt;x&lt;/script&gt; &amp; 5 &lt; 6</p>" in out


def test_web_addresses_in_rich_text_become_links_once() -> None:
    out = richtext.clean(
        '<p>Plan: https://example.org/plan and <a href="https://a.example/x">https://a.example/x</a></p>'
    )
    assert out.count("<a ") == 2
    assert (
        '<a href="https://example.org/plan" rel="noopener noreferrer nofollow">https://example.org/plan</a>'
        in out
    )


def test_text_version_for_summaries_and_sms() -> None:
    html = richtext.clean("<h3>Trip</h3><ul><li>coat &amp; hat</li><li>lunch</li></ul><p>back<br>at 4</p>")
    assert richtext.to_text(html) == "Trip\n• coat & hat\n• lunch\nback\nat 4"
    assert richtext.to_text("legacy plain\ntext") == "legacy plain\ntext"


@pytest.mark.parametrize("empty", ["", "   ", "<p> </p>", "<p><script>only()</script></p>", "<p><br></p>"])
def test_nothing_readable_counts_as_empty(empty: str) -> None:
    assert richtext.clean(empty) == ""


@pytest.mark.django_db
def test_send_stores_sanitized_html_and_notifies_with_plain_text(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notice = actions.send_notice(
            world.user("a_head"),
            world.a.school.pk,
            title="Sports day",
            body="<p><strong>Bring</strong> trainers</p><script>x()</script>",
            audience=[f"class:{world.a.g7c1.pk}"],
        )
    assert notice.body == "<p><strong>Bring</strong> trainers</p>"
    note = Notification.objects.filter(user=world.user("a_parent")).latest("pk")
    assert "<" not in note.body and "Bring trainers" in note.body


@pytest.mark.django_db
def test_empty_or_oversized_rich_text_is_refused_on_the_body_field(world: World) -> None:
    with translation.override("en"):  # the messages are checked in English
        head, school = world.user("a_head"), world.a.school.pk
        audience = [f"class:{world.a.g7c1.pk}"]
        with pytest.raises(ValidationError) as empty:
            actions.send_notice(
                head, school, title="t", body="<p><br></p><script>x</script>", audience=audience
            )
        assert "body" in empty.value.message_dict
        with pytest.raises(ValidationError) as long_text:
            actions.send_notice(head, school, title="t", body="<p>" + "字" * 5001 + "</p>", audience=audience)
        assert "5000" in " ".join(long_text.value.message_dict["body"])
        with pytest.raises(ValidationError) as heavy:
            actions.send_notice(head, school, title="t", body="<b>x</b>" * 3000, audience=audience)
        assert "formatting" in " ".join(heavy.value.message_dict["body"])


@pytest.mark.django_db
def test_guardian_sees_the_formatting_and_never_a_script(world: World) -> None:
    notice = actions.send_notice(
        world.user("a_head"),
        world.a.school.pk,
        title="Trip",
        body="<p><strong>Coats</strong> please</p><ul><li>lunch</li></ul>",
        audience=[f"class:{world.a.g7c1.pk}"],
    )
    # Whatever is in the row, the page shows it through the sanitizer.
    type(notice).objects.filter(pk=notice.pk).update(body=notice.body + "<script>alert(1)</script>")
    c = Client()
    c.force_login(world.user("a_parent"))
    page = c.get(f"/notices/{notice.pk}/").content.decode()
    assert "<strong>Coats</strong> please" in page and "<li>lunch</li>" in page
    assert "alert(1)" not in page
    # A body stored as plain text (written before rich text) shows with paragraphs and links.
    type(notice).objects.filter(pk=notice.pk).update(body="First\n\nSee https://example.org")
    page = c.get(f"/notices/{notice.pk}/").content.decode()
    assert '<p>First</p><p>See <a href="https://example.org"' in page
