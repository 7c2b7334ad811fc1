"""What every page shares: the store, the logged-in user, evidence images, navigation.

Pages never touch the store's tables for anything that needs a
permission: they call ``shencha.service`, which check
the acting user on the server side.
"""

from __future__ import annotations

import io
import os
import re
from functools import lru_cache

import streamlit as st
from PIL import Image, ImageDraw

from shencha.evidence import EvidenceImages
from shencha.service.permissions import ROLE_LABEL, PermissionDenied, User, fresh_user
from shencha.store import Store, default_url
from shencha.textsafe import visible

PAGE_WIDTH = 900  # pixels: a whole page fits the evidence column and stays readable


def db_url() -> str:
    return os.environ.get("SHENCHA_DB") or default_url()


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    store = Store(url)
    return store


def store() -> Store:
    return _store(db_url())


def current_user() -> User | None:
    """The logged-in user, re-read from the store on every run so a disabled account stops at once."""
    user_id = st.session_state.get("user_id")
    if user_id is None:
        return None
    user = fresh_user(store(), user_id)
    if user is None or not user.active:
        st.session_state.pop("user_id", None)
        return None
    return user


def login(user: User) -> None:
    st.session_state["user_id"] = user.id


def logout() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


# Every ASCII punctuation character may be backslash-escaped in CommonMark;
# escaping all of them leaves no link, image, HTML tag or entity, emphasis
# or Streamlit directive (:red[...]) to form.
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def md(text: str | None) -> str:
    """The one way any user-supplied string reaches Markdown (titles, text, labels, captions, messages).

    Company names, file names, zip member names, reasons and messages come
    from applicants or users: escaped, they show as typed and never become
    a link, an image fetched from outside, or formatting (masked IDs ****
    stay stars). Control and direction characters show as escapes.
    """
    shown = visible(text, keep_newlines=True)
    # GFM turns bare URLs and e-mail addresses into links even when their
    # punctuation is escaped: a word joiner (invisible) breaks the pattern.
    shown = _AUTOLINK.sub("\\g<0>\u2060", shown)
    return _MD_SPECIAL.sub(r"\\\1", shown)


_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9]):(?=/)|(?<![a-z0-9])www(?=\.)|@")


def plain(text: str | None) -> str:
    """For places that show text as is (select options, code blocks, tables): only hidden characters escaped."""
    return visible(text, keep_newlines=True)


def role_label(user: User) -> str:
    return ROLE_LABEL[user.role]


def require_login() -> User:
    user = current_user()
    if user is None:
        st.warning("请先登录。")
        st.stop()
    return user


def denied(exc: PermissionDenied) -> None:
    st.error(md(str(exc)))
    st.stop()


def client_address() -> str | None:
    """The browser's address, for the per-address login back-off.

    `shencha ui` listens on the loopback only, so a remote browser comes
    through the reverse proxy (docs/deployment.md), which sets X-Real-IP;
    the header is believed only from the proxies in SHENCHA_TRUSTED_PROXIES
    (default: the loopback).
    """
    try:
        peer = st.context.ip_address
        headers = st.context.headers
    except Exception:  # noqa: BLE001 - not available in every runtime (AppTest); then per account only
        return None
    trusted = {a.strip() for a in os.environ.get("SHENCHA_TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if a.strip()}
    forwarded = headers.get("X-Real-IP") if headers else None
    if peer in trusted and forwarded:
        return forwarded.strip()[:100]
    return peer


def go(page_name: str, query: dict[str, str] | None = None) -> None:
    """Switch to another page of the navigation (a rerun when a page runs alone, e.g. in AppTest)."""
    pages = st.session_state.get("_pages", {})
    page = pages.get(page_name)
    if page is not None:
        st.switch_page(page, query_params=query)
    else:
        st.rerun()


# -- evidence images -------------------------------------------------------------------

@lru_cache(maxsize=64)
def _images(url: str, report_key: str) -> EvidenceImages:
    return EvidenceImages(_store(url), report_key)


@lru_cache(maxsize=256)
def _page_jpeg(url: str, report_key: str, document: str, page: int,
               boxes: tuple[tuple[float, ...], ...], redact: tuple[tuple[float, ...], ...]) -> bytes | None:
    """A page scaled to PAGE_WIDTH with the evidence boxes outlined; cached per process.

    Masked roles get the resident ID boxes filled black on the image too,
    since masking only the text would leave the number readable in the scan.
    """
    loaded = _images(url, report_key).page_image(document, page)
    if loaded is None:
        return None
    image, scale = loaded
    image = image.convert("RGB")
    factor = min(1.0, PAGE_WIDTH / image.width)
    if factor < 1.0:
        image = image.resize((int(image.width * factor), int(image.height * factor)))
    px = scale * factor
    draw = ImageDraw.Draw(image, "RGBA")
    for x0, y0, x1, y1 in redact:
        draw.rectangle((x0 * px, y0 * px, x1 * px, y1 * px), fill=(0, 0, 0, 255))
    for x0, y0, x1, y1 in boxes:
        pad = 4
        draw.rectangle((x0 * px - pad, y0 * px - pad, x1 * px + pad, y1 * px + pad),
                       outline=(220, 30, 30, 255), fill=(255, 230, 0, 70), width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()


def page_jpeg(report_key: str, document: str, page: int, boxes: list[list[float]],
              redact: list[list[float]] | None = None) -> bytes | None:
    return _page_jpeg(db_url(), report_key, document, page, tuple(tuple(b) for b in boxes),
                      tuple(tuple(b) for b in redact or []))


def image_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size
