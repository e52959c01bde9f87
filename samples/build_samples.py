#!/usr/bin/env python3
"""Eenmalige generator voor de DOCX-, PDF- en HTML-documenten van het demo-corpus.

LET OP: dit script is NIET nodig tijdens het draaien van Kennismakelaar. De
gegenereerde bestanden in samples/documenten/ (plus hun .yaml-sidecars) zijn de
bron van waarheid en worden zo gecommit. Dit script staat er alleen zodat de
bestanden reproduceerbaar zijn als iemand een brontekst wil aanpassen.

Bronnen: samples/bronnen/*.bron — een YAML-front-matter-blok (met het extra veld
`format: docx|pdf|html`) gevolgd door een kleine Markdown-subset:
  # / ## / ###  koppen,  - opsomming,  1. genummerd,  > citaat,
  | tabel |,  **vet**,  *cursief*,  lege regel = nieuwe alinea.
De extensie .bron is bewust gekozen zodat een ingest die samples/ recursief
doorzoekt deze bronteksten niet als (dubbele) documenten oppikt.

Gebruik (eenmalig):
    /work/main/.venv/bin/pip install fpdf2
    /work/main/.venv/bin/python samples/build_samples.py
"""
from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
BRONNEN = HERE / "bronnen"
OUT = HERE / "documenten"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


# --------------------------------------------------------------------------- parsing
def read_bron(path: Path) -> tuple[dict, list[tuple]]:
    text = path.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    if not m:
        raise ValueError(f"{path}: geen front matter")
    meta = yaml.safe_load(m.group(1))
    return meta, parse_blocks(m.group(2))


def parse_blocks(body: str) -> list[tuple]:
    """Return a list of blocks: ('h', level, text), ('p', text), ('ul', [items]),
    ('ol', [items]), ('quote', text), ('table', [[cells]])."""
    blocks: list[tuple] = []
    para: list[str] = []

    def flush_para():
        if para:
            blocks.append(("p", " ".join(s.strip() for s in para)))
            para.clear()

    for raw in body.splitlines():
        line = raw.rstrip()
        if not line.strip():
            flush_para()
            continue
        hm = re.match(r"^(#{1,3})\s+(.*)$", line)
        if hm:
            flush_para()
            blocks.append(("h", len(hm.group(1)), hm.group(2).strip()))
            continue
        if line.startswith("- "):
            flush_para()
            item = line[2:].strip()
            if blocks and blocks[-1][0] == "ul":
                blocks[-1][1].append(item)
            else:
                blocks.append(("ul", [item]))
            continue
        om = re.match(r"^\d+\.\s+(.*)$", line)
        if om:
            flush_para()
            if blocks and blocks[-1][0] == "ol":
                blocks[-1][1].append(om.group(1).strip())
            else:
                blocks.append(("ol", [om.group(1).strip()]))
            continue
        if line.startswith(">"):
            flush_para()
            blocks.append(("quote", line.lstrip(">").strip()))
            continue
        if line.startswith("|"):
            flush_para()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                continue  # separator row
            if blocks and blocks[-1][0] == "table":
                blocks[-1][1].append(cells)
            else:
                blocks.append(("table", [cells]))
            continue
        para.append(line)
    flush_para()
    return blocks


INLINE = re.compile(r"(\*\*.+?\*\*|\*[^*\s][^*]*?\*)")


def inline_runs(text: str) -> list[tuple[str, str]]:
    """Split text into runs: ('n'|'b'|'i', text)."""
    runs = []
    for part in INLINE.split(text):
        if not part:
            continue
        if part.startswith("**") and part.endswith("**"):
            runs.append(("b", part[2:-2]))
        elif part.startswith("*") and part.endswith("*") and len(part) > 2:
            runs.append(("i", part[1:-1]))
        else:
            runs.append(("n", part))
    return runs


def plain(text: str) -> str:
    return "".join(t for _, t in inline_runs(text))


def sidecar_meta(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k != "format"}


def expert_names() -> dict[str, str]:
    """id -> naam, uit samples/experts (alleen voor de auteur-metadata in DOCX/PDF/HTML)."""
    import csv

    names: dict[str, str] = {}
    exp = HERE / "experts"
    for f in sorted(exp.glob("*.yaml")):
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        for e in data.get("experts", [data] if "id" in data else []):
            names[e["id"]] = e["name"]
    for f in sorted(exp.glob("*.csv")):
        with f.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                names[row["id"]] = row["name"]
    return names


