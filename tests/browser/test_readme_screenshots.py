"""The README's screenshots: the home page and the filled-in preferences, 1200 CSS px wide,
full page, light scheme, device scale 1.

Taken on every run (into the temporary screenshot folder, to keep them working and small);
`make screenshots` sets $BEFRIEND_README_SCREENSHOTS=docs/screenshots to replace the
README's copies."""

from __future__ import annotations

import base64
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext

from tests.browser.conftest import Server, Watch, assert_clean, new_context, screenshot
from tests.browser.test_scripted_pages import open_preferences

WIDTH = 1200
MAX_BYTES = 400_000

# Chromium decodes the screenshot and maps each pixel to one of the 256 most frequent colours
# (flat backgrounds and anti-aliased text need few more); Python writes the indexed PNG.
QUANTIZE = """async (encoded) => {
  const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const data = context.getImageData(0, 0, width, height).data;
  const rgb = (i) => (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4) counts.set(rgb(i), (counts.get(rgb(i)) || 0) + 1);
  const palette = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, 256).map((entry) => entry[0]);
  const nearest = new Map();
  for (const colour of counts.keys()) {
    let best = 0;
    let bestDistance = Infinity;
    for (let p = 0; p < palette.length && bestDistance > 0; p++) {
      const q = palette[p];
      const r = (colour >> 16) - (q >> 16);
      const g = ((colour >> 8) & 255) - ((q >> 8) & 255);
      const b = (colour & 255) - (q & 255);
      const distance = r * r + g * g + b * b;
      if (distance < bestDistance) [best, bestDistance] = [p, distance];
    }
    nearest.set(colour, best);
  }
  const rows = new Uint8Array(height * (width + 1));  // filter byte 0, then one index a pixel
  for (let y = 0; y < height; y++) {
    const row = y * (width + 1) + 1;
    for (let x = 0; x < width; x++) rows[row + x] = nearest.get(rgb((y * width + x) * 4));
  }
  let text = "";
  for (let i = 0; i < rows.length; i += 0x8000) {
    text += String.fromCharCode(...rows.subarray(i, i + 0x8000));
  }
  return { width, height, palette, rows: btoa(text) };
}"""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def shrink(context: BrowserContext, path: Path) -> None:
    """Rewrite the PNG at `path` as an 8-bit indexed PNG of at most 256 colours."""
    blank = context.new_page()
    try:
        found: dict[str, Any] = blank.evaluate(
            QUANTIZE, base64.b64encode(path.read_bytes()).decode()
        )
    finally:
        blank.close()
    palette = b"".join(colour.to_bytes(3, "big") for colour in found["palette"])
    header = struct.pack(">IIBBBBB", found["width"], found["height"], 8, 3, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", palette)
        + _chunk(b"IDAT", zlib.compress(base64.b64decode(found["rows"]), 9))
        + _chunk(b"IEND", b"")
    )


def test_readme_screenshots(
    browser: Browser, server: Server, watch: Watch, screenshots: Path
) -> None:
    chosen = os.environ.get("BEFRIEND_README_SCREENSHOTS")
    folder = Path(chosen) if chosen else screenshots
    folder.mkdir(parents=True, exist_ok=True)
    context = new_context(
        browser,
        watch,
        viewport={"width": WIDTH, "height": 800},
        device_scale_factor=1,
        color_scheme="light",
    )
    try:
        page = context.new_page()
        page.goto(server.url("/"))
        shots = [screenshot(page, folder, "home")]
        open_preferences(page, server, "email:newsletter", "email:offers", "sms:offers")
        shots.append(screenshot(page, folder, "preferences"))
        assert_clean(page, watch)
        for shot in shots:
            shrink(context, shot)
    finally:
        context.close()
    for shot in shots:
        size = shot.stat().st_size
        assert size <= MAX_BYTES, f"{shot} is {size} bytes, more than {MAX_BYTES}"
