"""The coordinator's overview (issue 10, outcome 6): counts per period and atelier from the real store and the real
model, the same numbers as JSON, CSV and a page, for coordinators only, and never a person's name."""

import csv
import datetime as dt
import io

import numpy as np
import pytest

from core.errors import ValidationError
from service import contacts
from service import overview as ov
from service.coordinators import COMMAND_LINE
from tests.conftest import log_in

JEUGD, ARMOEDE, VEERKRACHT = "kansrijk-met-jeugd", "tweedeling-en-armoede", "veerkracht-in-gemeenschappen"
ASKER = "Sara Bakker"
LONG = {"KM_QUESTION_RETENTION_DAYS": "36500", "KM_CONTACT_RETENTION_DAYS": "36500"}  # fixed dates stay


# --- the counting itself, over plain records -------------------------------------------------------------------


def _q(qid, day, *, atelier=JEUGD, best=0.5, helpful=0, unhelpful=0, vector=(1.0, 0.0), **kw):
    return {"question_id": qid, "text": f"vraag {qid}", "asked_at": f"{day}T12:00:00+00:00", "atelier": atelier,
            "best_score": best, "helpful": helpful, "unhelpful": unhelpful, "_vector": np.array(vector), **kw}


def test_questions_are_counted_well_or_poorly_per_quarter_with_the_gaps_filled():
    questions = [_q("a", "2026-03-31", best=0.9),  # close passage, no marks: well
                 _q("b", "2026-03-01", best=0.9, unhelpful=1),  # close passage but marked unhelpful: poorly
                 _q("c", "2026-02-01", best=0.2, helpful=2, unhelpful=1),  # far passage, marked helpful: well
                 _q("d", "2026-04-01", best=0.2, closed_by="contact:x"),  # answered through a contact request
                 _q("e", "2026-10-01", best=0.84, helpful=1, unhelpful=1)]  # a tie in marks and below: poorly
    o = ov.aggregate(questions, [], [], period="kwartaal", threshold=0.85, similarity=0.99)
    assert [(b.period, b.questions, b.answered_well, b.answered_poorly) for b in o.buckets] == [
        ("2026-Q1", 3, 2, 1), ("2026-Q2", 1, 1, 0), ("2026-Q3", 0, 0, 0), ("2026-Q4", 1, 0, 1)]
    assert (o.total.questions, o.total.answered_well, o.total.answered_poorly) == (5, 3, 2)
    years = ov.aggregate([*questions, _q("f", "2027-01-01")], [], [], period="jaar", threshold=0.85, similarity=0.99)
    assert [(b.period, b.questions) for b in years.buckets] == [("2026", 5), ("2027", 1)]


def test_requests_count_by_creation_with_their_outcome_and_the_median_time_to_connection():
    def req(created, status, *, connected=None, answered=False, atelier=JEUGD):
        r = {"created_at": f"{created}+00:00", "status": status, "atelier": atelier, "answered": answered}
        return r | ({"verbonden_at": f"{connected}+00:00"} if connected else {})

    requests = [req("2026-03-01T09:00:00", "afgerond", connected="2026-03-02T09:00:00", answered=True),
                req("2026-03-05T09:00:00", "verbonden", connected="2026-03-09T09:00:00"),
                req("2026-03-06T09:00:00", "verbonden", connected="2026-03-16T09:00:00"),
                req("2026-03-07T09:00:00", "afgewezen"),
                req("2026-05-31T23:59:00", "nieuw", atelier=None)]
    o = ov.aggregate([], requests, [], period="maand", threshold=0.85, similarity=0.9)
    march, april, may = o.buckets
    assert (march.period, march.contact_requests, march.connected, march.answered_by_contact) == ("2026-03", 4, 3, 1)
    assert march.by_status == {"nieuw": 0, "doorgestuurd": 0, "verbonden": 2, "afgewezen": 1, "afgerond": 1}
    assert march.median_days_to_connection == 4.0  # of 1, 4 and 10 days
    assert (april.contact_requests, april.median_days_to_connection) == (0, None)
    assert (may.period, may.by_status["nieuw"]) == ("2026-05", 1)
    only = ov.aggregate([], requests, [], threshold=0.85, similarity=0.9, atelier=JEUGD, until="2026-03-05")
    assert (only.total.contact_requests, only.total.median_days_to_connection) == (2, 2.5)  # until is inclusive


