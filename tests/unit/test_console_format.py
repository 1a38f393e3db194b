"""How the console writes money, counts and times for a Vietnamese reader."""

from datetime import UTC, datetime

import pytest

from hopnhat.http.console import local_time, nbytes, number, percent, vnd


@pytest.mark.parametrize(("amount", "shown"), [
    (1_250_000, "1.250.000\u00a0₫"), (0, "0\u00a0₫"), (999, "999\u00a0₫"), (-75_000, "-75.000\u00a0₫"),
    (12_345_678_900, "12.345.678.900\u00a0₫"), (None, ""),
], ids=["order", "zero", "under-thousand", "refund", "billions", "no-amount"])
def test_vnd_groups_with_dots_and_no_decimals(amount, shown) -> None:
    assert vnd(amount) == shown


@pytest.mark.parametrize(("n", "shown"), [(56789, "56.789"), (3.5, "3,5"), (1234.56, "1.234,6"), (12.0, "12"),
                                          (None, "–")], ids=["count", "rate", "rate-grouped", "whole-float", "none"])
def test_number_uses_dot_grouping_and_decimal_comma(n, shown) -> None:
    assert number(n) == shown


def test_times_are_shown_in_ho_chi_minh_city_time() -> None:
    assert local_time(datetime(2026, 11, 22, 17, 30, tzinfo=UTC)) == "23/11/2026 00:30"  # crosses midnight
    assert local_time("2026-11-22T16:04:00+00:00") == "22/11/2026 23:04"
    assert local_time(None) == "–"


def test_sizes() -> None:
    assert nbytes(512) == "512 B" and nbytes(25 * 1024 * 1024) == "25 MB" and nbytes(1536) == "1,5 KB"


def test_match_probabilities_keep_two_decimals() -> None:
    assert percent(0.99873) == "99,87%" and percent(1.0) == "100,00%" and percent(None) == "–"
