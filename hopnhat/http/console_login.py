"""Sign-in for the web console: the API key goes into an HttpOnly cookie, then every console page
runs under the same access check as the API (hopnhat/http/auth.py), masking included.

A browser without a live key is sent to /console/login (303) instead of getting the API's JSON 401.
The cookie is HttpOnly (page scripts cannot read it), SameSite=Strict (other sites cannot ride on
it) and Secure when served over HTTPS.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hopnhat.access import AccessDenied, Caller, Permission
from hopnhat.http.auth import COOKIE, caller_for_key, require

router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE_MAX_AGE_S = 12 * 3600  # one working day; the key itself stays valid until revoked
_reader = require(Permission.read)


async def console_reader(request: Request) -> Caller | None:
    """The console's dependency: `require(read)`, with a redirect to the sign-in page instead of a 401."""
    if request.url.path.endswith("/static/console.css"):
        return None  # the sign-in page needs its stylesheet
    try:
        return await _reader(request)
    except AccessDenied as exc:
        if exc.http_status != 401:
            raise
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, headers={"Location": f"{_login_path(request)}?next={quote(target)}"}) from None


def _login_path(request: Request) -> str:
    return request.url_for("console_login").path


def _safe_next(request: Request, target: str | None) -> str:
    console = request.url_for("console_search").path
    # Only paths inside the console: never an absolute URL (an open redirect) or a protocol-relative one.
    return target if target and target.startswith(console) and not target.startswith("//") else console


def _page(request: Request, *, next_path: str, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    from hopnhat.http.console import render

    return render(request, "login.html", status_code=status_code, next=next_path, error=error)


@router.get("/login", name="console_login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
    return _page(request, next_path=_safe_next(request, next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0].strip()
    next_path = _safe_next(request, (form.get("next") or [""])[0])
    try:
        caller = await caller_for_key(request, key)
        if not caller.can(Permission.read):
            raise AccessDenied(f"role {caller.role.value} lacks the read permission")
    except AccessDenied as exc:
        return _page(request, next_path=next_path, error=str(exc), status_code=exc.http_status)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(COOKIE, key, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=request.url_for("console_search").path)
    return response


@router.get("/logout", name="console_logout")
async def logout(request: Request) -> Response:
    response = RedirectResponse(_login_path(request), status_code=303)
    response.delete_cookie(COOKIE, path=request.url_for("console_search").path)
    return response
