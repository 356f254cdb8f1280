"""Browser helpers for the portal tests: log in through the real form, run axe-core."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from schoolbridge.testing.services import absent
from schoolbridge.testing.world import WORLD_PASSWORD

AXE = Path(settings.PROJECT_DIR) / "node_modules" / "axe-core" / "axe.min.js"
PHONE_WIDTH = 390


def log_in(page: Any, base_url: str, username: str, password: str = WORLD_PASSWORD) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("main input[name=username]", username)
    page.fill("main input[name=password]", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


def assert_fits_phone(page: Any) -> None:
    """Nothing is wider than the phone screen (no sideways scrolling)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"page is {width}px wide on a {PHONE_WIDTH}px screen"


def assert_accessible(page: Any, what: str) -> None:
    """Run axe-core on the page; fail on any serious or critical violation, listed readably."""
    if not AXE.exists():
        absent(f"{AXE} is missing (run `npm install`); accessibility checks need axe-core")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]
    if bad:
        lines = [f"{len(bad)} serious/critical accessibility violation(s) on {what}:"]
        for v in bad:
            lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
            for node in v["nodes"][:5]:
                lines.append(f"    at {json.dumps(node['target'])}: {node.get('failureSummary', '').strip()}")
        pytest.fail("\n".join(lines), pytrace=False)


def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run fn in a plain thread: Playwright's sync API keeps an event loop running in the test
    thread, and code that bridges to async (channel-layer sends) must not run inside it."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import close_old_connections

    def run() -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=30)
