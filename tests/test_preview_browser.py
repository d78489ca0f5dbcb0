"""The served preview in a real browser (issue 23): headless Chromium, the Debian
package, driven by Playwright (its Python package only: it never downloads a browser)
loads the page Voila serves for the showcase, edits a rule's delay, runs, reads the
changed outcome for a learner, reloads without losing the edit, and saves the YAML.
Skipped, saying why, where Chromium, Playwright or Voila is not installed.

Set POSTENROLL_SCREENSHOTS=DIR to keep the screenshots (docs/preview.png is one)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import time

import pytest

from helpers import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = [m for m in ("playwright", "voila", "ipywidgets") if importlib.util.find_spec(m) is None]
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on this machine (the Debian package: chromium)"
    ),
    pytest.mark.skipif(
        bool(MISSING), reason=f"not installed: {', '.join(MISSING)} (pip install '.[preview]')"
    ),
]

SHOWCASE = ROOT / "scenarios" / "showcase.yaml"
READY_TIMEOUT = 30.0  # seconds for Voila to listen (about 1 s here)
PAGE_TIMEOUT = 30_000  # ms for the page's kernel to start and show the widget (about 3 s)
RUN_TIMEOUT = 20_000  # ms for a run of the showcase (about 0.3 s)
CULL_IDLE = 5  # s: a page's kernel ends this long after the page is gone (120 s served)


def _kernels(server_pid: int) -> int:
    """The kernels the server runs: its child processes that are ipykernel (Linux /proc)."""
    found = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", encoding="utf-8") as f:
                kernel = "ipykernel_launcher" in f.read()
        except (OSError, ValueError, IndexError):
            continue
        found += ppid == server_pid and kernel
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shot(page, tmp_path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("POSTENROLL_SCREENSHOTS")
    if keep:
        shutil.copy(path, os.path.join(keep, name))


def test_a_designer_changes_a_delay_in_the_served_page_and_sees_the_learner_change(
    tmp_path, monkeypatch
):
    from playwright.sync_api import sync_playwright

    from postenroll_sim.preview.model import DRAFTS_ENV
    from postenroll_sim.preview.serve import serve

    env = {DRAFTS_ENV: str(tmp_path / "drafts")}
    monkeypatch.chdir(ROOT)  # as a designer starts it: a path of the project, no machine's
    with (
        serve(
            SHOWCASE.relative_to(ROOT),
            port=_free_port(),
            ready_timeout=READY_TIMEOUT,
            env=env,
            cull_idle=CULL_IDLE,
            cull_interval=1,
        ) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"] if os.geteuid() == 0 else []
        )
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.set_default_timeout(PAGE_TIMEOUT)
        page.goto(server.url)
        page.wait_for_selector(".pe-delay input")
        assert "No edits: the published version." in page.inner_text(".pe-edits")
        assert "Lint (0)" in page.inner_text(".pe-tabs")

        page.select_option(".pe-rule select", label="safe-to-compliance (on SAFE-201)")
        page.wait_for_function(
            "document.querySelector('.pe-delay input').value === '7'", timeout=PAGE_TIMEOUT
        )
        page.fill(".pe-delay input", "3")
        page.press(".pe-delay input", "Enter")
        page.wait_for_selector(".pe-edits:has-text('delay_days 7 -> 3')")
        page.fill(".pe-learner input", "ana")
        page.press(".pe-learner input", "Enter")
        page.click("button.pe-run")
        page.wait_for_selector(".pe-done", timeout=RUN_TIMEOUT)
        view = page.inner_text(".pe-learner-view")
        assert "ana: 3 enrollments changed" in view
        row = page.locator(".pe-learner-view tr", has_text="rule safe-to-compliance")
        row = " ".join(row.inner_text().split())  # an instant breaks before its day number
        # ana passed SAFE-201 on day 3: COMP-CUR 3 days later at the 02:00 run, not 7
        assert "2027-01-14 02:00 (day 10.08)" in row and "2027-01-10 02:00 (day 6.08)" in row
        assert "enrolled 4 days earlier" in row
        assert "enrolled in curriculum COMP-CUR by rule safe-to-compliance" in page.inner_text(
            ".pe-story"
        )
        # the edited dates are in sight: `explain` beside the table or under it, never over it
        edited = page.locator(".pe-learner-view th", has_text="edited: enrolled").bounding_box()
        story = page.locator(".pe-story").bounding_box()
        assert edited["x"] + edited["width"] <= story["x"] or story["y"] >= edited["y"] + 100
        assert "scenarios/showcase.yaml" in page.inner_text(".pe-root") and str(ROOT) not in (
            page.inner_text(".pe-root")
        )
        _shot(page, tmp_path, "preview.png")
        page.click(".pe-tabs .lm-TabBar-tab:has-text('What changed')")
        page.wait_for_selector(".pe-comparison-text")
        # compare's columns line up: its text is in a monospace font
        font = page.eval_on_selector(".pe-comparison-text", "e => getComputedStyle(e).fontFamily")
        assert font.rstrip().endswith("monospace"), font

        page.reload()  # a new kernel: the edit comes back from the draft
        page.wait_for_selector(".pe-delay input")
        assert "restored 1 unsaved edit" in page.inner_text(".pe-status")
        assert "delay_days 7 -> 3" in page.inner_text(".pe-edits")

        saved = tmp_path / "edited.yaml"
        page.fill(".pe-save-path input", str(saved))
        page.press(".pe-save-path input", "Enter")
        page.click("button.pe-save")
        page.wait_for_selector(".pe-saved:has-text('saved')")
        # the kernel of the page before the reload ends; the open page's kernel stays
        deadline = time.monotonic() + CULL_IDLE + 20
        while _kernels(server.process.pid) > 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _kernels(server.process.pid) == 1
        page.fill(".pe-save-path input", str(tmp_path / "again.yaml"))
        page.press(".pe-save-path input", "Enter")
        page.click("button.pe-save")
        page.wait_for_selector(".pe-saved:has-text('again.yaml')")
        browser.close()
    text = saved.read_text(encoding="utf-8")
    assert "        delay_days: 3\n        courses: [COMP-CUR]" in text
    assert "# Consecutive on: a learner who fails the retake" in text  # comments kept
