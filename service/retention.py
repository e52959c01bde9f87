"""Retention in the running service: contact requests past ``KM_CONTACT_RETENTION_DAYS``, questions past
``KM_QUESTION_RETENTION_DAYS``, audit entries past ``KM_AUDIT_RETENTION_DAYS`` and old upload jobs go at start-up
and then every ``KM_RETENTION_SWEEP_MINUTES`` — a service that is never restarted keeps nothing longer than
promised.

Every worker sweeps on its own. That is safe and cheap: a sweep deletes only what has expired by then (two at
once delete the same ids, which is no harm), and costs one filtered read of the questions plus a read of the
request and job records, and an expiry of the audit log's entries in the engine. The engine deletes softly, so a
sweep that took requests (an asker's name and address), upload jobs (file names) or questions also rewrites those
collections' files, once for all it took; a sweep that took none rewrites nothing. All three expire by the day,
so that happens in the first sweep of a day, not in every one: the ledger's writes (rate limits, the audit log)
wait while it is rewritten.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ingestion.pipeline import TAKING_IN
from service import contacts, following
from service.container import Kennismakelaar
from service.erasure import erase_residue
from service.follows import FOLLOW
from service.jobs import JobRunner

log = logging.getLogger("kennismakelaar.retention")


def sweep(km: Kennismakelaar, jobs: JobRunner | None = None) -> dict[str, int]:
    """Delete what is past its retention now — contact requests and questions out of the store's files too, the
    audit log's entries (ids only) and upload jobs (through ``jobs``, or a runner made for the purpose); returns
    how many requests, jobs and questions went."""
    days = km.settings.matching
    runner = jobs if jobs is not None else JobRunner(km.settings.store.data_dir, km.ingestor)
    try:
        requests, old_jobs = contacts.expired(km, days.contact_retention_days), runner.expired()
        if requests or old_jobs:  # both live in the ledger: its files are rewritten once, for all of them
            with km.catalog().erasing("requests"):
                km.catalog().delete_contact_requests(requests)
                runner.forget(old_jobs)
    finally:
        if jobs is None:
            runner.close()
    gone = {"contacts": len(requests), "jobs": len(old_jobs),
            "questions": km.broker().questions.purge(days.question_retention_days)}
    km.audit().sweep()
    finish_interrupted(km)
    # followers: what expired goes, new knowledge is told (``service.following``; with no follow at all, one read)
    if next(iter(km.catalog().ledger.all(FOLLOW)), None) is not None:
        gone["followers"] = following.run(km)["expired"]
    return gone


def finish_interrupted(km: Kennismakelaar) -> int:
    """Ingests a crash cut off while someone was removed (``Ingestor.finish_interrupted``): at the start, and in
    every sweep for those another worker left. Costs one read of the ledger when there are none."""
    if next(iter(km.catalog().ledger.all(TAKING_IN)), None) is None:
        return 0
    return km.ingestor().finish_interrupted(lambda: erase_residue(km))


@asynccontextmanager
async def sweeping(km: Kennismakelaar, jobs: JobRunner) -> AsyncIterator[asyncio.Task[None]]:
    """Sweep in the background while the block runs; leaving it waits for a sweep under way (never cut off
    halfway, and never one running on while the store closes) and starts no other."""
    stop = asyncio.Event()
    task = asyncio.create_task(_keep_sweeping(km, jobs, stop), name="retention-sweep")
    try:
        yield task
    finally:
        stop.set()
        await task


async def _keep_sweeping(km: Kennismakelaar, jobs: JobRunner, stop: asyncio.Event) -> None:
    every = km.settings.matching.retention_sweep_minutes * 60
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        except TimeoutError:
            pass
        try:
            # the store's calls block: off the event loop, so requests are served meanwhile
            gone = await asyncio.to_thread(sweep, km, jobs)
        except Exception as exc:  # the next sweep tries again; a failed one must not end the sweeping
            log.warning("Opruimen na de bewaartermijn is mislukt (%s); over %g minuten opnieuw.",
                        type(exc).__name__, every / 60)
            log.debug("Opruimen mislukt", exc_info=True)
        else:
            if any(gone.values()):
                log.info("Bewaartermijn verstreken: %d contactverzoeken en %d vragen verwijderd.",
                         gone["contacts"], gone["questions"])