def test_meetings_count_when_held_in_any_of_their_ateliers():
    meetings = [{"date": "2026-04-20", "status": "gehouden", "ateliers": [JEUGD, VEERKRACHT]},
                {"date": "2026-04-21", "status": "gepland", "ateliers": [JEUGD]},
                {"date": "2026-06-01", "status": "gehouden", "ateliers": [ARMOEDE]}]
    everything = ov.aggregate([], [], meetings, threshold=0.85, similarity=0.9)
    assert [(b.period, b.meetings_held) for b in everything.buckets] == [("2026-04", 1), ("2026-05", 0),
                                                                          ("2026-06", 1)]
    veerkracht = ov.aggregate([], [], meetings, threshold=0.85, similarity=0.9, atelier=VEERKRACHT)
    assert veerkracht.total.meetings_held == 1
    assert ov.aggregate([], [], meetings, threshold=0.85, similarity=0.9, since="2026-04-21").total.meetings_held == 1


def test_recurring_themes_are_the_largest_clusters_of_two_or_more():
    def around(angle):
        return (np.cos(angle), np.sin(angle))

    questions = [_q(f"a{i}", f"2026-0{i + 1}-01", vector=around(0.0 + i * 0.01)) for i in range(3)]
    questions += [_q(f"b{i}", f"2026-0{i + 1}-02", vector=around(1.0 + i * 0.01)) for i in range(2)]
    questions += [_q("c", "2026-01-03", vector=around(2.0))]  # alone: not a theme
    questions += [_q(f"d{i}", "2026-05-05", vector=around(3.0 + i * 0.01)) for i in range(2)]  # newer than b
    themes = ov.aggregate(questions, [], [], threshold=0.85, similarity=0.99).themes
    assert [(t.size, t.first_asked[:10]) for t in themes] == [(3, "2026-01-01"), (2, "2026-05-05"),
                                                              (2, "2026-01-02")]
    assert themes[0].representative == "vraag a1"  # the one nearest the centre
    assert themes[0].periods == {"2026-01": 1, "2026-02": 1, "2026-03": 1}
    many = [_q(f"{g}-{i}", "2026-01-01", vector=around(g * 0.5 + i * 0.01)) for g in range(7) for i in range(2)]
    assert len(ov.aggregate(many, [], [], threshold=0.85, similarity=0.99).themes) == ov.THEMES == 5


@pytest.mark.parametrize("bad", ["week", "maanden", "1"])
def test_an_unknown_period_is_refused_naming_the_field(bad):
    with pytest.raises(ValidationError) as err:
        ov.check_period(bad)
    assert err.value.field == "period"


# --- from the real store, the real model and the real app ------------------------------------------------------


@pytest.fixture
def filled(km_factory):
    """Six questions (three asked now through ``ask``), four contact requests, three meetings."""
    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token", **LONG)
    broker = km.broker()
    log, embed = broker.questions, km.embedder.embed_query

    def past(text, day, atelier, best):
        return log.record(text, embed(text), atelier=atelier, atelier_inferred=False, best_score=best,
                          asked_at=dt.datetime.fromisoformat(f"{day}T10:00:00+00:00"))

    past("Welke rol speelt de school bij armoede in het gezin?", "2026-01-15", ARMOEDE, 0.9)  # well
    past("Hoe bereik je jongeren met schulden?", "2026-02-10", JEUGD, 0.5)  # poorly
    buurt = past("Hoe organiseer je een buurtnetwerk van vrijwilligers?", "2026-04-02", VEERKRACHT, 0.5)
    km.catalog().close_questions([buurt], "meeting:m1")  # answered in a meeting: well
    q1 = broker.ask("Hoe bereik je jongeren met schulden?", atelier=JEUGD)
    q2 = broker.ask("Hoe bereik je jongeren met schulden en schaamte?", atelier=JEUGD)
    q3 = broker.ask("Wat werkt tegen eenzaamheid van ouderen in de wijk?", atelier=VEERKRACHT)
    assert all(log.get(q.question_id)["best_score"] < km.settings.matching.answer_threshold for q in (q1, q2, q3))
    log.feedback(q1.question_id, item_type="answer", item_id=q1.question_id, helpful=True)  # well
    log.feedback(q3.question_id, item_type="answer", item_id=q3.question_id, helpful=False)  # poorly

    def request(created, path=(), connected=None, **kw):
        made = contacts.submit(km, name=ASKER, email="sara@wijkteam.nl", message="Graag contact.", **kw)
        for status in path:
            if status == "afgerond":  # closing takes an outcome (answered: True is set below, no finding needed)
                contacts.close(km, made.id, outcome="", answered=False, actor=COMMAND_LINE)
            else:
                contacts.move(km, made.id, status, actor=COMMAND_LINE)
        changes = {"created_at": f"{created}+00:00"} if created else {}
        if connected:
            changes["verbonden_at"] = f"{connected}+00:00"
        if "afgerond" in path:
            changes["answered"] = True
        if changes:
            km.catalog().update_contact_request(made.id, changes)
        return made

    request("2026-03-01T09:00:00", ("doorgestuurd", "verbonden", "afgerond"), "2026-03-03T09:00:00",
            question_id=q1.question_id)
    request("2026-03-10T00:00:00", ("doorgestuurd", "verbonden"), "2026-03-14T00:00:00", question_id=q1.question_id)
    request("2026-05-20T12:00:00", ("afgewezen",))
    request(None)  # today, still new
    catalog = km.catalog()
    catalog.add_meeting("m1", {"id": "m1", "title": "Buurtnetwerken", "date": "2026-04-20", "status": "gehouden",
                               "ateliers": [JEUGD, VEERKRACHT], "step": "expertmeeting", "panel": [],
                               "question_ids": [buurt], "report_id": None, "created_at": "2026-04-01T09:00:00+00:00"})
    catalog.add_meeting("m2", {"id": "m2", "title": "Later", "date": "2026-12-01", "status": "gepland",
                               "ateliers": [JEUGD], "step": "uitwisseling", "panel": [], "question_ids": [],
                               "report_id": None, "created_at": "2026-04-01T09:00:00+00:00"})
    catalog.add_meeting("m3", {"id": "m3", "title": "Armoede", "date": "2026-05-02", "status": "gehouden",
                               "ateliers": [ARMOEDE], "step": "uitwisseling", "panel": [], "question_ids": [],
                               "report_id": None, "created_at": "2026-04-01T09:00:00+00:00"})
    now = log.get(q1.question_id)["asked_at"]
    return km, ov.bucket_of(now, "maand"), ov.bucket_of(now, "kwartaal")


