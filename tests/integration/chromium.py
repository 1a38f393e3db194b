"""Debian's Chromium driven by Playwright, for the console's end-to-end tests and screenshots.

Playwright's own browser builds are never downloaded: `make browser` installs /usr/bin/chromium from
Debian and Playwright's bundled driver launches that binary, headless, with a fresh profile.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageStat
from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def chromium_page(profile_dir: Path, width: int = 1280, height: int = 900) -> Iterator[Page]:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium (as root)")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir), executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": width, "height": height}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            context.close()


def screenshot_problems(path: Path, min_width: int = 800, min_height: int = 600) -> list[str]:
    """Why a PNG is not a readable page screenshot (empty list: it is one): size, dimensions, blankness."""
    problems = []
    if path.stat().st_size < 20_000:
        problems.append(f"only {path.stat().st_size} bytes")
    with Image.open(path) as image:
        if image.format != "PNG":
            problems.append(f"format {image.format}")
        if image.width < min_width or image.height < min_height:
            problems.append(f"{image.width}x{image.height} is smaller than {min_width}x{min_height}")
        grey = image.convert("L")
        spread = ImageStat.Stat(grey).stddev[0]
        colours = len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
    if spread < 10:
        problems.append(f"nearly uniform (grey stddev {spread:.1f})")
    if colours < 64:
        problems.append(f"only {colours} distinct colours: no anti-aliased text")
    return problems
