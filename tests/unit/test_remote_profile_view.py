"""How `hopnhat remote lookup` shows a golden record to an agent on the phone."""

from __future__ import annotations

import pytest

from hopnhat.cli.remote import _print_profile

PROFILE = {"full_name": "Đặng Thu Thảo", "emails": [{"value": "thao.dang@gmail.com"}], "interactions": 8}


def test_a_shared_email_shows_who_else_uses_it(capsys: pytest.CaptureFixture[str]) -> None:
    brother = "5b0c6a1e-3f5d-5e2a-9c1b-0d7e8f9a1b2c"
    _print_profile({"requested_id": "c1", "customer_id": "c1", "profile": PROFILE, "shared_with": [brother]})
    out = capsys.readouterr().out
    assert "Đặng Thu Thảo" in out and "also used by" in out and brother[:8] in out


def test_a_value_nobody_else_uses_shows_no_such_row(capsys: pytest.CaptureFixture[str]) -> None:
    _print_profile({"requested_id": "c1", "customer_id": "c1", "profile": PROFILE, "shared_with": []})
    assert "also used by" not in capsys.readouterr().out
