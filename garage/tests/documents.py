"""Real, small documents for upload tests: every parser the upload path uses reads them."""

import io
from datetime import UTC, datetime

from fpdf import FPDF
from PIL import Image
from PIL.PngImagePlugin import PngInfo


def pdf_document(marker: str = "carte grise", lines: int = 1, size: int | None = None) -> bytes:
    """A one-page PDF whose uncompressed text holds `marker`; padded to `size` bytes if given."""
    pdf = FPDF()
    pdf.set_compression(False)
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))  # the same bytes in every process
    pdf.add_page()
    pdf.set_font("helvetica", size=6)
    for _ in range(lines):
        pdf.cell(text=marker, new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    if size is not None:
        data += b"\n%" + b"0" * (size - len(data) - 2)
    return data


def png_document(marker: str = "scan") -> bytes:
    """An 8x8 PNG carrying `marker` in a text chunk."""
    info = PngInfo()
    info.add_text("Comment", marker)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_document(marker: str = "photo") -> bytes:
    """An 8x8 JPEG carrying `marker` in its comment segment."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "JPEG", comment=marker.encode())
    return out.getvalue()