def _row(b):
    return (b.questions, b.answered_well, b.answered_poorly, b.contact_requests, b.connected, b.answered_by_contact,
            b.median_days_to_connection, b.meetings_held)


def test_the_overview_of_the_store_per_month_and_quarter(filled):
    km, month, quarter = filled
    assert month > "2026-05"  # today's questions and request fall after the dated ones
    monthly = ov.overview(km)
    rows = {b.period: _row(b) for b in monthly.buckets}
    assert rows.pop("2026-01") == (1, 1, 0, 0, 0, 0, None, 0)
    assert rows.pop("2026-02") == (1, 0, 1, 0, 0, 0, None, 0)
    assert rows.pop("2026-03") == (0, 0, 0, 2, 2, 1, 3.0, 0)
    assert rows.pop("2026-04") == (1, 1, 0, 0, 0, 0, None, 1)
    assert rows.pop("2026-05") == (0, 0, 0, 1, 0, 0, None, 1)
    assert rows.pop(month) == (3, 1, 2, 1, 0, 0, None, 0)
    assert set(rows.values()) <= {(0, 0, 0, 0, 0, 0, None, 0)}  # the months between: empty, but on the axis
    assert _row(monthly.total) == (6, 3, 3, 4, 2, 1, 3.0, 2)
    assert monthly.total.by_status == {"nieuw": 1, "doorgestuurd": 0, "verbonden": 1, "afgewezen": 1, "afgerond": 1}
    quarters = {b.period: _row(b) for b in ov.overview(km, period="kwartaal").buckets}
    assert quarters["2026-Q1"] == (2, 1, 1, 2, 2, 1, 3.0, 0)
    assert quarters["2026-Q2"] == (1, 1, 0, 1, 0, 0, None, 2)
    assert quarters[quarter][:4] == (3, 1, 2, 1)
    # the same question asked in February and today, by the real model: the largest recurring theme
    top = monthly.themes[0]
    assert top.size >= 2 and "jongeren met schulden" in top.representative
    assert top.periods["2026-02"] == 1 and top.periods[month] >= 1
    assert all(t.size >= 2 for t in monthly.themes)


def test_one_atelier_and_a_date_range(filled):
    km, _month, _quarter = filled
    jeugd = ov.overview(km, atelier=JEUGD)
    # questions p2, q1, q2; the two requests about q1; meeting m1 (two ateliers)
    assert _row(jeugd.total) == (3, 1, 2, 2, 2, 1, 3.0, 1)
    assert ov.overview(km, atelier="Kansrijk met jeugd").total.questions == 3  # the name works too
    spring = ov.overview(km, since="2026-03-01", until="2026-04-30", period="jaar")
    assert [(b.period, *_row(b)) for b in spring.buckets] == [("2026", 1, 1, 0, 2, 2, 1, 3.0, 1)]
    for kw, field in [({"period": "week"}, "period"), ({"atelier": "nergens"}, "atelier"),
                      ({"since": "1-3-2026"}, "since"), ({"since": "2026-05-01", "until": "2026-04-01"}, "until")]:
        with pytest.raises(ValidationError) as err:
            ov.overview(km, **kw)
        assert err.value.field == field