NAMES: dict[str, str] = {}


def author_names(meta: dict) -> str:
    if not NAMES:
        NAMES.update(expert_names())
    return ", ".join(NAMES.get(str(a), str(a)) for a in meta.get("authors") or [])


# --------------------------------------------------------------------------- DOCX
def build_docx(meta: dict, blocks: list[tuple], dest: Path) -> None:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.core_properties.title = meta["title"]
    doc.core_properties.author = author_names(meta)
    doc.core_properties.language = "nl-NL"
    doc.core_properties.subject = "Werkplaats Sociaal Domein Zuid-Limburg"
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)

    def add_runs(par, text):
        for kind, t in inline_runs(text):
            run = par.add_run(t)
            run.bold = kind == "b"
            run.italic = kind == "i"

    for b in blocks:
        kind = b[0]
        if kind == "h":
            doc.add_heading(plain(b[2]), level=b[1])
        elif kind == "p":
            add_runs(doc.add_paragraph(), b[1])
        elif kind == "ul":
            for item in b[1]:
                add_runs(doc.add_paragraph(style="List Bullet"), item)
        elif kind == "ol":
            for item in b[1]:
                add_runs(doc.add_paragraph(style="List Number"), item)
        elif kind == "quote":
            add_runs(doc.add_paragraph(style="Quote"), b[1])
        elif kind == "table":
            rows = b[1]
            ncols = max(len(r) for r in rows)
            table = doc.add_table(rows=len(rows), cols=ncols)
            table.style = "Table Grid"
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    c = table.cell(i, j)
                    c.text = ""
                    run = c.paragraphs[0].add_run(plain(cell))
                    run.bold = i == 0
            doc.add_paragraph()
    doc.save(dest)


# --------------------------------------------------------------------------- HTML
def html_inline(text: str) -> str:
    out = []
    for kind, t in inline_runs(text):
        t = html.escape(t, quote=False)
        out.append(f"<strong>{t}</strong>" if kind == "b" else f"<em>{t}</em>" if kind == "i" else t)
    return "".join(out)


