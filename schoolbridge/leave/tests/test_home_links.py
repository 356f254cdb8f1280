"""The home pages lead to the everyday tasks: today's register per class, scores, leave waiting for a
decision, and for school administrators the calendar, the leave chain and the grades settings. Every
link is a real page for that user."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from schoolbridge.testing.auth import login_verified
from schoolbridge.testing.world import World

pytestmark = pytest.mark.django_db


def client_for(world: World, name: str) -> Client:
    client = Client()
    client.cookies["sb_lang"] = "en"
    login_verified(client, world.user(name))
    return client


def nav_links(html: str, label: str) -> list[str]:
    """The hrefs inside the <nav> with this aria-label."""
    match = re.search(rf'<nav[^>]*aria-label="{re.escape(label)}"[^>]*>(.*?)</nav>', html, re.S)
    assert match, f"no navigation labelled {label!r}"
    return re.findall(r'href="([^"]+)"', match.group(1))


def test_teacher_home_links_per_class(world):
    client = client_for(world, "a_head")
    html = client.get("/").content.decode()
    today = timezone.localdate().isoformat()
    klass = world.a.g7c1
    per_class = nav_links(html, f"{klass.name}: register and scores")
    assert per_class == [f"/attendance/class/{klass.pk}/{today}/", "/grades/"]
    tasks = nav_links(html, "My tasks")
    assert "/leave/waiting/" in tasks and "/grades/" in tasks and "/attendance/" in tasks
    for href in per_class + tasks:
        assert client.get(href).status_code == 200, href


def test_teacher_sees_a_register_link_for_every_class_taught(world):
    html = client_for(world, "a_teacher").get("/").content.decode()
    today = timezone.localdate().isoformat()
    for klass in (world.a.g7c1, world.a.g8c1):
        assert f'href="/attendance/class/{klass.pk}/{today}/"' in html


def test_school_admin_home_links(world):
    client = client_for(world, "a_admin")
    links = nav_links(client.get("/").content.decode(), "School tasks")
    assert links == [
        "/attendance/",
        "/grades/",
        "/leave/waiting/",
        "/timetable/",
        "/calendar/",
        "/leave/policy/",
        "/grades/settings/",
    ]
    for href in links:
        response = client.get(href, follow=True)
        assert response.status_code == 200, href
    assert client.get("/leave/policy/")["Location"] == f"/leave/policy/{world.a.school.pk}/"
    assert client.get("/grades/settings/")["Location"] == f"/grades/settings/{world.a.school.pk}/"


def test_principal_home_links_only_what_they_may_open(world):
    client = client_for(world, "a_principal")
    links = nav_links(client.get("/").content.decode(), "School tasks")
    assert links == ["/attendance/", "/grades/", "/leave/waiting/", "/timetable/"]
    for href in links:
        assert client.get(href).status_code == 200, href
