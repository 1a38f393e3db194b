"""The profile API as seen from a laptop: `ApiClient`, used by `hopnhat remote ...` (hopnhat/cli/remote.py).

It holds a base URL (HOPNHAT_API_URL) and an API key (HOPNHAT_API_KEY), never database credentials,
so whoever uses it gets their key's role: masking, refusals and audit rows happen on the server,
exactly as for the console. Every HTTP failure becomes a `HopnhatError` that says what to do, and
the CLI's one `main()` turns it into an exit code:

401 -> AccessDenied (6): the key is missing, unknown or revoked; how to get one
403 -> AccessDenied (6): the role and the permission it lacks
404 -> NotFound (1); 400/422 -> RequestRefused (2): the server's own reason
503, connection refused, timeout -> ApiUnavailable (7): the URL tried and how to set it
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from hopnhat.access import AccessDenied
from schema.errors import ConfigError, HopnhatError

TIMEOUT_S = 30.0
# The server writes the whole export before its first byte is sent (hopnhat/http/exports.py): a
# million customers take minutes, so the download waits longer for an answer than a lookup does.
EXPORT_WAIT_S = 3600.0
API_URL_HINT = ("set HOPNHAT_API_URL (or api_url in the settings file, or pass --api-url) to the address "
                "`hopnhat serve` listens on, e.g. export HOPNHAT_API_URL=http://crm.noi-bo:8080")
KEY_HINT = ("set HOPNHAT_API_KEY (or api_key in the settings file); an admin creates one with "
            "`hopnhat keys create --role analyst --name <you>`")


class ApiUnavailable(HopnhatError):
    """The API did not answer, or answered that it is not ready (503): retry, or check the URL."""

    terminal = False
    http_status = 503
    exit_code = 7

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class NotFound(HopnhatError):
    """The API has no such customer (404)."""

    http_status = 404
    exit_code = 1


class RequestRefused(HopnhatError):
    """The API refused a value given on the command line (400, 422): the message names it."""

    http_status = 400
    exit_code = 2


def _detail(response: httpx.Response) -> str:
    """The server's reason: `detail` of a JSON error body (FastAPI's lists of field errors flattened)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # 422 from FastAPI: [{"loc": ["query", "limit"], "msg": "..."}]
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail
                         if isinstance(d, dict))
    return str(detail)


class ApiClient:
    """Calls to one hopnhat API with one key. Use as a context manager (one connection pool)."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout_s: float = TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"HOPNHAT_API_URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport)
        self._has_key = bool(api_key)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    # -- reads -------------------------------------------------------------------------------------

    def lookup(self, *, type: str, value: str) -> dict[str, Any]:  # noqa: A002
        return self._get_json("/v1/customers/lookup", {"type": type, "value": value})

    def profile(self, customer_id: str) -> dict[str, Any]:
        return self._get_json(f"/v1/customers/{_segment(customer_id)}")

    def timeline(self, customer_id: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._get_json(f"/v1/customers/{_segment(customer_id)}/timeline", params)

    def search(self, *, name: str, province: str | None, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"name": name, "limit": limit}
        if province:
            params["province"] = province
        return self._get_json("/v1/customers/search", params)

    def explain(self, customer_id: str) -> dict[str, Any]:
        return self._get_json(f"/v1/customers/{_segment(customer_id)}/explain")

    def status(self) -> dict[str, Any]:
        return self._get_json("/v1/status")

    # -- writes ------------------------------------------------------------------------------------

    def erase(self, *, identifier: str) -> dict[str, Any]:
        with self._call("POST", "/v1/erasures", json={"identifier": identifier}) as response:
            return dict(response.json())

    def download_profiles(self, *, format: str, masked: bool, out: Path,  # noqa: A002
                          progress: Callable[[int, int | None], None] | None = None) -> int:
        """Stream the export to `out` (via `out.partial`, renamed when complete); returns the bytes written.

        `progress(done, total)` is called per chunk; total is None when the server sends no length."""
        partial = out.with_name(out.name + ".partial")
        if not out.parent.is_dir():  # checked first: the server would export (and audit) for nothing
            raise RequestRefused(f"cannot write {out}: {out.parent} is not a folder")
        params = {"format": format, "masked": "true" if masked else "false"}
        written = 0
        with self._call("GET", "/v1/exports/profiles", params=params, stream=True,
                        timeout=httpx.Timeout(TIMEOUT_S, read=EXPORT_WAIT_S)) as response:
            total = int(response.headers["content-length"]) if "content-length" in response.headers else None
            try:
                with partial.open("wb") as f:
                    for chunk in response.iter_bytes(64 * 1024):
                        f.write(chunk)
                        written += len(chunk)
                        if progress:
                            progress(written, total)
                if total is not None and written != total:
                    raise ApiUnavailable(f"the download stopped at {written:,} of {total:,} bytes; run it again")
                partial.replace(out)
            except OSError as exc:  # a missing folder, a full disk: the command's fault line, not a traceback
                partial.unlink(missing_ok=True)
                raise RequestRefused(f"cannot write {out}: {exc.strerror or exc}") from exc
            except BaseException:
                partial.unlink(missing_ok=True)  # no half file of PII left on a laptop
                raise
        return written

    # -- plumbing ----------------------------------------------------------------------------------

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._call("GET", path, params=params) as response:
            return dict(response.json())

    @contextlib.contextmanager
    def _call(self, method: str, path: str, *, stream: bool = False, **kwargs: Any) -> Iterator[httpx.Response]:
        request = self._http.build_request(method, path, **kwargs)
        try:
            response = self._http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            waited = request.extensions.get("timeout", {}).get("read") or TIMEOUT_S
            raise ApiUnavailable(f"the hopnhat API did not answer {request.url} within {waited:.0f} s",
                                 hint=f"retry later; {self.base_url}/readyz says which check fails") from exc
        except httpx.TransportError as exc:  # connection refused, unknown host, TLS ...
            raise ApiUnavailable(f"could not reach the hopnhat API at {self.base_url} (tried {request.url}: "
                                 f"{_reason(exc)})", hint=API_URL_HINT) from exc
        try:
            if response.status_code >= 400:
                if stream:
                    response.read()
                raise self._error(method, path, response)
            yield response
        finally:
            response.close()

    def _error(self, method: str, path: str, response: httpx.Response) -> HopnhatError:
        status, detail = response.status_code, _detail(response)
        where = f"{method} {path.split('?')[0]}"
        if status == 401:
            what = "no API key was sent" if not self._has_key else f"the API key was rejected ({detail})"
            return AccessDenied(f"{what} by {self.base_url}", status=401, hint=KEY_HINT)
        if status == 403:
            return AccessDenied(f"{detail} ({where})", status=403,
                                hint="ask an admin for a key whose role has it: roles and permissions are in "
                                     "docs/SECURITY.md")
        if status == 404:
            return NotFound(detail)
        if status in (400, 422):
            return RequestRefused(detail)
        if status == 503:
            return ApiUnavailable(f"the hopnhat API at {self.base_url} is not ready: {detail}",
                                  hint=f"retry later; {self.base_url}/readyz says which check fails")
        err = HopnhatError(f"{where} answered {status}: {detail}")
        err.hint = "the server's log has the cause (it never logs PII)"
        return err


def _segment(customer_id: str) -> str:
    """A customer id as one path segment: `/` or `?` typed by mistake must not reach another route."""
    from urllib.parse import quote

    return quote(customer_id.strip(), safe="")


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return "connection refused" if "refused" in text.lower() else text
