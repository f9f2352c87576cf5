"""A reply's HTML made safe to show: nh3 (the Ammonia sanitiser) with an allowlist that keeps
what a person wrote and drops everything that runs, submits, loads or tracks.

Kept: text formatting, lists, quotes, tables, links (opening in a new tab, no referrer), and a
few inline style properties that cannot load anything. Dropped with their content: scripts,
styles (remote CSS), the document head. Dropped, content kept: forms and their controls,
frames, objects, unknown tags. Every event handler and every other attribute goes.

Images: an inline image (``cid:``) is shown through the URL the caller gives for it. A remote
image is a tracking pixel as often as a logo, and loading it tells the sender the message was
read, so by default its source is removed and counted; "show images" keeps https sources.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import nh3

ALLOWED_TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col"}
    | {"colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4"}
    | {"h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s", "small"}
    | {"span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th"}
    | {"thead", "tr", "u", "ul"}
)
_DROPPED_WITH_CONTENT = frozenset({"script", "style", "head", "title", "template"})
_ATTRIBUTES = {
    "*": {"style", "title", "align", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan", "valign"},
    "font": {"color"},
}
_STYLE_PROPERTIES = frozenset(
    {"color", "font-weight", "font-style", "text-decoration", "text-align", "font-size"}
    | {"margin-left", "padding-left", "border-left"}
)
"""Properties whose values cannot name a URL, so inline style can never load anything."""
_LINK_SCHEMES = frozenset({"http", "https", "mailto", "cid"})
_LINK_TARGETS = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class SafeHtml:
    html: str
    blocked_images: int
    """Remote images whose source was removed; a page offers "show images" when above 0."""


def safe_html(
    html: str, *, show_images: bool = False, inline_images: Mapping[str, str] | None = None
) -> SafeHtml:
    """``html`` with nothing left that runs, submits or loads from elsewhere (but the remote
    images ``show_images`` allows). ``inline_images`` maps a Content-ID (without angle
    brackets) to the URL the page serves that attachment at."""
    blocked = 0

    def image_source(value: str) -> str | None:
        nonlocal blocked
        if value.lower().startswith("cid:"):
            return (inline_images or {}).get(value[4:].strip("<>"))
        if show_images and value.lower().startswith("https://"):
            return value
        blocked += 1
        return None

    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        attribute_filter=_attribute_filter(image_source),
        url_schemes=set(_LINK_SCHEMES),
        filter_style_properties=set(_STYLE_PROPERTIES),
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
    return SafeHtml(html=cleaned, blocked_images=blocked)


def _attribute_filter(
    image_source: Callable[[str], str | None],
) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return image_source(value)
        if tag == "a" and attribute == "href":
            # Only links that leave: a relative link would point into this app, with the
            # reader's session; cid: names a part, which means nothing outside a mail client.
            return value if value.lower().startswith(_LINK_TARGETS) else None
        return value

    return keep
