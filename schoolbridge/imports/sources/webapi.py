"""A JSON web API: a URL, an optional auth header, a dotted path to the list of records, pagination.

Pagination styles: "none"; "page" (a page-number query parameter, stops at an empty page); "next" (a
dotted path in the response to the next page's URL). Only http(s); hosts that resolve to loopback,
private or link-local addresses are refused unless the caller allows them (see docs/imports.md).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from . import Row, SourceError, Table, clean_headers

MAX_PAGES = 500
MAX_BYTES = 20 * 1024 * 1024
TIMEOUT = 20


def check_url(url: str, allow_private: bool = False) -> str:
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError("The address must start with http:// or https:// and name a host")
    if parts.username or parts.password:
        raise SourceError("Put credentials in the auth header, not in the address")
    if not allow_private:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        except socket.gaierror:
            raise SourceError("The host name cannot be resolved", parts.hostname) from None
        for info in infos:
            ip = ipaddress.ip_address(info[4][0])
            if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
                raise SourceError(
                    "This address points into the server's own network and is not allowed", str(ip)
                )
    return url


def dig(data: Any, path: str) -> Any:
    """data["a"]["b"][0] for path "a.b.0"; an empty path is data itself."""
    for part in [p for p in (path or "").split(".") if p]:
        if isinstance(data, list) and part.lstrip("-").isdigit():
            try:
                data = data[int(part)]
            except IndexError:
                return None
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a redirect could leave the checked host
        return None


def _fetch(url: str, headers: dict[str, str], allow_private: bool) -> Any:
    check_url(url, allow_private)
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise SourceError(f"The server answered {exc.code} {exc.reason}", url) from None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceError(f"The server cannot be reached: {getattr(exc, 'reason', exc)}", url) from None
    if len(body) > MAX_BYTES:
        raise SourceError("The response is too large", url)
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"The response is not JSON: {exc}", url) from None


def _flatten(record: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(record, dict):
        for key, value in record.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                out.update(_flatten(value, f"{name}."))
            elif isinstance(value, list):
                out[name] = ", ".join(str(v) for v in value)
            else:
                out[name] = value
    return out


def read_api(
    url: str,
    *,
    records_path: str = "",
    auth_header: str = "",
    pagination: str = "none",
    page_param: str = "page",
    next_path: str = "",
    allow_private: bool = False,
) -> Table:
    headers: dict[str, str] = {}
    if auth_header:
        name, sep, value = auth_header.partition(":")
        if not sep or not name.strip():
            raise SourceError("The auth header must look like 'Authorization: Bearer …'")
        headers[name.strip()] = value.strip()
    records: list[dict[str, Any]] = []
    page_url: str | None = url
    page = 1
    for _ in range(MAX_PAGES):
        if page_url is None:
            break
        fetch_url = page_url
        if pagination == "page":
            parts = urllib.parse.urlsplit(url)
            query = dict(urllib.parse.parse_qsl(parts.query))
            query[page_param] = str(page)
            fetch_url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
        data = _fetch(fetch_url, headers, allow_private)
        found = dig(data, records_path)
        if not isinstance(found, list):
            raise SourceError(f"No list of records at {records_path or 'the top level'}", fetch_url)
        records.extend(_flatten(r) for r in found if isinstance(r, dict))
        if pagination == "page":
            if not found:
                break
            page += 1
        elif pagination == "next":
            nxt = dig(data, next_path)
            page_url = urllib.parse.urljoin(fetch_url, nxt) if isinstance(nxt, str) and nxt else None
        else:
            break
    else:
        raise SourceError(f"More than {MAX_PAGES} pages", url)
    names: dict[str, None] = {}
    for r in records:
        names.update(dict.fromkeys(r))
    if not names:
        return Table(headers=[])
    table = Table(headers=clean_headers(list(names), url))
    for i, r in enumerate(records, start=1):
        table.rows.append(Row(i, {h: ("" if r.get(h) is None else r.get(h)) for h in table.headers}))
    return table
