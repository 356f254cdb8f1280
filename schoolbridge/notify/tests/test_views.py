"""The inbox page: list, pagination, unread marking, mark one (HTMX and plain), mark all, open."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from schoolbridge.notify import actions, views
from schoolbridge.notify.models import Notification


@pytest.fixture
def parent_client(world: Any) -> Client:
    client = Client()
    client.force_login(world.user("a_parent"))
    return client


def test_anonymous_is_sent_to_login(world: Any) -> None:
    response = Client().get(reverse("inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_inbox_lists_own_newest_first_with_unread_marked(world: Any, parent_client: Client) -> None:
    parent = world.user("a_parent")
    old, new = actions.notify([parent], "k", "Older notice"), actions.notify([parent], "k", "Newer <b>notice</b>")
    actions.notify([world.user("b_parent")], "k", "Someone else's")
    actions.mark_read(parent, [old[0].pk])
    response = parent_client.get(reverse("inbox"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Newer &lt;b&gt;notice&lt;/b&gt;") < html.index("Older notice")  # escaped, newest first
    assert "Someone else" not in html
    assert f'id="notification-{new[0].pk}"' in html
    assert f'class="inbox-item unread" id="notification-{new[0].pk}"' in html
    assert f'class="inbox-item" id="notification-{old[0].pk}"' in html
    assert 'id="inbox-list"' in html and f'data-last-id="{new[0].pk}"' in html
    assert "notify/live.js" in html


def test_inbox_paginates(world: Any, parent_client: Client) -> None:
    parent = world.user("a_parent")
    for i in range(views.PAGE_SIZE + 3):
        actions.notify([parent], "k", f"N{i:02d}")
    first = parent_client.get(reverse("inbox")).content.decode()
    second = parent_client.get(reverse("inbox") + "?page=2").content.decode()
    assert first.count('<li class="inbox-item') == views.PAGE_SIZE
    assert second.count('<li class="inbox-item') == 3
    assert "N00" in second and "N00" not in first
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_mark_one_read_htmx_returns_the_item(world: Any, parent_client: Client) -> None:
    (row,) = actions.notify([world.user("a_parent")], "k", "Read me")
    response = parent_client.post(reverse("notify-read", args=[row.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<li class="inbox-item" id="notification-{row.pk}"')
    assert "Read me" in html and "Mark as read" not in html and "标为已读" not in html
    row.refresh_from_db()
    assert row.read_at is not None


def test_mark_one_read_plain_post_redirects(world: Any, parent_client: Client) -> None:
    (row,) = actions.notify([world.user("a_parent")], "k", "Read me")
    response = parent_client.post(reverse("notify-read", args=[row.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("inbox")
    response = parent_client.post(reverse("notify-read", args=[row.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("inbox")


def test_cannot_touch_someone_elses_notification(world: Any, parent_client: Client) -> None:
    (theirs,) = actions.notify([world.user("b_parent")], "k", "Not yours", link="/x/")
    assert parent_client.post(reverse("notify-read", args=[theirs.pk])).status_code == 404
    assert parent_client.get(reverse("notify-open", args=[theirs.pk])).status_code == 404
    assert parent_client.post(reverse("notify-read", args=[987654])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_reading_requires_post(world: Any, parent_client: Client) -> None:
    (row,) = actions.notify([world.user("a_parent")], "k", "x")
    assert parent_client.get(reverse("notify-read", args=[row.pk])).status_code == 405
    assert parent_client.get(reverse("notify-read-all")).status_code == 405


def test_mark_all_read(world: Any, parent_client: Client) -> None:
    parent = world.user("a_parent")
    actions.notify([parent], "k", "a")
    actions.notify([parent], "k", "b")
    actions.notify([world.user("b_parent")], "k", "c")
    response = parent_client.post(reverse("notify-read-all"), follow=True)
    assert response.status_code == 200
    assert not Notification.objects.filter(user=parent, read_at__isnull=True).exists()
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
    assert "Mark all as read" not in response.content.decode()


def test_open_marks_read_and_follows_the_link(world: Any, parent_client: Client) -> None:
    (row,) = actions.notify([world.user("a_parent")], "k", "Homework", link="/homework/7/")
    response = parent_client.get(reverse("notify-open", args=[row.pk]))
    assert response.status_code == 302 and response["Location"] == "/homework/7/"
    row.refresh_from_db()
    assert row.read_at is not None
