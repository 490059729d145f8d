"""Plain text from the small HTML subset our message bodies use (h1-h3, p, ul/ol/li, a, br).

The long-form body is written once, in HTML, and this gives the plain-text e-mail part and the
text the readability check reads. User data was escaped in the HTML, so unescaping here yields
it literally: it is never interpreted as markup on the way.

For right-to-left languages (`isolates=True`) an element with `dir` inside a paragraph (the
renderer's `<span dir="ltr">` around numbers and addresses, `<bdi>`) becomes the Unicode
isolates LRI/RLI/FSI ... PDI, so the plain text keeps the order the HTML shows.
"""

from __future__ import annotations

from html.parser import HTMLParser

from service.rendering.bidi import FSI, LRI, PDI, RLI, VOID_ELEMENTS

BLOCKS = {"h1", "h2", "h3", "p", "ul", "ol", "div", "section", "article", "header", "footer"}
# Elements that hold other blocks: their `dir` sets the page's direction, not an isolate.
CONTAINERS = {"html", "body", "main", "div", "section", "article", "header", "footer", "ul", "ol"}
_ISOLATES = {"ltr": LRI, "rtl": RLI}


class _TextBuilder(HTMLParser):
    def __init__(self, *, isolates: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.isolates = isolates
        self.open: list[tuple[str, bool]] = []  # (tag, whether it opened an isolate)
        self.blocks: list[tuple[bool, str]] = []  # (is list item, text)
        self.in_item = False
        self.current: list[str] = []
        self.list_stack: list[list[int]] = []  # per open list: [is_ordered, counter]
        self.href: str | None = None
        self.link_text: list[str] = []
        self.skip = 0

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.blocks.append((self.in_item, text))
        self.current = []
        self.in_item = False

    def _open_isolate(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            return
        direction = dict(attrs).get("dir")
        isolate = self.isolates and tag not in CONTAINERS and (tag == "bdi" or bool(direction))
        isolate = isolate and not self.skip
        if isolate:
            self.current.append(_ISOLATES.get((direction or "").lower(), FSI))
        self.open.append((tag, isolate))

    def _close_isolate(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _ in self.open):
            return
        while self.open:
            open_tag, isolate = self.open.pop()
            if isolate:
                self.current.append(PDI)
            if open_tag == tag:
                return

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs)
        self._open_isolate(tag, attrs)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head", "title", "svg"):
            self.skip += 1
        elif tag in BLOCKS:
            self._flush()
            if tag in ("ul", "ol"):
                self.list_stack.append([int(tag == "ol"), 0])
        elif tag == "li":
            self._flush()
            marker = "-"
            if self.list_stack and self.list_stack[-1][0]:
                self.list_stack[-1][1] += 1
                marker = f"{self.list_stack[-1][1]}."
            self.current.append(f"{marker} ")
            self.in_item = True
        elif tag == "br":
            self._flush()
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        self._close_isolate(tag)
        if tag in ("style", "script", "head", "title", "svg"):
            self.skip -= 1
        elif tag in BLOCKS or tag == "li":
            self._flush()
            if tag in ("ul", "ol") and self.list_stack:
                self.list_stack.pop()
        elif tag == "a":
            shown = "".join(self.link_text).strip()
            target = (self.href or "").removeprefix("mailto:").removeprefix("tel:")
            if target and target not in shown:
                shown_target = f"{LRI}{target}{PDI}" if self.isolates else target
                self.current.append(f" ({shown_target})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.current.append(data)
        if self.href is not None:
            self.link_text.append(data)


def html_to_text(html: str, *, isolates: bool = False) -> str:
    """Readable plain text: one block per paragraph, heading or list item.

    `isolates`: keep the HTML's direction isolates as Unicode isolates (right-to-left text).
    """
    builder = _TextBuilder(isolates=isolates)
    builder.feed(html)
    builder.close()
    builder._flush()
    lines: list[str] = []
    previous_item = False
    for is_item, text in builder.blocks:
        # List items sit together; every other block is its own paragraph.
        if lines and not (is_item and previous_item):
            lines.append("")
        lines.append(text)
        previous_item = is_item
    return "\n".join(lines).strip() + "\n"
