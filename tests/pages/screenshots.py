"""Screenshots of every page, in Japanese on a 390×844 phone in Tokyo and in English on a
1280×800 PC in London, written to one folder for a reviewer to look through:

    .venv/bin/python -m tests.pages.screenshots OUTDIR

It starts its own `mamori serve` (development mode, a fresh SQLite database in a temporary
folder) and walks the pages as tests/e2e/test_every_page.py does. Files are named
`<language>-<position>-<route name>.png`, in the order a person meets the pages.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, running_server
from tests.pages.walk import walk_every_page

SIZES: dict[str, tuple[ViewportSize, str, str, bool]] = {
    "ja": ({"width": 390, "height": 844}, "ja-JP", "Asia/Tokyo", True),
    "en": ({"width": 1280, "height": 800}, "en-GB", "Europe/London", False),
}


def take_screenshots(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with (
        tempfile.TemporaryDirectory() as data,
        running_server(Path(data)) as server,
        sync_playwright() as playwright,
    ):
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        for lang, (viewport, locale, zone, phone) in SIZES.items():
            context = chromium.new_context(
                viewport=viewport,
                locale=locale,
                timezone_id=zone,
                is_mobile=phone,
                has_touch=phone,
                device_scale_factor=2 if phone else 1,
            )
            # The language is the person's choice: the switch's cookie, as a click sets it.
            context.add_cookies([{"name": "mamori_lang", "value": lang, "url": server.url}])

            def shoot(page: Page, name: str, lang: str = lang) -> None:
                path = folder / f"{lang}-{len(written) + 1:03d}-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                written.append(path)

            walk_every_page(context.new_page(), server, shoot)
            context.close()
        chromium.close()
    return written


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m tests.pages.screenshots OUTDIR")
    written = take_screenshots(Path(sys.argv[1]))
    print(f"{len(written)} screenshots in {sys.argv[1]}")


if __name__ == "__main__":
    main()
