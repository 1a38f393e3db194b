"""`hopnhat unmerge` against a real PostgreSQL store: split, re-resolve only that customer, remember."""

from __future__ import annotations

import json

import psycopg
import pytest

from resolver.plan import customer_id_for
from tests.integration.test_bulk_resolve import contact, customer_of, fill, invoke

pytestmark = pytest.mark.integration

MAI_POS = contact("kiotviet:shop1", "KH100", 10, "Trần Thị Mai", phone="0903 456 789", birth="1991-02-03")
MAI_FORM = contact("webform:lien-he", "sub-77", 20, "Tran Thi Mai", email="mai.tran91@gmail.com")
BRIDGE = contact("zalo:oa1", "z-501", 30, "Trần Thị Mai", phone="+84903456789", email="mai.tran91@gmail.com")
OTHER = contact("kiotviet:shop1", "KH200", 40, "Lê Văn Tâm", phone="0912 888 999")


def test_undoing_a_stream_merge_splits_the_customer_and_no_later_run_merges_it_again(
        database_factory, monkeypatch) -> None:
    url = database_factory()
    fill(url, [MAI_POS, MAI_FORM, OTHER])
    fill(url, [BRIDGE])  # the Zalo submit-info event carries both: the stream merges the two customers
    pos, form, bridge = "kiotviet:shop1|KH100", "webform:lien-he|sub-77", "zalo:oa1|z-501"
    root = customer_of(url, pos)
    assert customer_of(url, form) == customer_of(url, bridge) == root
    form_minted = customer_id_for(MAI_FORM.event_id)
    explained = json.loads(invoke(["explain", root, "--json"], url, monkeypatch))
    (merge,) = explained["merges"]
    assert merge["absorbed"] == form_minted and merge["evidence"]["event_id"] == BRIDGE.event_id

    report = json.loads(invoke(["unmerge", root, "--merge", str(merge["merge_id"]), "--by", "ops.hoa", "--json"],
                               url, monkeypatch))
    assert report["records"] == 3 and len(report["customers"]) == 2
    assert customer_of(url, pos) == customer_of(url, bridge) == root
    assert customer_of(url, form) == form_minted  # the id it had before the merge answers again
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT merged_into FROM customers WHERE id = %s", (form_minted,)).fetchone() == (None,)
        assert conn.execute("SELECT undone_at IS NOT NULL FROM merges WHERE id = %s",
                            (merge["merge_id"],)).fetchone() == (True,)
        assert conn.execute("SELECT left_record, right_record, same_person, decided_by FROM review_decisions"
                            ).fetchall() == [(pos, form, False, "ops.hoa")]
        profiles = dict(conn.execute("SELECT id::text, profile FROM customers WHERE id = ANY(%s::uuid[])",
                                     ([root, form_minted],)).fetchall())
        assert profiles[root]["interactions"] == 2 and profiles[form_minted]["interactions"] == 1
        assert {e["value"] for e in profiles[form_minted]["emails"]} == {"mai.tran91@gmail.com"}
        timeline = conn.execute("SELECT count(*) FROM interactions WHERE customer_id = %s", (form_minted,)).fetchone()
        assert timeline == (1,)
    assert json.loads(invoke(["explain", root, "--json"], url, monkeypatch))["merges"] == []

    again = json.loads(invoke(["resolve", "--json"], url, monkeypatch))
    assert again["merges"] == 0
    assert customer_of(url, form) != customer_of(url, pos)
    # The other customer was never touched.
    assert customer_of(url, "kiotviet:shop1|KH200") == customer_id_for(OTHER.event_id)


def test_unmerge_refuses_records_of_another_customer(database_factory, monkeypatch) -> None:
    url = database_factory()
    fill(url, [MAI_POS, OTHER])
    from click.testing import CliRunner

    from hopnhat.cli.main import cli

    monkeypatch.setenv("HOPNHAT_DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["unmerge", customer_of(url, "kiotviet:shop1|KH100"), "--apart",
                                      "kiotviet:shop1|KH100", "kiotviet:shop1|KH200"])
    assert result.exit_code == 1 and "not part of customer" in str(result.exception or result.output)
