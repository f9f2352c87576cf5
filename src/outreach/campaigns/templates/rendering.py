"""Checking and rendering campaign templates for one contact, with every problem that stops
sending.

Empty, missing and fallbacks
    A value is *empty* when it is None, NaN, or text that is only whitespace and zero-width
    characters (``is_blank``). A name is *missing* when it is not a merge field at all (a typo,
    ``{{ compnay }}``, or ``raw["Cty"]``). Before rendering, every empty value is replaced by an
    ``Undefined`` that remembers its field, and Jinja hands missing names an ``Undefined`` too.
    Both are falsy and are handled by fallbacks: ``{% if company %}``, ``{{ company or "x" }}``,
    ``company is defined`` and ``default``, which here also replaces None, empty and whitespace
    (Jinja's own replaces only undefined). Any other use (printing it, ``~``, ``upper``, ``+``,
    an attribute, a loop over it) raises, and the problem names the field and the part. This is
    detected while rendering rather than by reading the template, so it follows the template's
    actual paths: a field used only inside ``{% if company %}`` is fine whatever the contact.
    After each such problem the field is filled with "…" and the part is rendered again, so one
    check reports every faulty field (up to ten per part); other errors met after such a
    stand-in are left for the next check, since the stand-in may have caused them. A missing
    name *with* a fallback is fine, on purpose: contacts from different uploads carry different
    columns, and ``{{ city | default("your area") }}`` is how a template says so. A filter
    before the fallback sees the empty value: write ``{{ company | default("x") | upper }}``.

Output
    Line endings become ``\\n``, trailing whitespace is stripped from every line, three or more
    blank lines become two, leading and trailing blank lines go (the HTML body is treated the
    same way). The subject is one line: every run of whitespace, newlines included, becomes one
    space, and it is trimmed. A part that renders empty, or longer than ``VALUE_LIMIT``, is a
    problem. None is never written: empty merge fields never reach the output, and
    ``{{ none }}`` is a problem.
"""

from __future__ import annotations

import difflib
import html as html_entities
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Final

from outreach.campaigns.templates.fields import is_blank, raw_label, slug
from outreach.campaigns.templates.normalising import normalise_subject, normalise_text
from outreach.campaigns.templates.placeholders import find_placeholders
from outreach.campaigns.templates.sandbox import VALUE_LIMIT, failure_message, prepare, run
from outreach.campaigns.templates.undefined import Columns, Empty, FieldError
from outreach.errors import ValidationFailed

_FILLER: Final = "…"
"""Stands in for a faulty field while rendering on to find the next problem; it cannot form a
placeholder with the text around it."""
_MAX_ROUNDS: Final = 10


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True)
class TemplateProblem:
    """Something that stops a template from being sent. ``message`` completes "The <part> …"."""

    field: str | None
    part: str
    message: str

    def sentence(self) -> str:
        return f"The {self.part} {self.message}."


def _sources(subject: str, body: str, html: str | None) -> list[tuple[str, str]]:
    parts = [("subject", subject), ("body", body)]
    if html is not None:
        parts.append(("html", html))
    return parts


def check_syntax(subject: str, body: str, html: str | None = None) -> list[TemplateProblem]:
    """What is wrong with the templates themselves: parse errors, unknown filters, refused
    tags and attributes. Fields used without a fallback are not judged here."""
    return [
        TemplateProblem(None, part, message)
        for part, source in _sources(subject, body, html)
        for message in prepare(source, part == "html")[1]
    ]


def _template_context(fields: Mapping[str, object]) -> dict[str, object]:
    context: dict[str, object] = {}
    for name, value in fields.items():
        if name == "raw" and isinstance(value, Mapping):
            context[name] = Columns(
                {
                    str(column): (
                        Empty(raw_label(str(column)), ("raw", str(column)))
                        if is_blank(cell)
                        else cell
                    )
                    for column, cell in value.items()
                }
            )
        elif is_blank(value):
            context[name] = Empty(name, (name,))
        else:
            context[name] = value
    return context


def _fill(context: dict[str, object], key: tuple[str, ...]) -> None:
    if len(key) == 1:
        context[key[0]] = _FILLER
        return
    columns = context.get("raw")
    if not isinstance(columns, Columns):
        columns = context["raw"] = Columns()
    columns[key[1]] = _FILLER