def test_the_api_gives_json_and_csv_to_coordinators_only(filled):
    from litestar.testing import TestClient

    from web.app import create_app

    km, month, _quarter = filled
    coord = {"Authorization": "Bearer geheim-token"}
    with TestClient(create_app(km=km)) as c:
        assert c.get("/api/overview").status_code == 401
        assert c.get("/api/overview.csv").status_code == 401
        assert c.get("/api/overview", headers={"Authorization": "Bearer fout"}).status_code == 403
        r = c.get("/api/overview", params={"period": "kwartaal", "atelier": JEUGD}, headers=coord)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["period"], body["atelier"]) == ("kwartaal", JEUGD)
        assert body["total"]["questions"] == 3 and body["total"]["median_days_to_connection"] == 3.0
        assert body["buckets"][0] == {
            "period": "2026-Q1", "questions": 1, "answered_well": 0, "answered_poorly": 1, "contact_requests": 2,
            "by_status": {"nieuw": 0, "doorgestuurd": 0, "verbonden": 1, "afgewezen": 0, "afgerond": 1},
            "answered_by_contact": 1, "connected": 2, "median_days_to_connection": 3.0, "meetings_held": 0,
            "followers_reached": 0}
        assert body["themes"] and "jongeren met schulden" in body["themes"][0]["representative"]
        bad = c.get("/api/overview", params={"period": "week"}, headers=coord)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "period"
        assert c.get("/api/overview", params={"since": "gisteren"}, headers=coord).json()["error"]["field"] == "since"
        sheet = c.get("/api/overview.csv", params={"period": "maand"}, headers=coord)
        assert sheet.status_code == 200 and sheet.headers["content-type"] == "text/csv; charset=utf-8"
        assert 'filename="overzicht-maand.csv"' in sheet.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(sheet.text)))
        assert rows[0][:5] == ["periode", "vragen", "goed beantwoord", "onvoldoende beantwoord", "contactverzoeken"]
        by_period = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
        assert by_period["2026-03"]["contactverzoeken"] == "2"
        assert by_period["2026-03"]["mediaan dagen tot verbinding"] == "3.0"
        assert by_period["2026-03"]["status afgerond"] == "1"
        assert by_period["2026-04"]["bijeenkomsten gehouden"] == "1"
        assert by_period[month]["vragen"] == "3" and by_period[month]["goed beantwoord"] == "1"
        months = ["2026-01"]
        while months[-1] < month:
            months.append(ov.following(months[-1], "maand"))
        assert list(by_period) == months  # one row per month, in order, none left out
        assert ASKER not in r.text and ASKER not in sheet.text  # counts only: no one's name


def test_the_page_shows_tables_charts_and_themes_after_login(filled):
    from litestar.testing import TestClient

    from web.app import create_app

    km, month, _quarter = filled
    with TestClient(create_app(km=km)) as c:
        assert c.get("/coordinatie/overzicht", follow_redirects=False).status_code in (302, 303)  # log in first
        assert c.get("/coordinatie/overzicht.csv", follow_redirects=False).status_code in (302, 303)
        log_in(c)
        page = c.get("/coordinatie/overzicht")
        assert page.status_code == 200, page.text
        text = page.text
        assert text.count("<svg") == 3 and text.count("<title id=") == 3 and text.count("<desc id=") == 3
        assert 'href="/coordinatie/overzicht.csv?period=maand"' in text and "Download CSV" in text
        assert '<th scope="row">2026-03</th>' in text and f'<th scope="row">{month}</th>' in text
        assert "1 verbonden, 1 afgerond" in text  # March's requests by their status now
        assert "jongeren met schulden" in text and ASKER not in text
        for name in ("period", "atelier", "since", "until"):
            assert f'<label for="{name}">' in text and f'id="{name}" name="{name}"' in text
        one = c.get("/coordinatie/overzicht", params={"atelier": JEUGD, "period": "jaar"})
        assert one.status_code == 200 and f"atelier={JEUGD}" in one.text
        assert "3 vragen gesteld, waarvan 1 goed" in one.text and '<th scope="row">2026</th>' in one.text
        wrong = c.get("/coordinatie/overzicht", params={"period": "week"})
        assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text and "Onbekende periode" in wrong.text
        sheet = c.get("/coordinatie/overzicht.csv", params={"atelier": JEUGD})
        assert sheet.status_code == 200 and sheet.headers["content-type"] == "text/csv; charset=utf-8"
        api = c.get("/api/overview.csv", params={"atelier": JEUGD}, headers={"Authorization": "Bearer geheim-token"})
        assert sheet.text == api.text  # one CSV builder for the page and the API
