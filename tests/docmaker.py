"""Builds small real files of every supported format for tests (with the same libraries users' tools use)."""

from __future__ import annotations

import zipfile
from email.message import EmailMessage
from pathlib import Path

SECTIONS = [
    ("Aanleiding", "Jongeren in Heerlen-Noord met geldzorgen zoeken laat hulp. Schaamte speelt een grote rol."),
    ("Bevindingen",
     "Het jongerenwerk bereikt deze jongeren beter dan de schuldhulpverlening. Vertrouwen is de sleutel."),
]

TOWNS = ["Heerlen", "Kerkrade", "Brunssum", "Sittard", "Maastricht", "Landgraaf"]


def make_docx(path: Path, title: str = "Verslag geldzorgen jongeren") -> Path:
    import docx

    d = docx.Document()
    d.add_heading(title, 0)
    for head, text in SECTIONS:
        d.add_heading(head, 1)
        d.add_paragraph(text)
    d.save(path)
    return path


def make_pptx(path: Path) -> Path:
    from pptx import Presentation

    prs = Presentation()
    for head, text in SECTIONS:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = head
        slide.placeholders[1].text = text
    prs.save(path)
    return path


def make_eml(path: Path) -> Path:
    msg = EmailMessage()
    msg["Subject"] = "Terugkoppeling expertmeeting armoede"
    msg["From"] = "coordinator@example.org"
    msg["To"] = "leden@example.org"
    msg.set_content("Beste leden,\n\n" + "\n\n".join(t for _, t in SECTIONS) + "\n\nGroet, de coördinator")
    path.write_bytes(msg.as_bytes())
    return path


def _markdown() -> str:
    return "# Verslag geldzorgen jongeren\n\n" + "\n\n".join(f"## {h}\n\n{t}" for h, t in SECTIONS) + "\n"


def make_md(path: Path, front: str = "") -> Path:
    path.write_text((f"---\n{front}---\n" if front else "") + _markdown(), "utf-8")
    return path


def make_html(path: Path) -> Path:
    body = "".join(f"<h2>{h}</h2><p>{t}</p>" for h, t in SECTIONS)
    path.write_text(f"<!doctype html><html lang=nl><head><meta charset=utf-8><title>Geldzorgen bij jongeren</title>"
                    f"</head><body><h1>Geldzorgen bij jongeren</h1>{body}</body></html>", "utf-8")
    return path


def make_pandoc(path: Path, fmt: str) -> Path:
    import pypandoc

    pypandoc.convert_text(_markdown(), fmt, format="md", outputfile=str(path),
                          extra_args=["--metadata", "title=Verslag geldzorgen jongeren"])
    return path


def make_pdf(path: Path, pages: int = 2, password: str | None = None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title("Onderzoek naar geldzorgen")
    for n in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        heading = f"Hoofdstuk {n + 1}: financiële zorgen in {TOWNS[n % len(TOWNS)]}"
        pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for _, text in SECTIONS:
            pdf.multi_cell(0, 6, f"{text} (over {TOWNS[n % len(TOWNS)]})", new_x="LMARGIN", new_y="NEXT")
        pdf.set_auto_page_break(False)
        pdf.set_y(-15)
        pdf.cell(0, 10, f"Werkplaats Sociaal Domein - pagina {n + 1}")
        pdf.set_auto_page_break(True, margin=15)
    pdf.output(str(path))
    if password:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(str(path)))
        writer.encrypt(user_password=password, owner_password=password + "x")
        writer.write(str(path))
    return path


def make_zip_bomb(path: Path, megabytes: int = 150) -> Path:
    """A real DOCX with one more member: ``megabytes`` of zeros, deflated to a few hundred kB."""
    make_docx(path)
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("word/media/nullen.bin", "w", force_zip64=True) as member:
        for _ in range(megabytes):
            member.write(chunk)
    return path
