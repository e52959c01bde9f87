"""The ``kennismakelaar`` command (GUIDE 4.4).

Human output goes to stdout as tables, progress to stderr; ``--json`` prints the contract's JSON.
Exit status: 0 all went well, 1 some files could not be ingested, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from core.errors import ConfigError, KennismakelaarError, ValidationError
from core.glossary import counted
from core.visibility import COORDINATORS
from service.coordinators import COMMAND_LINE
from service.settings import Settings, check_exposed_tokens, settings_table

EXIT_OK, EXIT_FAILED_FILES, EXIT_ERROR = 0, 1, 2
# The composition root, named for uvicorn (which imports it in every worker): the service never imports the pages.
APP_FACTORY = "web.app:create_app"


def build_parser() -> argparse.ArgumentParser:
    env_help = "\n".join(f"  {name:<22} {doc}" for name, _, doc in settings_table())
    parser = argparse.ArgumentParser(
        prog="kennismakelaar",
        description="Kennismakelaar: zoeken en verbinden in de kennis van de Werkplaats Sociaal Domein.",
        epilog="Instellingen (omgevingsvariabelen):\n" + env_help,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="documenten en expertprofielen opnemen")
    p.add_argument("paths", nargs="+", metavar="PATH", help="bestanden of mappen")
    p.add_argument("--prune", action="store_true", help="documenten verwijderen waarvan het bestand weg is")
    p.add_argument("--recreate", action="store_true", help="de opslag eerst leegmaken (nodig na een modelwissel)")
    p.add_argument("--restore-deleted", action="store_true",
                   help="documenten die een coördinator verwijderde toch weer opnemen")
    p.add_argument("--json", action="store_true", help="samenvatting als JSON")

    for name, what in (("search", "eerdere bevindingen zoeken"), ("experts", "mensen vinden die het weten")):
        p = sub.add_parser(name, help=what)
        p.add_argument("query", nargs="?", metavar="QUERY", help="de vraag")
        p.add_argument("--queries", type=Path, metavar="FILE", help="één vraag per regel; één JSON-regel per vraag")
        p.add_argument("--atelier", action="append", default=[], metavar="SLUG")
        if name == "search":
            p.add_argument("--theme", action="append", default=[], metavar="SLUG")
            p.add_argument("--kind", action="append", default=[], metavar="K")
            p.add_argument("--person", action="append", default=[], metavar="NAAM", help="expert-id of naam")
            p.add_argument("--from", dest="date_from", metavar="JJJJ-MM-DD", help="vanaf datum")
            p.add_argument("--to", dest="date_to", metavar="JJJJ-MM-DD", help="tot en met datum")
            p.add_argument("--knowledge", action="append", default=[], metavar="BRON",
                           help="kennisbron: onderzoek, praktijk of ervaring")
            p.add_argument("--evidence", action="append", default=[], metavar="NIVEAU",
                           help="niveau van bewijs van een interventie, bv. goed-onderbouwd of effectief")
        p.add_argument("--limit", type=int, default=10, metavar="N")
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("status", help="wat er in de opslag staat")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("tune", help="de vectoren opslaan zoals KM_VECTOR_QUANTIZATION en KM_VECTORS_ON_DISK nu "
                                    "zeggen (herschrijft de opslag: minuten bij een miljoen passages)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="back-up: wat alleen in de opslag staat naar een nieuwe map schrijven")
    p.add_argument("dir", type=Path, metavar="DIR", help="een nieuwe of lege map")
    p.add_argument("--json", action="store_true", help="samenvatting als JSON")

    p = sub.add_parser("import", help="een export terugzetten (na het opnieuw opnemen van de bestanden)")
    p.add_argument("dir", type=Path, metavar="DIR", help="de map van 'kennismakelaar export'")
    p.add_argument("--unsigned", action="store_true",
                   help="ook een export van vóór de ondertekening terugzetten (alle andere controles blijven)")
    p.add_argument("--json", action="store_true", help="samenvatting als JSON")

    p = sub.add_parser("coordinator", help="coördinatoren: toevoegen (met een persoonlijk token), tonen, verwijderen")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTIE")
    q = actions.add_parser("add", help="een coördinator toevoegen; het token wordt één keer getoond")
    q.add_argument("name", metavar="NAAM", help="de naam van de coördinator")
    q.add_argument("--json", action="store_true")
    q = actions.add_parser("list", help="de coördinatoren")
    q.add_argument("--removed", action="store_true", help="ook wie verwijderd is")
    q.add_argument("--json", action="store_true")
    q = actions.add_parser("remove", help="een coördinator verwijderen: token en sessies werken meteen niet meer")
    q.add_argument("coordinator_id", metavar="ID", help="het id uit 'coordinator list'")
    q.add_argument("--json", action="store_true")

    p = sub.add_parser("forget-asker", help="alle contactverzoeken van één e-mailadres verwijderen (op verzoek van "
                                            "de vrager)")
    p.add_argument("email", metavar="EMAIL", help="het e-mailadres van de vrager")
    p.add_argument("--withdraw-findings", action="store_true",
                   help="ook de openbare kennisvragen die van die verzoeken gemaakt zijn verwijderen")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("serve", help="de webdienst starten")
    p.add_argument("--host", default=None, help="standaard KM_HOST (127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="standaard KM_PORT (8000)")
    p.add_argument("--workers", type=int, default=None, help="standaard KM_WORKERS (1); >1 vraagt KM_QDRANT_URL")
    return parser


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    from service.container import Kennismakelaar, keep_private

    km = None
    try:
        settings = settings or Settings.from_env()
        keep_private(settings.store.data_dir)
        km = Kennismakelaar(settings)
        return _COMMANDS[args.command](km, args, out, err)
    except KennismakelaarError as exc:
        print(f"Fout: {exc.message}", file=err)
        if exc.hint:
            print(f"  {exc.hint}", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Afgebroken. Een nieuwe run maakt het werk af.", file=err)
        return 130
    finally:
        if km is not None:
            km.close()


# --- ingest -------------------------------------------------------------------------------------------


def _ingest(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from service import audit, retention

    if args.recreate:
        km.catalog(recreate=True)
    ingestor = km.ingestor()
    retention.finish_interrupted(km)  # an ingest a crash cut off while someone was removed (a CLI-only install)
    log = km.audit()

    def logged(outcome: Any) -> None:  # each document and person as it is committed
        log.record_all(COMMAND_LINE, audit.of_files([outcome]))

    console = Console(file=err)
    # the time left: a first ingest of the demo corpus takes minutes, and a new user should know how many
    with Progress(TextColumn("[bold]Opnemen"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("nog"), TimeRemainingColumn(), TextColumn("{task.description}"), console=console,
                  transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("", total=None)

        def progress(path: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=path[-50:])

        report = ingestor.run(args.paths, prune=args.prune, restore_deleted=args.restore_deleted, progress=progress,
                              committed=logged)
    changed = sum(1 for o in report.outcomes if o.status in ("added", "updated", "removed"))
    if changed:  # and one entry for the run, with how many files changed
        log.record(COMMAND_LINE, "bestanden-opgenomen", "bestanden", "", count=changed)
    if args.json:
        print(json.dumps({**report.summary(), "files": [o.__dict__ for o in report.outcomes]},
                         ensure_ascii=False), file=out)
    else:
        _print_report(report, out)
    return EXIT_OK if report.ok else EXIT_FAILED_FILES


def _print_report(report: Any, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=max(100, Console(file=out).width))
    problems = [o for o in report.outcomes if o.status in ("failed", "skipped") or o.warnings]
    if problems:
        table = Table(title="Meldingen", show_lines=False)
        table.add_column("Bestand", overflow="fold")
        table.add_column("Status")
        table.add_column("Reden", overflow="fold")
        for o in problems:
            reason = o.message if o.status in ("failed", "skipped") else "; ".join(o.warnings)
            label = {"failed": "[red]mislukt[/red]", "skipped": "overgeslagen"}.get(o.status, "waarschuwing")
            table.add_row(o.path, label, reason)
        console.print(table)
    s = report.summary()
    table = Table(title="Samenvatting")
    for col in ("nieuw", "bijgewerkt", "ongewijzigd", "overgeslagen", "conflicten", "verwijderd", "mislukt",
                "passages", "tijd"):
        table.add_column(col, justify="right")
    table.add_row(str(s["added"]), str(s["updated"]), str(s["unchanged"]), str(s["skipped"]), str(s["conflicts"]),
                  str(s["removed"]), str(s["failed"]), str(s["chunks_embedded"]), f"{s['seconds']:.1f} s")
    console.print(table)


# --- search and experts -------------------------------------------------------------------------------


def _queries(args: argparse.Namespace) -> list[tuple[int, str]]:
    """The questions with their line numbers: one from the command line, or every line of ``--queries`` (blank
    lines at the end of the file are no questions; a blank line between them is, and is reported)."""
    if args.queries is not None:
        if not args.json:
            raise ValidationError("--queries werkt alleen samen met --json.", field="json")
        try:
            lines = args.queries.read_text("utf-8").splitlines()
        except OSError as exc:
            raise ValidationError(f"{args.queries}: niet te lezen ({exc.strerror}).", field="queries") from exc
        except UnicodeDecodeError:
            raise ValidationError(f"{args.queries}: geen UTF-8-tekst.", field="queries") from None
        while lines and not lines[-1].strip():
            lines.pop()
        return list(enumerate(lines, start=1))
    if not args.query or not args.query.strip():
        raise ValidationError("Geef een vraag, of --queries FILE.", field="query")
    return [(0, args.query.strip())]


def _answer_each(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO, key: str,
                 answer: Callable[[str], tuple[list[Any], dict[str, Any]]],
                 show: Callable[[str, list[Any], dict[str, Any], TextIO], None]) -> int:
    """Answer every question; in a batch, a bad line (empty, nothing to search on) is reported with its number —
    a JSON line with ``error`` in its place, and on stderr — while the rest is answered, and a long question is
    cut to what the model reads instead of refused. Exit 1 when a line was bad."""
    broker = km.broker(COORDINATORS)  # the operator, who holds the store itself
    batch = args.queries is not None
    bad = 0
    for number, text in _queries(args):
        try:
            query = broker.fit(text) if batch else text
            found, extra = answer(query)
        except ValidationError as exc:
            if not batch:
                raise
            bad += 1
            print(json.dumps({"query": text, "line": number, key: [], "error": {"code": exc.code,
                              "message": exc.message}}, ensure_ascii=False), file=out)
            print(f"{args.queries}, regel {number}: {exc.message}", file=err)
            continue
        if args.json:
            print(json.dumps({"query": query, key: [r.to_json() for r in found], **extra}, ensure_ascii=False),
                  file=out)
        else:
            show(query, found, extra, out)
    return EXIT_FAILED_FILES if bad else EXIT_OK


def _search(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from matching.filters import SearchFilters, parse_date

    filters = SearchFilters(ateliers=tuple(_slugs(km, args.atelier, "atelier")),
                            themes=tuple(_slugs(km, args.theme, "theme")), kinds=tuple(args.kind),
                            people=tuple(args.person), date_from=parse_date(args.date_from, "from"),
                            date_to=parse_date(args.date_to, "to"),
                            knowledge=tuple(_slugs(km, args.knowledge, "knowledge")),
                            evidence=tuple(_slugs(km, args.evidence, "evidence")))
    broker = km.broker(COORDINATORS)  # the operator, who holds the store itself

    def answer(query: str) -> tuple[list[Any], dict[str, Any]]:
        page = broker.search(query, filters, limit=args.limit)
        return page.results, {"facets": page.facets}  # counts among what was found, as the API gives them

    return _answer_each(km, args, out, err, "results", answer, _print_findings)


def _experts(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ateliers = _slugs(km, args.atelier, "atelier")
    broker = km.broker(COORDINATORS)  # the operator, who holds the store itself

    def answer(query: str) -> tuple[list[Any], dict[str, Any]]:
        results, hidden = broker.experts(query, atelier=ateliers[0] if ateliers else None, limit=args.limit)
        return results, {"hidden": hidden}

    return _answer_each(km, args, out, err, "experts", answer, _print_experts)


def _slugs(km: Any, values: list[str], kind: str) -> list[str]:
    """Slugs of an atelier, theme, knowledge source or evidence level as the user typed them (the API's rule)."""
    from service.validation import check_slugs

    return list(check_slugs(km, values, kind, kind))


def _print_findings(query: str, results: list[Any], extra: dict[str, Any], out: TextIO) -> None:
    from rich.console import Console

    console = Console(file=out, highlight=False)
    console.print(f"[bold]{query}[/bold] — {len(results)} documenten")
    facets = extra.get("facets", {})
    for key, label in (("knowledge", "soort kennis"), ("evidence", "niveau van bewijs")):
        if facets.get(key):
            console.print(f"[dim]{label}: " + ", ".join(f"{k} {n}" for k, n in sorted(facets[key].items())) + "[/dim]")
    for i, r in enumerate(results, 1):
        where = r.source + (f", p. {r.page}" if r.page else "")
        rated = f" · {r.evidence}" if r.evidence else ""
        console.print(f"\n{i}. [bold]{r.title}[/bold]  ({r.score:.3f})  [dim]{r.kind}{rated} · "
                      f"{', '.join(r.ateliers)} · {'/'.join(r.knowledge)} · {where}[/dim]")
        console.print("   " + _clip(r.snippet, 300))


def _print_experts(query: str, results: list[Any], extra: dict[str, Any], out: TextIO) -> None:
    from rich.console import Console

    console = Console(file=out, highlight=False)
    console.print(f"[bold]{query}[/bold] — {len(results)} mensen")
    for i, e in enumerate(results, 1):
        console.print(f"\n{i}. [bold]{e.name}[/bold] ({e.score:.3f}) — {e.role}, {e.organization}")
        for reason in e.reasons[:3]:
            console.print(f"   · {reason.title}: {_clip(reason.snippet, 160)}")


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


# --- status and serve ---------------------------------------------------------------------------------


def _status(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    catalog = km.catalog()
    info = {**catalog.counts(), "model": km.embedder.identity, "store": km.store.description,
            "built_with": catalog.built_with().get("model"), "default_visibility": km.default_visibility,
            "visibility": catalog.visibility_counts()}
    if args.json:
        print(json.dumps(info, ensure_ascii=False), file=out)
    else:
        for key, value in info.items():
            print(f"{key:>12}: {value}", file=out)
    return EXIT_OK


def _tune(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    km.catalog()  # opens every collection
    started = time.perf_counter()
    changed = km.store.retune()
    took = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps({"changed": changed, "seconds": took}), file=out)
    elif changed:
        print(f"Omgezet in {took} s: {', '.join(changed)}.", file=out)
    else:
        print("De vectoren staan al zoals de instellingen zeggen.", file=out)
    return EXIT_OK


def _serve(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import uvicorn

    settings = km.settings
    host = args.host or settings.service.host
    port = args.port or settings.service.port
    workers = args.workers or settings.service.workers
    if workers > 1 and not settings.store.qdrant_url:
        raise ConfigError("Meerdere workers kunnen niet samen één ingebedde opslag openen.",
                          hint="Gebruik --workers 1, of zet KM_QDRANT_URL voor een Qdrant-server.")
    if workers > 1 and not settings.service.secret_key:
        raise ConfigError("Meerdere workers hebben één gedeelde geheime sleutel nodig (sessies, CSRF, de markeringen "
                          "van verwijderde personen).",
                          hint="Zet KM_SECRET_KEY op een lange willekeurige waarde, dezelfde voor elke worker.")
    check_exposed_tokens(host, settings.service.tokens)
    _ = km.embedder  # a model this install cannot serve is named here, with its hint, not in uvicorn's traceback
    km.close()  # the service opens model and store itself, in its lifespan
    print(f"Kennismakelaar luistert op http://{host}:{port} (API-documentatie: http://{host}:{port}/schema; "
          f"opslag: {settings.store.qdrant_url or settings.store.data_dir.resolve()})", file=out, flush=True)
    # the access log of uvicorn would print query strings (questions): ours logs paths only
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="info", proxy_headers=True)
    return EXIT_OK


# --- export and import (service.backup) -----------------------------------------------------------------


def _export(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service.backup import export_store

    summary = export_store(km, args.dir)
    km.audit().record(COMMAND_LINE, "export", "back-up", str(args.dir.name), count=sum(summary["exported"].values()))
    _print_backup(summary, "exported", args.json, out)
    return EXIT_OK


def _import(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service.backup import import_store

    summary = import_store(km, args.dir, unsigned=args.unsigned)
    if summary["unsigned"]:
        print("Let op: deze export was niet ondertekend; je hebt hem op je eigen gezag teruggezet (--unsigned).",
              file=err)
    km.audit().record(COMMAND_LINE, "import", "back-up", str(args.dir.name), count=sum(summary["imported"].values()))
    _print_backup(summary, "imported", args.json, out)
    return EXIT_OK


# --- contact requests (service.contacts) ----------------------------------------------------------------


def _forget_asker(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service import contacts

    gone = contacts.forget_asker(km, args.email, actor=COMMAND_LINE, withdraw_findings=args.withdraw_findings)
    if args.json:
        print(json.dumps(gone), file=out)
    else:
        n, m = gone["requests"], gone["findings"]
        print(f"{counted(n, 'contactverzoek')} van dit adres verwijderd"
              + (f", {counted(m, 'kennisvraag')} ingetrokken" if args.withdraw_findings else "")
              + ".", file=out)
    return EXIT_OK


# --- coordinators (service.coordinators) ----------------------------------------------------------------


def _coordinator(km: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service import coordinator_admin

    if args.action == "add":
        actor, token = coordinator_admin.add(km, args.name, COMMAND_LINE)
        if args.json:
            print(json.dumps({"id": actor.id, "name": actor.name, "token": token}, ensure_ascii=False), file=out)
        else:
            print(f"Coördinator {actor.name} ({actor.id}) toegevoegd. Het persoonlijke token — het wordt niet nog "
                  f"eens getoond, bewaar het in een wachtwoordmanager:\n\n  {token}\n", file=out)
        return EXIT_OK
    if args.action == "remove":
        actor = coordinator_admin.remove(km, args.coordinator_id, COMMAND_LINE)
        if args.json:
            print(json.dumps({"id": actor.id, "removed": True}), file=out)
        else:
            print(f"Coördinator {actor.name} ({actor.id}) verwijderd: het token en alle sessies werken niet meer.",
                  file=out)
        return EXIT_OK
    people = coordinator_admin.listing(km, removed=args.removed)
    if args.json:
        print(json.dumps(people, ensure_ascii=False), file=out)
        return EXIT_OK
    if not people:
        print("Nog geen coördinatoren met een persoonlijk token (kennismakelaar coordinator add NAAM).", file=out)
    for c in people:
        when = dt.datetime.fromtimestamp(c["created_at"]).strftime("%Y-%m-%d")
        gone = f", verwijderd {dt.datetime.fromtimestamp(c['removed_at']).strftime('%Y-%m-%d')}" \
            if c.get("removed_at") else ""
        print(f"  {c['id']:<30} {c['name']} (sinds {when}{gone})", file=out)
    if km.settings.service.tokens:
        print("Let op: KM_COORDINATOR_TOKENS (gedeelde sleutel) is ook gezet; wie die gebruikt, staat in het "
              "logboek niet bij naam.", file=out)
    return EXIT_OK


_PURGED = {"contacts": "contactverzoeken", "jobs": "uploadtaken", "questions": "vragen"}


def _print_backup(summary: dict[str, Any], key: str, as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps({k: v for k, v in summary.items() if k != "labels"}, ensure_ascii=False), file=out)
        return
    print(f"{'Geëxporteerd naar' if key == 'exported' else 'Teruggezet uit'} {summary['dir']} "
          f"(model {summary['model']}, export van {summary['exported_at']}):", file=out)
    for name, n in summary[key].items():
        print(f"  {n:>7}  {summary['labels'].get(name, name)}", file=out)
    print(f"  {sum(summary[key].values()):>7}  totaal", file=out)
    if key == "imported":
        scrubbed = sum(summary["scrubbed"].values())
        print(f"Opnieuw toegepast: {summary['documents_deleted']} verwijderde documenten, "
              f"{summary['profiles_deleted']} profielen van verwijderde personen, {scrubbed} plaatsen opgeschoond"
              + ("; profielen en vragen opnieuw ingebed (ander model)" if summary["reembedded"] else "") + ".",
              file=out)
        for field, why in (("dropped", "Niet teruggezet (na de export verwijderd of bewust teruggehaald)"),
                           ("kept_newer", "Gehouden zoals ze nu zijn (hier nieuwer dan in de export)")):
            left = summary.get(field) or {}  # a decision made after the export: the import does not undo it
            if sum(left.values()):
                print(f"{why}: " + ", ".join(
                    f"{n} {summary['labels'].get(name, name)}" for name, n in left.items() if n) + ".", file=out)
    purged = summary.get("purged") or {}
    if sum(purged.values()):
        print("Verlopen (bewaartermijn) en verwijderd: " + ", ".join(
            f"{n} {_PURGED.get(name, name)}" for name, n in purged.items() if n) + ".", file=out)


_COMMANDS = {"ingest": _ingest, "search": _search, "experts": _experts, "status": _status, "serve": _serve,
             "tune": _tune, "export": _export, "import": _import, "coordinator": _coordinator,
             "forget-asker": _forget_asker}


if __name__ == "__main__":
    sys.exit(main())
