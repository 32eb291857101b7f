"""Full-page screenshots of every page of the demo clinic, at phone and desk size, in one
folder, so a person can review the whole product in order.

    .venv/bin/python scripts/screenshots.py               # the demo already running (make demo)
    .venv/bin/python scripts/screenshots.py --serve       # its own demo on a fresh SQLite copy
    .venv/bin/python scripts/screenshots.py --dark        # each page in dark mode as well
    .venv/bin/python scripts/screenshots.py --languages en,fi,es   # each page in each language

Pages are visited as the demo's people: the sign-in pages and the 404 page signed out, a
patient's pages as Alex (and Today as Emery, who has two programs, and as Farah, of the
Finnish clinic), a therapist's as Maria, a supervisor's as Ruth, an administrator's as
Avery. Staff sign in with the code `trellis demo --totp EMAIL` prints, once each: the size
changes within the signed-in tab. Detail pages (records, alerts, steps) are found by
following the links on the list pages, so the set grows with the demo.

With --serve it also invites a new patient as Maria and follows the e-mailed link through
getting started to Today.

Files are named NNN-who-page[-language]-size[-dark].png, numbered in the order a person would meet
the pages. The script prints the folder, the count, and any page that answered with an
error, logged a console error or was wider than the phone. Against a running demo nothing
is changed in the clinic except sign-in records: the script only reads pages.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1280, "height": 900}}
DEMO_PASSWORD = "trellis-demo-garden"  # noqa: S105 (the demo's public password, personas.py)
PEOPLE = {
    "alex": "alex@patients.example",
    "emery": "emery@patients.example",
    "farah": "farah@patients.example",
    "maria": "maria.therapist@riverside.example",
    "ruth": "ruth.supervisor@riverside.example",
    "avery": "avery.admin@riverside.example",
}
STAFF = {"maria", "ruth", "avery"}
# The patient the script invites when it runs a demo of its own (--serve).
NEW_PATIENT = "nina.novak@patients.example"
NEW_PASSWORD = "a-long-walk-in-the-garden"  # noqa: S105 (a throwaway demo account)
API_DOCS = ("/docs/api/",)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "page"


@dataclass
class Shooter:
    """Takes each page at both sizes (and in dark mode if asked), numbering the files."""

    folder: Path
    base_url: str
    dark: bool
    languages: list[str] = field(default_factory=lambda: ["en"])
    count: int = 0
    taken: int = 0
    problems: list[str] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def watch(self, page: Page, who: str) -> None:
        def on_response(response: Any) -> None:
            path = urlsplit(response.url).path
            expected_404 = path.startswith("/no-such-page")
            if response.status >= 400 and not expected_404:
                self.problems.append(f"{who}: {response.status} {path}")

        def on_console(message: Any) -> None:
            # A failed load is already recorded, with its address, by on_response.
            if message.type == "error" and not message.text.startswith("Failed to load"):
                self.problems.append(f"{who}: console error on {page.url}: {message.text}")

        page.on("response", on_response)
        page.on("console", on_console)

    def shoot(self, page: Page, who: str, name: str, path: str | None = None) -> bool:
        """Screenshot the page (after opening `path`, if given) at every size."""
        if path is not None:
            if (who, path) in self.seen:
                return False
            self.seen.add((who, path))
            response = page.goto(path)
            if response is None:
                return False
        page.wait_for_load_state("load")
        with contextlib.suppress(Exception):
            page.wait_for_load_state("networkidle", timeout=3_000)
        self.count += 1
        stem = f"{self.count:03d}-{who}-{slug(name)}"
        for number, language in enumerate(self.languages):
            if number:
                # The browser asks for the next language; a person's own choice still wins.
                page.set_extra_http_headers({"Accept-Language": language})
                page.reload()
                page.wait_for_load_state("load")
            label = f"-{language}" if len(self.languages) > 1 else ""
            self.take(page, who, f"{stem}{label}")
        if len(self.languages) > 1:
            page.set_extra_http_headers({"Accept-Language": self.languages[0]})
        return True

    def take(self, page: Page, who: str, stem: str) -> None:
        """The page now on screen at each size (and scheme)."""
        schemes = ["light", "dark"] if self.dark else ["light"]
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            if size == "phone":
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > viewport["width"]:
                    self.problems.append(
                        f"{who}: {urlsplit(page.url).path} is {width} px wide on a "
                        f"{viewport['width']} px phone ({stem})"
                    )
            # The whole page in one window as tall as the page, so what is fixed to the
            # bottom of the screen (the patient's tab bar) shows at the bottom, once.
            height = page.evaluate("document.documentElement.scrollHeight")
            page.set_viewport_size(
                {"width": viewport["width"], "height": min(max(height, viewport["height"]), 16_000)}
            )
            for scheme in schemes:
                page.emulate_media(color_scheme=scheme)
                suffix = "" if scheme == "light" else "-dark"
                page.screenshot(path=self.folder / f"{stem}-{size}{suffix}.png")
                self.taken += 1
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(SIZES["phone"])

    def links(self, page: Page, pattern: str, limit: int) -> list[str]:
        """The first `limit` distinct link paths in the page's main part matching `pattern`."""
        hrefs = page.eval_on_selector_all(
            "main a[href]", "links => links.map(a => a.getAttribute('href'))"
        )
        found: list[str] = []
        for href in hrefs:
            path = urlsplit(href).path if href.startswith("http") else href
            if re.fullmatch(pattern, path) and path not in found:
                found.append(path)
        return found[:limit]


