"""Every change to a membership is in the audit log (issue 24): the one a member makes themselves — someone at a
domain of ``KM_MEMBER_DOMAINS`` who becomes a member at their first sign-in — as well as a coordinator's adding,
moving, handing out a link and removing. Each entry names the member by id, never by address, and says who did it.

No model and no documents: the ledger is all these need (``HashEmbedder``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service import membership
from service.audit import AUDIT
from service.container import Kennismakelaar
from service.coordinators import JOINED
from tests.conftest import HashEmbedder, log_in, make_settings
from web.app import create_app

JEUGD = "kansrijk-met-jeugd"
ADDRESS = "sam.de.vries@hogeschool.example"


@pytest.fixture
def km(tmp_path: Path) -> Iterator[Kennismakelaar]:
    made = Kennismakelaar(make_settings(tmp_path / "data", KM_MEMBER_DOMAINS=f"hogeschool.example:{JEUGD}",
                                        KM_REQUESTS_PER_MINUTE="10000"), embedder=HashEmbedder())
    yield made
    made.close()


def _logged(km: Kennismakelaar) -> list[tuple[str, str, str, str]]:
    """The log, newest first: (action, who, kind of target, target)."""
    return [(e.action, e.coordinator, e.target_type, e.target) for e in km.audit().entries()]


def _raw_log(km: Kennismakelaar) -> str:
    """Everything the log holds in the store, as text (what an export or a look at the files would show)."""
    return repr(list(km.catalog().ledger.all(AUDIT)))


def test_a_domain_join_is_logged_once_as_the_members_own_without_their_address(km):
    assert km.audit().entries() == []
    session = membership.sign_in(km, km.members().link(ADDRESS.upper()))
    assert session and km.members().session(session) is not None
    (sam,) = km.members().all()
    assert (sam.email, sam.via, sam.ateliers) == (ADDRESS, "domain", (JEUGD,))
    assert _logged(km) == [("lid-toegevoegd", JOINED.id, "lid", sam.id)]
    for part in (ADDRESS, "sam.de.vries", "hogeschool"):
        assert part not in _raw_log(km)
    # signing in again (a member now) changes nothing, so it logs nothing; nor does a link that no longer works
    token = km.members().link(ADDRESS)
    assert membership.sign_in(km, token) and membership.sign_in(km, token) is None
    assert len(_logged(km)) == 1


def test_a_domain_join_on_the_sign_in_page_is_logged(km):
    token = km.members().link(ADDRESS)
    with TestClient(create_app(km=km)) as client:
        assert client.get(f"/inloggen/{token}").status_code == 200  # the button first
        used = client.post(f"/inloggen/{token}", data={"_csrf_token": client.cookies.get("km_csrf", "")},
                           follow_redirects=False)
        assert used.status_code == 303 and client.cookies.get("km_lid")
    (sam,) = km.members().all()
    assert _logged(km) == [("lid-toegevoegd", JOINED.id, "lid", sam.id)]


def test_a_coordinators_adding_moving_link_and_removal_on_the_pages_are_each_logged_as_theirs(km):
    """The API's are in ``test_members``, by the shared key; these by a coordinator of their own, on the pages."""
    carla, token = km.coordinators().add("Carla Coördinator")
    with TestClient(create_app(km=km)) as client:
        csrf = log_in(client, token)
        added = client.post("/coordinatie/leden", data={"email": "Lotte@Wijkteam.example", "name": "Lotte",
                                                        "ateliers": [JEUGD], "_csrf_token": csrf})
        assert added.status_code == 201, added.text  # added, and a link handed out with it
        (lotte,) = km.members().all()
        assert client.post(f"/coordinatie/leden/{lotte.id}/ateliers", data={"_csrf_token": csrf},
                           follow_redirects=False).status_code == 303
        assert km.members().get(lotte.id).ateliers == ()
        assert client.post(f"/coordinatie/leden/{lotte.id}/link", data={"_csrf_token": csrf}).status_code == 200
        assert client.post(f"/coordinatie/leden/{lotte.id}/verwijderen", data={"_csrf_token": csrf, "bevestigd": "ja"},
                           follow_redirects=False).status_code == 303
    assert km.members().all() == []
    assert [entry for entry in _logged(km) if entry[2] == "lid"] == [(action, carla.id, "lid", lotte.id) for action in
                           ("lid-verwijderd", "lid-inloglink", "lid-verplaatst", "lid-inloglink", "lid-toegevoegd")]
    assert "lotte@wijkteam.example" not in _raw_log(km)
