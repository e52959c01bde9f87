"""A removal's scrub of other people's profiles never undoes a coordinator's decision made in the same moment
(review of issue 22: the scrub used to write back the profile it had read, over a consent withdrawn since)."""

from __future__ import annotations

from core.store.revisions import revision
from service.coordinators import COMMAND_LINE
from service.profiles import remove_person, save_profile


def test_a_consent_withdrawn_while_a_removal_scrubs_that_profile_stays_withdrawn(km_factory):
    km = km_factory()
    save_profile(km, "yara-smit", name="Yara Smit", role="onderzoeker", expertise="Armoede en wonen.",
                 consent=True, new=True, actor=COMMAND_LINE)
    save_profile(km, "xander-bos", name="Xander Bos", role="professional", consent=True, new=True,
                 expertise="Werkte met Yara Smit aan schuldhulp voor jongeren.", actor=COMMAND_LINE)
    catalog = km.catalog()
    real = catalog.rewrite_profile
    raced: list[int] = []

    def withdraw_first(point):  # the coordinator saves between the scrub's read and its write
        if not raced:
            now = catalog.expert("xander-bos")
            save_profile(km, "xander-bos", name="Xander Bos", role="professional", expertise=now["expertise"],
                         consent=False, expected=revision(now), actor=COMMAND_LINE)
            raced.append(1)
        return real(point)

    catalog.rewrite_profile = withdraw_first  # type: ignore[method-assign]
    remove_person(km, "yara-smit", COMMAND_LINE)
    after = catalog.expert("xander-bos")
    assert raced and after["consent"] is False and after.get("visibility") != "public"
    assert "Yara" not in after["expertise"] and "[naam verwijderd]" in after["expertise"]


def test_a_request_moved_while_a_removal_scrubs_it_keeps_the_move(km_factory, monkeypatch):
    from core.store import ledger
    from service import contacts

    km = km_factory()
    save_profile(km, "yara-smit", name="Yara Smit", role="onderzoeker", expertise="Armoede en wonen.",
                 consent=True, new=True, actor=COMMAND_LINE)
    request = contacts.submit(km, name="Sara Bakker", email="sara@wijkteam.nl",
                              message="Ik sprak Yara Smit op de Werkplaatsdag, graag contact.")
    real = ledger.write_if_unchanged
    raced: list[int] = []

    def reject_first(store, collection, point, expected):  # a coordinator rejects it between read and write
        if point.payload.get("kind") == "contact" and not raced:
            raced.append(1)
            contacts.move(km, request.id, "afgewezen", actor=COMMAND_LINE)
        return real(store, collection, point, expected)

    monkeypatch.setattr(ledger, "write_if_unchanged", reject_first)
    remove_person(km, "yara-smit", COMMAND_LINE)
    after = contacts.get(km, request.id)
    assert raced and after.status == "afgewezen"
    assert "Yara" not in after.message
