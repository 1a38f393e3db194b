"""`hopnhat remote` without a server: how identifiers are typed, and every HTTP failure's message and exit code.

The server side is covered by tests/integration/test_remote_cli.py on a real `hopnhat serve`.
"""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

from hopnhat.access import AccessDenied
from hopnhat.api_client import ApiClient, ApiUnavailable, NotFound, RequestRefused
from hopnhat.cli.main import cli
from hopnhat.cli.remote import parse_lookup
from hopnhat.settings import Settings

KEY = "hn_" + "b" * 52


@pytest.mark.parametrize(("typed", "expected"), [
    ("0912.345.678", ("phone", "0912.345.678")),
    ("+84 912 345 678", ("phone", "+84 912 345 678")),
    ("(028) 3822 1234", ("phone", "(028) 3822 1234")),
    ("Lan.Nguyen@Gmail.com", ("email", "Lan.Nguyen@Gmail.com")),
    ("phone:0168.234.5678", ("phone", "0168.234.5678")),
    ("zalo:4318:8877665544", ("zalo", "4318:8877665544")),
    ("pos_customer: KH-00123 ", ("pos_customer", "KH-00123")),
], ids=["dotted-local", "e164-spaced", "hcm-landline", "bare-email", "typed-legacy-viettel", "zalo-app-user",
        "typed-pos-trimmed"])
def test_lookup_identifier_is_typed_and_left_for_the_server_to_normalise(typed, expected) -> None:
    assert parse_lookup(typed) == expected


@pytest.mark.parametrize("typed", ["Nguyễn Thị Lan", "phone:", "KH-00123", "12345"],
                         ids=["a-name", "empty-value", "untyped-pos-code", "too-short-for-a-phone"])
def test_lookup_refuses_what_it_cannot_type_and_says_how(typed) -> None:
    with pytest.raises(RequestRefused):
        parse_lookup(typed)


def _client(status: int, body: object) -> ApiClient:
    return ApiClient("http://crm.noi-bo:8080/", KEY,
                     transport=httpx.MockTransport(lambda request: httpx.Response(status, json=body)))


@pytest.mark.parametrize(("status", "body", "error", "exit_code", "says"), [
    (401, {"error": "AccessDenied", "detail": "unknown API key"}, AccessDenied, 6, "hopnhat keys create"),
    (403, {"error": "AccessDenied", "detail": "role agent lacks the export permission"}, AccessDenied, 6,
     "role agent lacks the export permission (GET /v1/customers/search)"),
    (404, {"detail": "no customer with phone +84987000111"}, NotFound, 1, "no customer with phone"),
    (400, {"detail": "province: 'Gotham' is not a province or city"}, RequestRefused, 2, "Gotham"),
    (422, {"detail": [{"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100"}]},
     RequestRefused, 2, "limit: Input should be"),
    (503, {"error": "DatabaseUnavailable", "detail": "PostgreSQL did not answer; retry later"}, ApiUnavailable, 7,
     "/readyz"),
], ids=["401-key-rejected", "403-role-lacks-permission", "404-not-found", "400-bad-value", "422-field-list",
        "503-not-ready"])
def test_http_failures_become_errors_that_say_what_to_do(status, body, error, exit_code, says) -> None:
    with _client(status, body) as api, pytest.raises(error) as caught:
        api.search(name="lan", province=None, limit=20)
    assert caught.value.exit_code == exit_code
    assert says in f"{caught.value} {caught.value.hint}"
    assert KEY not in f"{caught.value} {caught.value.hint}"


def test_connection_refused_names_the_url_and_the_setting() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with ApiClient("http://crm.noi-bo:8080", KEY, transport=httpx.MockTransport(refuse)) as api, \
            pytest.raises(ApiUnavailable) as caught:
        api.lookup(type="phone", value="0912345678")
    assert "http://crm.noi-bo:8080/v1/customers/lookup" in str(caught.value)
    assert "connection refused" in str(caught.value) and "HOPNHAT_API_URL" in caught.value.hint
    assert caught.value.exit_code == 7


def test_the_key_is_sent_as_a_bearer_token_and_shown_masked_in_config(monkeypatch) -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"customer_id": "x"})

    with ApiClient("https://crm.noi-bo", KEY, transport=httpx.MockTransport(answer)) as api:
        api.profile("c29d93ba-314f-57ec-a07d-28ba3c97b7c1")
    assert seen == [f"Bearer {KEY}"]
    monkeypatch.setenv("HOPNHAT_API_KEY", KEY)
    monkeypatch.setenv("HOPNHAT_API_URL", "https://crm.noi-bo")
    shown = Settings().masked()
    assert shown["api_key"] == "**********" and shown["api_url"] == "https://crm.noi-bo"
    out = CliRunner().invoke(cli, ["config", "show", "--json"])
    assert out.exit_code == 0 and KEY not in out.output


def test_a_url_without_scheme_is_a_setting_error() -> None:
    from schema.errors import ConfigError

    with pytest.raises(ConfigError, match="must start with http"):
        ApiClient("crm.noi-bo:8080", KEY)