def _with_nearest(error: FieldError, context: Mapping[str, object]) -> str:
    """A missing name's problem, naming the merge field it most likely meant: the column's own
    name ({{ City }} for {{ city }}, as the contact page shows the column) or a near spelling."""
    if error.key is None or len(error.key) != 1 or error.key[0] in context:
        return str(error)
    name = error.key[0]
    fields = [field for field in context if field != "raw"]
    nearest = slug(name) if slug(name) in fields else None
    nearest = nearest or next(iter(difflib.get_close_matches(name, fields, 1, 0.75)), None)
    if nearest is None:
        return str(error)
    return f"uses {{{{ {name} }}}}, which is not a merge field; the nearest is {{{{ {nearest} }}}}"


def _render_part(
    part: str, source: str, fields: Mapping[str, object]
) -> tuple[str | None, list[TemplateProblem]]:
    """The raw output of one part (None when it could not be produced) and its problems."""
    template, messages = prepare(source, part == "html")
    if template is None:
        return None, [TemplateProblem(None, part, message) for message in messages]
    context = _template_context(fields)
    problems: list[TemplateProblem] = []
    filled: set[tuple[str, ...]] = set()
    for _ in range(_MAX_ROUNDS):
        try:
            return run(template, context), problems
        except FieldError as error:
            problems.append(TemplateProblem(error.field, part, _with_nearest(error, context)))
            if error.key is None or error.key in filled:
                return None, problems
            filled.add(error.key)
            _fill(context, error.key)
        except Exception as error:  # the template's own mistake, e.g. 1 / 0: a problem to report
            # After a stand-in, an error may be the stand-in's doing ("…" is not callable);
            # it will be reported once the fields above are fixed.
            if not filled:
                problems.append(TemplateProblem(None, part, failure_message(error)))
            return None, problems
    return None, problems


def _finish(
    part: str, source: str, fields: Mapping[str, object], problems: list[TemplateProblem]
) -> str:
    output, found = _render_part(part, source, fields)
    problems.extend(found)
    if output is None:
        return ""
    text = normalise_subject(output) if part == "subject" else normalise_text(output)
    if not text:
        problems.append(TemplateProblem(None, part, "is empty once rendered"))
    elif len(text) > VALUE_LIMIT:
        problems.append(
            TemplateProblem(None, part, f"is longer than {VALUE_LIMIT:,} characters once rendered")
        )
    visible = html_entities.unescape(text) if part == "html" else text
    problems.extend(
        TemplateProblem(None, part, f'leaves the placeholder "{placeholder}"')
        for placeholder in find_placeholders(visible)
    )
    return text


def render_preview(
    subject: str, body: str, html: str | None, fields: Mapping[str, object]
) -> tuple[Rendered, list[TemplateProblem]]:
    """The best rendering there is, with every problem: faulty fields show as "…", a part that
    cannot be rendered at all is empty. For showing a user what a contact would get."""
    problems: list[TemplateProblem] = []
    rendered = Rendered(
        subject=_finish("subject", subject, fields, problems),
        text=_finish("body", body, fields, problems),
        html=None if html is None else _finish("html", html, fields, problems),
    )
    return rendered, problems


def problems_for(
    subject: str, body: str, html: str | None, fields: Mapping[str, object]
) -> list[TemplateProblem]:
    """Everything that stops these templates from being sent to the contact with ``fields``."""
    return render_preview(subject, body, html, fields)[1]


def render(subject: str, body: str, html: str | None, fields: Mapping[str, object]) -> Rendered:
    """The email for one contact. Raises ``ValidationFailed`` with ``details["problems"]``
    (``field``, ``part`` and ``message`` of each, JSON-ready) when there is any problem."""
    rendered, problems = render_preview(subject, body, html, fields)
    if problems:
        raise ValidationFailed(
            " ".join(problem.sentence() for problem in problems),
            problems=[asdict(problem) for problem in problems],
        )
    return rendered


_OUTPUT = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_RAW_COLUMN = re.compile(r"""raw\s*\[\s*(["'])(.+?)\1\s*\]""")
_NAME = re.compile(r"[A-Za-z_]\w*")
_STATEMENT_OR_COMMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def as_read(template: str) -> str:
    """A template as a person reads it in a table of steps: each output shown as the field it
    starts from, in brackets ("Hello from {{ company | default('us') }}" is "Hello from
    [company]", ``{{ raw["Annual Revenue"] }}`` is "[Annual Revenue]"), statements and
    comments left out, whitespace runs made one space."""

    def field(match: re.Match[str]) -> str:
        expression = match.group(1)
        column = _RAW_COLUMN.match(expression)
        name = _NAME.match(expression)
        return f"[{column.group(2) if column else name.group() if name else '…'}]"

    text = _OUTPUT.sub(field, _STATEMENT_OR_COMMENT.sub("", template))
    return " ".join(text.split())