def current_code(email: str, env: dict[str, str]) -> str:
    """The demo account's six-digit code now (`trellis demo --totp`)."""
    out = subprocess.run(
        [sys.executable, "-m", "trellis", "demo", "--totp", email],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def sign_in(page: Page, who: str, env: dict[str, str], shooter: Shooter | None) -> None:
    page.goto("/accounts/login/")
    form = page.locator("main form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=email]").fill(PEOPLE[who])
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    if who not in STAFF:
        return
    if shooter is not None:
        shooter.shoot(page, who, "sign-in code")
    for attempt in range(2):
        code = current_code(PEOPLE[who], env)
        form = page.locator("main form").filter(has=page.locator("input[name=code]"))
        form.locator("input[name=code]").fill(code)
        form.locator("button[type=submit]").click()
        page.wait_for_load_state("load")
        if "/accounts/mfa/" not in page.url:
            return
        if attempt == 0:
            # A code is good once: wait for the next one (another run may have used it).
            time.sleep(31 - time.time() % 30)
    raise SystemExit(f"Could not sign in as {PEOPLE[who]}: the code was refused.")


@contextlib.contextmanager
def person(browser: Browser, shooter: Shooter, who: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=shooter.base_url,
        viewport=SIZES["phone"],
        extra_http_headers={"Accept-Language": shooter.languages[0]},
        # The patient app's service worker fetches pages itself, without the language
        # headers this tab asks for; each page comes straight from the server instead.
        service_workers="block",
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    shooter.watch(page, who)
    try:
        yield page
    finally:
        context.close()


def public_pages(browser: Browser, shooter: Shooter) -> None:
    with person(browser, shooter, "public") as page:
        shooter.shoot(page, "public", "sign in", "/accounts/login/")
        shooter.shoot(page, "public", "password reset", "/accounts/password-reset/")
        shooter.shoot(page, "public", "not found", "/no-such-page/")
        for path in API_DOCS:
            response = page.goto(path)
            if response is not None and response.ok:
                shooter.shoot(page, "public", "API documentation")
                break
        else:
            shooter.problems.append(f"public: no API documentation page at {', '.join(API_DOCS)}")


def patient_pages(browser: Browser, shooter: Shooter, env: dict[str, str]) -> None:
    with person(browser, shooter, "alex") as page:
        sign_in(page, "alex", env, None)
        shooter.shoot(page, "alex", "today", "/today/")
        steps = shooter.links(page, r"/steps/[\w-]+/", 12)
        questionnaires = shooter.links(page, r"/questionnaires/[\w-]+/", 2)
        shooter.shoot(page, "alex", "my story", "/story/")
        steps += shooter.links(page, r"/steps/[\w-]+/", 30)
        for path in shooter.links(page, r"/story/chapters/[\w-]+/", 2):
            shooter.shoot(page, "alex", f"chapter {path.strip('/').split('/')[-1]}", path)
        for path in dict.fromkeys(steps):
            key = path.strip("/").split("/")[-1]
            shooter.shoot(page, "alex", f"step {key}", path)
        done = shooter.links(page, r"/steps/[\w-]+/done/", 1)
        for path in done:
            shooter.shoot(page, "alex", "step done", path)
        for path in questionnaires:
            shooter.shoot(page, "alex", "questionnaire", path)
        for name, path in [
            ("questionnaires", "/questionnaires/"),
            ("progress", "/progress/"),
            ("mood", "/mood/"),
            ("journal", "/journal/"),
            ("messages", "/messages/"),
            ("sessions", "/sessions/"),
            ("notifications", "/notifications/"),
        ]:
            shooter.shoot(page, "alex", name, path)
        day_links = page.eval_on_selector_all(
            "main a[href*='/sessions/book/day/']", "links => links.map(a => a.getAttribute('href'))"
        )
        if day_links:
            page.goto(day_links[0])
            shooter.shoot(page, "alex", "booking a day")
            times = page.eval_on_selector_all(
                "main a[href*='/sessions/book/confirm/']",
                "links => links.map(a => a.getAttribute('href'))",
            )
            if times:
                page.goto(times[0])
                shooter.shoot(page, "alex", "booking confirm")
        for name, path in [
            ("simple mode", "/settings/simple-mode/"),
            ("my preferences", "/welcome/account/preferences/"),
            ("my consents", "/welcome/account/consent/"),
            ("my record", "/me/record/"),
            ("ask for a correction", "/me/record/corrections/new/"),
            ("disclosures of my record", "/me/record/disclosures/"),
            ("erase my record", "/me/erasure/"),
            ("security", "/accounts/security/"),
            ("offline", "/offline/"),
        ]:
            shooter.shoot(page, "alex", name, path)
    for who in ("emery", "farah"):
        with person(browser, shooter, who) as page:
            sign_in(page, who, env, None)
            shooter.shoot(page, who, "today", "/today/")
            shooter.shoot(page, who, "my story", "/story/")


def therapist_pages(
    browser: Browser, shooter: Shooter, env: dict[str, str], *, invite: bool
) -> None:
    with person(browser, shooter, "maria") as page:
        sign_in(page, "maria", env, shooter)
        shooter.shoot(page, "maria", "home", "/")
        shooter.shoot(page, "maria", "caseload", "/clinic/caseload/")
        records = shooter.links(page, r"/clinic/caseload/enrollments/[\w-]+/", 3)
        threads: list[str] = []
        for number, path in enumerate(records, 1):
            shooter.shoot(page, "maria", f"patient record {number}", path)
            threads += shooter.links(page, r"/clinic/messages/[\w-]+/", 1)
        for number, path in enumerate(dict.fromkeys(threads), 1):
            shooter.shoot(page, "maria", f"messages {number}", path)
        shooter.shoot(page, "maria", "alerts", "/clinic/alerts/")
        alerts = shooter.links(page, r"/clinic/alerts/[0-9a-f-]{36}/", 6)
        for number, path in enumerate(alerts, 1):
            shooter.shoot(page, "maria", f"alert {number}", path)
        for name, path in [
            ("sessions", "/clinic/sessions/"),
            ("availability", "/clinic/sessions/availability/"),
            ("invite a patient", "/clinic/care/patients/invite/"),
            ("dropout risk model", "/clinic/insights/model/"),
            ("requests for corrections", "/clinic/amendments/"),
            ("security", "/accounts/security/"),
        ]:
            shooter.shoot(page, "maria", name, path)
        page.goto("/clinic/amendments/")
        for path in shooter.links(page, r"/clinic/amendments/[0-9a-f-]{36}/", 1):
            shooter.shoot(page, "maria", "a request for a correction", path)
        if invite:
            invite_a_patient(page, shooter)


def invite_a_patient(page: Page, shooter: Shooter) -> None:
    """Maria invites NEW_PATIENT to the first program, coached, with herself as supporter."""
    page.goto("/clinic/care/patients/invite/")
    form = page.locator("main form").filter(has=page.locator("input[name=full_name]"))
    form.locator("input[name=email]").fill(NEW_PATIENT)
    form.locator("input[name=full_name]").fill("Nina Novak")
    form.locator("input[name=support_level][value=coached]").check()
    form.get_by_label("Maria Lindqvist").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    shooter.shoot(page, "maria", "invitation sent")


def invitation_link(log: Path, seconds: float = 30) -> str | None:
    """The invitation link from the e-mail the demo printed to its log (console e-mail)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.findall(r"https?://\S+?(/invitations/[\w-]+/)", log.read_text(errors="replace"))
        if found:
            return found[-1]
        time.sleep(0.5)
    return None


def getting_started_pages(browser: Browser, shooter: Shooter, log: Path) -> None:
    """The new patient from the invitation link to Today, each page as they meet it. Each
    form is answered with its first choice (an account, consent given, every question
    answered), which is enough to move on."""
    link = invitation_link(log)
    if link is None:
        shooter.problems.append("nina: no invitation e-mail in the demo's log")
        return
    with person(browser, shooter, "nina") as page:
        shooter.shoot(page, "nina", "invitation", link)
        for field in page.locator("main form input[type=password]").all():
            field.fill(NEW_PASSWORD)
        for field in page.locator("main form input[type=text]:visible").all():
            if not field.input_value():
                field.fill("Nina Novak")
        page.locator("main form button[type=submit]").last.click()
        shot: set[str] = set()
        for _ in range(40):
            page.wait_for_load_state("load")
            path = urlsplit(page.url).path
            if not path.startswith("/welcome/"):
                break
            if path not in shot:
                shot.add(path)
                shooter.shoot(page, "nina", f"getting started {path.strip('/').split('/')[-1]}")
            # Simple mode (if chosen) shows one question at a time: answer what is shown.
            form = page.locator("main form").filter(has=page.locator("button[type=submit]")).last
            for group in form.locator("fieldset:visible").all():
                radios = group.locator("input[type=radio]:visible")
                if radios.count() and not group.locator("input[type=radio]:checked").count():
                    radios.first.check()
            send = form.locator("button[type=submit]:visible, button[data-next]:visible")
            send.last.click()
        shooter.shoot(page, "nina", "today, new")


def supervisor_pages(browser: Browser, shooter: Shooter, env: dict[str, str]) -> None:
    with person(browser, shooter, "ruth") as page:
        sign_in(page, "ruth", env, None)
        shooter.shoot(page, "ruth", "home", "/")
        shooter.shoot(page, "ruth", "supervision", "/clinic/caseload/supervision/")
        shooter.shoot(page, "ruth", "caseload", "/clinic/caseload/")
        shooter.shoot(page, "ruth", "alert rules", "/clinic/alerts/rules/")
        shooter.shoot(page, "ruth", "on call", "/clinic/alerts/on-call/")


def admin_pages(browser: Browser, shooter: Shooter, env: dict[str, str]) -> None:
    with person(browser, shooter, "avery") as page:
        sign_in(page, "avery", env, None)
        shooter.shoot(page, "avery", "home", "/")
        shooter.shoot(page, "avery", "people", "/clinic/people/")
        for path in shooter.links(page, r"/clinic/people/[0-9a-f-]{36}/", 1):
            shooter.shoot(page, "avery", "a person", path)
        for name, path in [
            ("invite staff", "/clinic/invitations/new/"),
            ("clinic settings", "/clinic/settings/"),
            ("integration tokens", "/clinic/tokens/"),
            ("connected systems", "/clinic/connections/"),
            ("register a connected system", "/clinic/connections/new/"),
            ("referrals", "/clinic/referrals/"),
            ("data rights", "/clinic/data-rights/"),
            ("erase on request", "/clinic/data-rights/erase/"),
            ("research export", "/clinic/research-export/"),
            ("audit trail", "/clinic/audit/"),
        ]:
            shooter.shoot(page, "avery", name, path)
        page.goto("/clinic/connections/")
        for path in shooter.links(page, r"/clinic/connections/[0-9a-f-]{36}/", 1):
            shooter.shoot(page, "avery", "a connected system", path)


def write_index(folder: Path) -> None:
    """index.html: every page in order, its screenshots side by side (phone, then desk)."""
    pages: dict[str, list[str]] = {}
    for shot in sorted(folder.glob("*.png")):
        pages.setdefault(shot.name[:3], []).append(shot.name)
    rows = []
    for names in pages.values():
        names.sort(key=lambda n: ("-desk" in n, n))
        title = html.escape(names[0].rsplit("-phone", 1)[0].rsplit("-desk", 1)[0])
        images = "".join(
            f'<a href="{html.escape(n)}"><img src="{html.escape(n)}" alt="{html.escape(n)}" '
            f'class="{"desk" if "-desk" in n else "phone"}" loading="lazy"></a>'
            for n in names
        )
        rows.append(f"<section><h2>{title}</h2><div>{images}</div></section>")
    (folder / "index.html").write_text(
        "<!doctype html><html lang=en><meta charset=utf-8><title>Trellis screenshots</title>"
        "<style>body{font:14px sans-serif;margin:1rem}div{display:flex;gap:8px;"
        "align-items:flex-start;overflow-x:auto}img{border:1px solid #999}"
        "img.phone{width:195px}img.desk{width:480px}h2{font-size:1rem}</style>"
        f"<h1>Trellis screenshots ({len(pages)} pages)</h1>{''.join(rows)}</html>\n"
    )


def wait_for(url: str, seconds: float) -> None:
    parts = urlsplit(url)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) == 0:
                return
        time.sleep(0.5)
    raise SystemExit(f"Nothing answered at {url} within {seconds:.0f} s.")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def own_demo(env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """`trellis demo` on a fresh SQLite database in a temporary folder, stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="trellis-screenshots-") as var:
        env["TRELLIS_VAR_DIR"] = var
        env.pop("DATABASE_URL", None)
        port = free_port()
        log = Path(var) / "demo.log"
        print(f"Setting up a demo clinic in {var} (its log: {log})...", flush=True)
        with log.open("wb") as out:
            demo = subprocess.Popen(
                [sys.executable, "-m", "trellis", "demo", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                url = f"http://127.0.0.1:{port}"
                wait_for(url, 600)
                yield url, log
            finally:
                demo.send_signal(signal.SIGTERM)
                try:
                    demo.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(demo.pid, signal.SIGKILL)
                    demo.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running demo")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="start a demo of its own on a fresh SQLite database instead",
    )
    parser.add_argument("--out", default="screenshots", help="folder (default ./screenshots/)")
    parser.add_argument("--dark", action="store_true", help="each page in dark mode as well")
    parser.add_argument(
        "--languages",
        default="en",
        help="the languages the browser asks for, comma-separated (for example en,fi,es)",
    )
    args = parser.parse_args()

    folder = Path(args.out).resolve()
    if folder.exists():
        for old in [*folder.glob("*.png"), *folder.glob("index.html")]:
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TRELLIS_ENV": os.environ.get("TRELLIS_ENV", "dev")}
    env["PYTHONPATH"] = str(ROOT)

    with contextlib.ExitStack() as stack:
        log: Path | None = None
        if args.serve:
            url, log = stack.enter_context(own_demo(env))
        else:
            url = args.url.rstrip("/")
            wait_for(url, 5)
        languages = [code.strip() for code in args.languages.split(",") if code.strip()]
        shooter = Shooter(folder=folder, base_url=url, dark=args.dark, languages=languages)
        playwright = stack.enter_context(sync_playwright())
        executable = shutil.which("chromium")
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        stack.callback(browser.close)
        public_pages(browser, shooter)
        patient_pages(browser, shooter, env)
        therapist_pages(browser, shooter, env, invite=log is not None)
        if log is not None:
            getting_started_pages(browser, shooter, log)
        supervisor_pages(browser, shooter, env)
        admin_pages(browser, shooter, env)

    write_index(folder)
    print(f"{shooter.taken} screenshots of {shooter.count} pages in {folder}")
    print(f"Open {folder / 'index.html'} in a browser to see them side by side, in order.")
    if shooter.problems:
        print(f"\n{len(shooter.problems)} things to look at:")
        for problem in dict.fromkeys(shooter.problems):
            print(f"  {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