def build_html(meta: dict, blocks: list[tuple], dest: Path) -> None:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="nl">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(meta['title'])}</title>",
        f'<meta name="author" content="{html.escape(author_names(meta))}">',
        f'<meta name="date" content="{meta.get("date", "")}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<style>body{font-family:Georgia,serif;max-width:46em;margin:2em auto;line-height:1.5;color:#222}"
        "header nav{font-family:sans-serif;font-size:.85em;color:#666}"
        "blockquote{border-left:3px solid #b33;margin-left:0;padding-left:1em;font-style:italic}"
        "table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:.3em .6em}"
        "footer{margin-top:3em;font-size:.8em;color:#777}</style>",
        "</head>",
        "<body>",
        '<header><nav>Werkplaats Sociaal Domein Zuid-Limburg &middot; <a href="#">Kennisbank</a></nav></header>',
        "<main>",
        "<article>",
    ]
    for b in blocks:
        kind = b[0]
        if kind == "h":
            lvl = b[1]
            parts.append(f"<h{lvl}>{html_inline(b[2])}</h{lvl}>")
        elif kind == "p":
            parts.append(f"<p>{html_inline(b[1])}</p>")
        elif kind in ("ul", "ol"):
            parts.append(f"<{kind}>")
            parts.extend(f"  <li>{html_inline(i)}</li>" for i in b[1])
            parts.append(f"</{kind}>")
        elif kind == "quote":
            parts.append(f"<blockquote><p>{html_inline(b[1])}</p></blockquote>")
        elif kind == "table":
            rows = b[1]
            parts.append("<table>")
            parts.append("  <tr>" + "".join(f"<th>{html_inline(c)}</th>" for c in rows[0]) + "</tr>")
            for r in rows[1:]:
                parts.append("  <tr>" + "".join(f"<td>{html_inline(c)}</td>" for c in r) + "</tr>")
            parts.append("</table>")
    parts += [
        "</article>",
        "</main>",
        "<footer><p>Fictief demomateriaal voor Kennismakelaar &ndash; Werkplaats Sociaal Domein Zuid-Limburg.</p></footer>",
        "</body>",
        "</html>",
    ]
    dest.write_text("\n".join(parts) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- PDF
def build_pdf(meta: dict, blocks: list[tuple], dest: Path) -> None:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class Doc(FPDF):
        def header(self):
            if self.page_no() > 1:
                self.set_font("DejaVu", "", 8)
                self.set_text_color(120, 120, 120)
                self.cell(0, 6, "Werkplaats Sociaal Domein Zuid-Limburg", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                self.set_text_color(0, 0, 0)
                self.ln(2)

        def footer(self):
            self.set_y(-14)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(120, 120, 120)
            self.cell(0, 8, f"pagina {self.page_no()}/{{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = Doc(format="A4")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_font("DejaVu", "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
    pdf.add_font("DejaVu", "BI", str(FONT_DIR / "DejaVuSans-BoldOblique.ttf"))
    pdf.set_title(meta["title"])
    pdf.set_author(author_names(meta))
    pdf.set_subject("Werkplaats Sociaal Domein Zuid-Limburg")
    pdf.set_lang("nl-NL")
    pdf.set_creator("samples/build_samples.py (fpdf2)")
    pdf.alias_nb_pages()
    pdf.add_page()

    def md(text: str) -> str:
        # fpdf2 markdown: **bold**, __italic__
        return "".join(f"**{t}**" if k == "b" else f"__{t}__" if k == "i" else t for k, t in inline_runs(text))

    body_size = 10.5
    lh = 5.6
    w = pdf.w - pdf.l_margin - pdf.r_margin
    for b in blocks:
        kind = b[0]
        if kind == "h":
            lvl = b[1]
            size = {1: 20, 2: 14, 3: 12}[lvl]
            pdf.ln(4 if lvl > 1 else 0)
            if pdf.will_page_break(size * 1.6):
                pdf.add_page()
            pdf.set_font("DejaVu", "B", size)
            if lvl == 1:
                pdf.set_text_color(150, 30, 40)
            pdf.multi_cell(w, size * 0.5, plain(b[2]), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0, 0, 0)
            pdf.ln(2)
        elif kind == "p":
            pdf.set_font("DejaVu", "", body_size)
            pdf.multi_cell(w, lh, md(b[1]), markdown=True, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(2)
        elif kind in ("ul", "ol"):
            pdf.set_font("DejaVu", "", body_size)
            for n, item in enumerate(b[1], 1):
                bullet = "•" if kind == "ul" else f"{n}."
                x0 = pdf.l_margin
                pdf.set_x(x0 + 3)
                pdf.cell(6, lh, bullet)
                pdf.set_x(x0 + 10)
                pdf.multi_cell(w - 10, lh, md(item), markdown=True, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.ln(0.8)
            pdf.ln(1.5)
        elif kind == "quote":
            pdf.set_font("DejaVu", "I", body_size)
            pdf.set_text_color(70, 70, 70)
            pdf.set_x(pdf.l_margin + 8)
            pdf.multi_cell(w - 16, lh, plain(b[1]), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0, 0, 0)
            pdf.ln(2)
        elif kind == "table":
            pdf.set_font("DejaVu", "", 9)
            with pdf.table(text_align="LEFT", line_height=5, first_row_as_headings=True) as table:
                for row in b[1]:
                    r = table.row()
                    for c in row:
                        r.cell(plain(c))
            pdf.ln(3)
    pdf.output(str(dest))


# --------------------------------------------------------------------------- main
def main() -> int:
    builders = {"docx": build_docx, "pdf": build_pdf, "html": build_html}
    count = 0
    for src in sorted(BRONNEN.glob("*.bron")):
        meta, blocks = read_bron(src)
        fmt = meta["format"]
        name = f"{src.stem}.{fmt}"
        dest = OUT / name
        builders[fmt](meta, blocks, dest)
        side = OUT / f"{name}.yaml"
        with side.open("w", encoding="utf-8") as fh:
            fh.write("# Metadata (sidecar) bij " + name + "\n")
            yaml.safe_dump(sidecar_meta(meta), fh, allow_unicode=True, sort_keys=False, width=1000)
        count += 1
        print(f"  {name}")
    print(f"{count} documenten gegenereerd in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
