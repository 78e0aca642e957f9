"""The web page of `colorseason up` in headless Chromium (Debian's `chromium`, via Playwright).

The page calls the function URLs cross-origin like any client, so these tests also prove the CORS
and Content-Security-Policy settings that `up` gives the functions and the page.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from colorseason.testing import one_person_jpegs, sample_jpeg, two_faces_jpeg
from local_stack import Stack, running_stack

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A synthetic camera (a moving test pattern) and no permission prompt, for the camera path.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

if not CHROMIUM.exists():
    pytest.skip(
        "needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("up")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        permissions=["camera"], locale="en-US", viewport={"width": 900, "height": 1400}
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        # A refused request the page retries (a 503 in the outage test) logs this line.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.goto(stack.urls["web"])
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    yield page
    context.close()
    assert not problems, problems  # CSP or CORS violations show up here


def http_status(method: str, url: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as error:
        return error.code


def test_upload_result_korean_screenshot_delete(page: Page, stack: Stack) -> None:
    polls: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: r.url.startswith(stack.urls["status"] + "/jobs/") and polls.append(r.headers),
    )
    expect(page.locator("#capture [data-t='photo_advice']")).to_contain_text("white paper")
    photo = {"name": "astronaut.jpg", "mimeType": "image/jpeg", "buffer": sample_jpeg()}
    page.set_input_files("#file", files=[photo])  # from memory: nothing touches disk
    with page.expect_response(lambda r: r.url.endswith("/jobs")) as submitted:
        page.click("#start")
    ticket = json.loads(submitted.value.body())
    assert submitted.value.status == 202

    card = page.locator("#result")
    expect(card).to_be_visible(timeout=60_000)
    # It long-polls: each status request asks to be held, and from the second on names the ETag.
    assert polls and all(h.get("prefer") == "wait=25" for h in polls), polls
    assert all("if-none-match" in h for h in polls[1:]), polls
    expect(page.locator("#season-name")).not_to_be_empty()
    assert page.locator("#measured li").count() == 4
    assert page.locator("#palette .row.best .swatch").count() >= 4
    english = page.locator("#season-name").inner_text()

    page.click(".lang button[data-lang='ko']")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    korean = page.locator("#season-name").inner_text()
    assert korean != english
    assert any("\uac00" <= ch <= "\ud7a3" for ch in korean), korean  # Hangul syllables
    expect(page.locator("#delete")).to_have_text("결과 삭제")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-result.png"), full_page=True)

    assert http_status("GET", ticket["result_url"]) == 200
    page.click("#delete")
    expect(page.locator("#deleted")).to_be_visible()
    assert http_status("GET", ticket["result_url"]) == 404


def test_the_page_rides_out_a_status_outage(page: Page, stack: Stack) -> None:
    """Transient 503s (and lost connections) from status: "reconnecting…", never an error."""
    refusals = {"left": 3}

    def outage(route) -> None:
        if refusals["left"] and route.request.method == "GET":
            refusals["left"] -= 1
            problem = {"code": "store_unavailable", "status": 503, "title": "down", "detail": "-"}
            route.fulfill(
                status=503,
                headers={"Access-Control-Allow-Origin": "*", "Retry-After": "1"},
                content_type="application/problem+json",
                body=json.dumps(problem),
            )
        else:
            route.continue_()

    page.route(stack.urls["status"] + "/jobs/*", outage)
    photo = {"name": "astronaut.jpg", "mimeType": "image/jpeg", "buffer": sample_jpeg()}
    page.set_input_files("#file", files=[photo])
    page.click("#start")
    expect(page.locator("#state")).to_have_text("Reconnecting…", timeout=30_000)
    expect(page.locator("#result")).to_be_visible(timeout=60_000)
    assert refusals["left"] == 0
    expect(page.locator("#error")).to_be_hidden()


def test_faces_are_boxed_on_the_photo_and_a_tap_analyses_another(page: Page) -> None:
    """The boxes are drawn over the page's own copy of the photo; tapping the other face starts
    a new job for it (``?face=1``), and its result highlights that face."""
    photo = {"name": "group.jpg", "mimeType": "image/jpeg", "buffer": two_faces_jpeg()}
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    page.set_input_files("#file", files=[photo])
    page.click("#start")
    expect(page.locator("#result")).to_be_visible(timeout=60_000)

    boxes = page.locator("#face-boxes .face-box")
    expect(boxes).to_have_count(2)
    expect(page.locator("#face-boxes .face-box.analysed")).to_have_text("0")
    assert page.locator("#faces-photo").get_attribute("src").startswith("blob:")
    photo_box = page.locator("#faces-photo").bounding_box()
    first, second = (boxes.nth(i).bounding_box() for i in range(2))
    assert photo_box and first and second
    assert photo_box["x"] <= first["x"] < second["x"] <= photo_box["x"] + photo_box["width"]
    expect(page.locator("#faces-caption")).to_contain_text("0 of 2")
    expect(page.locator("#light")).to_contain_text("skin L*")

    with page.expect_response(lambda r: r.url.endswith("/jobs?face=1")) as submitted:
        boxes.nth(1).click()
    assert submitted.value.status == 202
    expect(page.locator("#face-boxes .face-box.analysed")).to_have_text("1", timeout=60_000)
    expect(page.locator("#faces-caption")).to_contain_text("1 of 2")
    assert [url.rsplit("/", 1)[-1] for url in uploads] == ["jobs", "jobs?face=1"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-faces.png"), full_page=True)


def test_camera_capture_reports_a_failed_job(page: Page) -> None:
    """Chromium's fake camera shows a test pattern: the job fails (no face) and the page says so."""
    page.click("#camera")
    expect(page.locator("#video")).to_be_visible()
    # Polled from Python: wait_for_function would eval() in the page, which its CSP refuses.
    for _ in range(100):
        if page.locator("#video").evaluate("video => video.videoWidth") > 0:
            break
        page.wait_for_timeout(100)
    page.click("#shoot")
    expect(page.locator("#tray li")).to_have_count(1)  # the shot joins the photos to send
    with page.expect_response(lambda r: r.url.endswith("/jobs")) as submitted:
        page.click("#start")
    assert submitted.value.status == 202
    error = page.locator("#error")
    expect(error).to_be_visible(timeout=60_000)
    expect(page.locator("#error-text")).not_to_be_empty()
    page.click("#retry")
    expect(page.locator("#capture")).to_be_visible()


