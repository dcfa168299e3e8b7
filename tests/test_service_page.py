"""The page at / in Debian's chromium (Playwright driving /usr/bin/chromium;
Playwright's own browser download is not used): token, upload a generated
clipped file with its reference, run, wait for the players, the plot and
the SDR table.  Set RTDECLIP_SCREENSHOT=path to keep the screenshot."""
import os
import shutil

import pytest

from service_server import Server, clipped_pair, create_token

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (scripts/apt.d/service.txt)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu"], timeout=60000)
        try:
            yield b
        finally:
            b.close()


def test_page_runs_a_job(browser, tmp_path):
    data = tmp_path / "data"
    token = create_token(data, "web")
    clipped, original = clipped_pair(tmp_path, seconds=3, sr=22050, channels=2,
                                     names=("guitar clipped.wav", "guitar.wav"))
    with Server(data) as srv:
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(srv.url + "/", timeout=30000)
        # a wrong token is refused and forgotten
        page.fill("#token", "wrong")
        page.click("#token-save")
        page.set_input_files("#clipped", clipped)
        page.click("#run")
        page.wait_for_selector("#error:not([hidden])", timeout=30000)
        assert "token" in page.inner_text("#error")
        assert page.is_visible("#token")
        # the real token, kept across a reload
        page.fill("#token", token)
        page.click("#token-save")
        page.reload()
        assert page.is_visible("#token-saved") and not page.is_visible("#token")
        page.set_input_files("#clipped", clipped)
        page.set_input_files("#reference", original)
        page.select_option("#preset", "Fastest")
        page.click("#run")
        page.wait_for_selector("#results:not([hidden])", timeout=120000)
        assert page.is_hidden("#error")
        assert page.evaluate("document.getElementById('progress').value") == 1
        # both players load real audio of the input's length
        for sel in ("#before", "#after"):
            page.wait_for_function(f"document.querySelector('{sel}').readyState >= 1",
                                   timeout=30000)
            dur = page.evaluate(f"document.querySelector('{sel}').duration")
            assert abs(dur - 3.0) < 0.05, (sel, dur)
        assert page.evaluate("document.querySelector('#after').src").startswith("blob:")
        page.wait_for_function("document.querySelector('#plot').naturalWidth > 0", timeout=30000)
        rows = page.locator("#sdr table tbody tr")
        assert rows.count() == 3   # two channels and the mix
        mix = rows.nth(2).inner_text().split("\t")
        assert mix[0] == "Mix" and all(v.endswith(" dB") for v in mix[1:])
        assert float(mix[3].split()[0]) > 1.0   # an improvement
        assert "Improvement" in page.inner_text("#log")
        links = page.locator("#downloads a").all_inner_texts()
        assert "Declipped_guitar clipped.wav" in links and "allgo.log" in links
        shot = tmp_path / "page.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10000
        if os.environ.get("RTDECLIP_SCREENSHOT"):
            shutil.copy(shot, os.environ["RTDECLIP_SCREENSHOT"])
        assert not errors, errors
