"""A QR code for a patient link, drawn as inline SVG so it prints with the page and needs no
image request (the URL holds the token, so it must not end up in an image cache or log)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from markupsafe import Markup


def svg(url: str) -> Markup:
    """The URL as a scannable QR code (medium error correction survives a smudged print)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=4,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image()
    text = image.to_string(encoding="unicode")
    start = text.find("<svg")
    return Markup(text[start:] if start >= 0 else text)  # noqa: S704 (our own generated SVG)