def test_three_photos_of_one_person_are_one_job_and_one_card(page: Page) -> None:
    """Up to five photos gathered (thumbnails, one removed), one job, one card that says how
    far they agree and gives each photo's own family; the scan covers all of them."""
    from colorseason.analysis.person import MAX_PHOTOS

    photos = [
        {"name": f"{name}.jpg", "mimeType": "image/jpeg", "buffer": data}
        for name, data in zip(("plain", "warm", "cool"), one_person_jpegs(), strict=True)
    ]
    extra = {"name": "other.jpg", "mimeType": "image/jpeg", "buffer": sample_jpeg("grace_hopper")}
    page.set_input_files("#file", files=[photos[0], extra])
    page.set_input_files("#file", files=photos[1:])
    tray = page.locator("#tray li")
    expect(tray).to_have_count(4)
    expect(page.locator("#tray-count")).to_have_text(f"4 of {MAX_PHOTOS} photos")
    tray.nth(1).locator("button.remove").click()  # the one of someone else
    expect(tray).to_have_count(3)
    assert all(
        tray.nth(i).locator("img").get_attribute("src").startswith("blob:") for i in range(3)
    )
    page.set_input_files("#file", files=[extra] * MAX_PHOTOS)  # more than there is room for
    expect(tray).to_have_count(MAX_PHOTOS)
    expect(page.locator("#tray-count")).to_contain_text("remove one")
    for _ in range(MAX_PHOTOS - 3):
        tray.last.locator("button.remove").click()
    expect(tray).to_have_count(3)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-tray.png"))

    with page.expect_response(lambda r: r.url.endswith("/jobs")) as submitted:
        page.click("#start")
    assert submitted.value.status == 202
    ticket = json.loads(submitted.value.body())
    expect(page.locator("#previews img")).to_have_count(3)  # the scan covers every photo
    expect(page.locator("#tray li")).to_have_count(0)

    expect(page.locator("#result")).to_be_visible(timeout=60_000)
    stored = json.loads(urllib.request.urlopen(ticket["result_url"], timeout=30).read())
    assert len(stored["result"]["photos"]) == 3  # one job of the three photos
    expect(page.locator("#agreement")).to_have_text("3 of 3 photos agree")
    shots = page.locator("#shots li")
    expect(shots).to_have_count(3)
    family = page.locator("#season-meta").inner_text().split(" · ")[0]
    for i in range(3):
        expect(shots.nth(i)).to_contain_text(f"Photo {i + 1}")
        expect(shots.nth(i)).to_contain_text(family)  # each photo's own family: they agree
    expect(page.locator("#faces")).to_be_hidden()  # several photos: no boxes to tap
    page.click(".lang button[data-lang='ko']")
    expect(page.locator("#agreement")).to_have_text("사진 3장 중 3장이 같은 계절")
    page.screenshot(path=str(ARTIFACTS / "browser-person.png"), full_page=True)
