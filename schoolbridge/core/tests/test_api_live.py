"""The API over the real ASGI server (uvicorn), as an integration would call it."""

from __future__ import annotations

import httpx

from schoolbridge.api_support.testing import check_contract, token_for


def test_bearer_token_over_asgi(live_world, live_server_url):
    world = live_world
    raw = token_for(world.user("a_head"))
    student = world.a.students["g7c1"][0]
    with httpx.Client(base_url=f"{live_server_url}/api/v1", timeout=20) as http:
        checks = [
            ("GET", "/me", {"Authorization": f"Bearer {raw}"}, 200),
            ("GET", f"/classes/{world.a.g7c1.pk}/students?limit=2", {"Authorization": f"Bearer {raw}"}, 200),
            ("GET", f"/students/{world.b.students['g7c1'][0].pk}", {"Authorization": f"Bearer {raw}"}, 404),
            ("GET", f"/students/{student.pk}", {}, 401),
            ("POST", "/notifications/read-all", {"Authorization": f"Bearer {raw}"}, 200),
        ]
        for method, path, headers, status in checks:
            r = http.request(method, path, headers={"Accept-Language": "en", **headers})
            assert r.status_code == status, (path, r.text)
            assert r.headers["content-type"].startswith("application/json")
            check_contract(method, f"/api/v1{path}", r.status_code, r.json())
        page = http.get(
            f"/classes/{world.a.g7c1.pk}/students?limit=2", headers={"Authorization": f"Bearer {raw}"}
        )
        assert page.json()["count"] == 3 and len(page.json()["items"]) == 2
