"""Campaign step templates: merge fields from a contact, rendered in a sandbox, refused when broken.

A step has a subject, a plain-text body and optionally an HTML body, written by users in Jinja
syntax: ``Hi {{ first_name | default("there") }}, saw {{ company }} is hiring in {{ city }}.``
This module turns a contact into merge fields, checks templates, and renders them. It is pure:
no database, no I/O, no clock.

Merge fields (``merge_fields``)
    The contact's own fields (``CONTACT_FIELDS``), every ``raw_data`` column under its ``slug``,
    and ``raw``, the original columns, for ``{{ raw["Annual Revenue ($)"] }}``. The contact's
    own fields win over a column with the same slug, even when empty: the column mapping said
    which column is the company, and the other one stays reachable through ``raw[...]``. When
    two columns share a slug ("City" and "city "), the first with a value wins. Columns whose
    slug is empty or a name templates need (``RESERVED_NAMES``: ``raw``, ``range``, ``loop``...)
    are reachable only through ``raw[...]``.

Slugs (``slug``)
    Accents dropped and letters case-folded ("Straße" → "strasse", "Région" → "region"), every
    run of anything but ``a-z0-9`` → ``_``, leading and trailing ``_`` stripped. A slug that
    would start with a digit gets a leading ``_`` ("2023 Revenue" → ``_2023_revenue``), because
    a template name cannot start with a digit. A header without a Latin letter or digit ("名前",
    "#") has no slug.

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

Placeholders (``find_placeholders``)
    Rendered text is refused when it still holds what looks like an unfilled placeholder,
    whether it came from the template or from contact data:

    * ``{{ ... }}`` or ``{% ... %}`` on one line (template syntax left literally);
    * ``{name}``: one brace pair around a name (letter or ``_`` first, then letters, digits,
      spaces, ``_ . -``); ``{}`` and CSS such as ``{ color: red }`` are not;
    * ``<<name>>`` with the same content;
    * ``<NAME>``: an all-capitals word or words, or a name with an underscore
      (``<first_name>``), in angle brackets, unless it is an HTML element (``<BR>``, ``<B>``);
    * ``%NAME%``: three or more letters or ``_`` between percent signs (``%E2%80%99`` is not);
    * ``[Name]``: one to four words of letters (and ``_ ' . / -``) in square brackets, not
      followed by ``(`` or ``[`` (a Markdown link), when the words are all capitalised
      (``[Name]``, ``[FIRST NAME]``, ``[Job Title]``), or one contains ``_``, or one is a word
      typical of merge fields (``[your name]``, ``[company]``). ``[1]``, ``[sic]``, ``[x]``,
      ``[...]`` and ``[Quick question]`` are not. ``[EXTERNAL]`` is, which costs little since
      such tags are added by mail gateways, not written in templates;
    * ``***`` (three or more asterisks) standing as a word on a line with other text
      (``Hi ***,``); a line of asterisks alone is a separator, ``***bold***`` is emphasis.

    HTML is scanned after unescaping, so escaped data is judged like the text part.

Output
    Line endings become ``\\n``, trailing whitespace is stripped from every line, three or more
    blank lines become two, leading and trailing blank lines go (the HTML body is treated the
    same way). The subject is one line: every run of whitespace, newlines included, becomes one
    space, and it is trimmed. A part that renders empty, or longer than ``VALUE_LIMIT``, is a
    problem. None is never written: empty merge fields never reach the output, and
    ``{{ none }}`` is a problem.

The sandbox
    ``ImmutableSandboxedEnvironment`` with autoescape off for subject and text and on for HTML
    (the ``safe`` filter is removed, so contact data is always escaped there). Attributes
    starting with ``_`` are refused when checking (``{{ ''.__class__ }}``) and by the sandbox
    when rendering; text values offer only their non-growing methods (``upper``, ``strip``,
    ``split``...), numbers none, and ``str.format`` and ``%`` on text are refused.
    ``include``, ``import`` and ``extends`` are refused. Rendering is bounded: ``range()``
    gives at most ``RANGE_LIMIT`` numbers; every loop iteration, call, filter and written
    character spends from a budget of ``WORK_LIMIT`` per part; no value may grow past
    ``VALUE_LIMIT`` characters (checked before ``*``, ``+``, ``replace``, ``join`` and
    ``indent`` build it, and after everything else); integers stay under ``INT_BITS_LIMIT``
    bits; width arguments of filters stay under ``NUMBER_LIMIT``. ``lipsum``, ``random`` and
    ``format`` are removed. A template that breaks a limit, or is nested too deeply for
    Jinja's recursive parser, gets a problem, never a hang or a crash.
    Block tags on their own line leave no blank line (``trim_blocks``, ``lstrip_blocks``).
"""

from __future__ import annotations

import difflib
import functools
import html as html_entities
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any, Final, NoReturn, cast

from jinja2 import nodes
from jinja2.environment import Template
from jinja2.exceptions import (
    SecurityError,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.filters import FILTERS
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer
from markupsafe import soft_str

from outreach.errors import ValidationFailed

CONTACT_FIELDS: Final = (
    "email",
    "name",
    "first_name",
    "last_name",
    "company",
    "title",
    "timezone",
    "website",
)
"""The contact's own merge fields: ``{name: getattr(contact, name) for name in CONTACT_FIELDS}``."""

RESERVED_NAMES: Final = frozenset(
    {
        "raw",
        "range",
        "dict",
        "cycler",
        "joiner",
        "namespace",
        "loop",
        "self",
        "caller",
        "varargs",
        "kwargs",
        "true",
        "false",
        "none",
        "not",
    }
)
"""Names templates need for themselves, and words a template cannot use as a name; a column
with such a slug is reachable through ``raw``."""

RANGE_LIMIT: Final = 1_000
WORK_LIMIT: Final = 1_000_000
VALUE_LIMIT: Final = 100_000
NUMBER_LIMIT: Final = 10_000
INT_BITS_LIMIT: Final = 4_096

_FILLER: Final = "…"
"""Stands in for a faulty field while rendering on to find the next problem; it cannot form a
placeholder with the text around it."""
_MAX_ROUNDS: Final = 10
_PARTS: Final = ("subject", "body", "html")


# --- merge fields ---------------------------------------------------------------------------

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def slug(header: str) -> str:
    """The merge field name of a raw column header: "Annual Revenue ($)" → ``annual_revenue``."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", header).casefold())
    latin = "".join(char for char in decomposed if not unicodedata.combining(char))
    name = _NOT_ALNUM.sub("_", latin).strip("_")
    return f"_{name}" if name[:1].isdigit() else name


def is_blank(value: object) -> bool:
    """Whether a merge field counts as empty: None, NaN, or only whitespace and zero-width."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.translate(_INVISIBLE).strip()
    return False


def column_name(header: str) -> str | None:
    """The plain name a raw column is a merge field by, or None when its header makes none (it
    is still there as raw["…"])."""
    name = slug(header)
    return name if name and name not in RESERVED_NAMES else None


def column_merge_field(header: str) -> str:
    """How a template writes a raw column: ``{{ city }}``, or ``{{ raw["#"] }}``."""
    return f"{{{{ {column_name(header) or _raw_label(header)} }}}}"


def merge_fields(
    contact_fields: Mapping[str, str | None], raw_data: Mapping[str, object]
) -> dict[str, object]:
    """The template context of one contact; None values are kept as None."""
    fields: dict[str, object] = {}
    for header, value in raw_data.items():
        name = column_name(str(header))
        if name is None:
            continue
        if name not in fields or (is_blank(fields[name]) and not is_blank(value)):
            fields[name] = value
    fields.update(contact_fields)
    fields["raw"] = dict(raw_data)
    return fields


# --- results --------------------------------------------------------------------------------


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


# --- errors raised inside a render ----------------------------------------------------------


class _FieldError(UndefinedError):
    """A merge field used without a fallback while empty or missing."""

    def __init__(self, message: str, field: str | None, key: tuple[str, ...] | None) -> None:
        super().__init__(message)
        self.field = field
        self.key = key


class _Refused(SecurityError):
    """Something the sandbox does not allow, in words meant for the template's author."""


class _LimitExceeded(Exception):
    """The template asks for more work or a bigger value than a template may."""


class _NoneWritten(Exception):
    pass


class _OutsideRender(Exception):
    """Raised by our filters when Jinja tries to evaluate them while compiling; Jinja then
    leaves them for render time, where the budget applies."""


# --- undefined values -----------------------------------------------------------------------


class _Columns(dict[str, object]):
    """The ``raw`` columns as a template sees them, so a missing column can be named."""


def _raw_label(column: str) -> str:
    return f"raw[{json.dumps(column, ensure_ascii=False)}]"


class _Unset(Undefined):
    """A name that is not there. Falsy, so guards and fallbacks work; any other use raises
    ``_FieldError`` naming the field (or the sandbox's ``SecurityError``)."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        if self._undefined_exception is not UndefinedError:
            raise self._undefined_exception(self._undefined_message)
        raise self._problem()

    def _problem(self) -> _FieldError:
        name, owner = self._undefined_name, self._undefined_obj
        if isinstance(name, str) and owner is missing:
            return _FieldError(
                f"uses {{{{ {name} }}}}, which is not a merge field (misspelt?) and has no default",
                field=name,
                key=(name,),
            )
        if isinstance(name, str) and isinstance(owner, _Columns):
            label = _raw_label(name)
            return _FieldError(
                f"uses {{{{ {label} }}}}, which is not a column of this contact and has no default",
                field=label,
                key=("raw", name),
            )
        return _FieldError(f"cannot be rendered: {self._undefined_message}", None, None)

    @property
    def nameless(self) -> bool:
        """Jinja's own "nothing here", e.g. ``{{ x if company }}`` when there is no company."""
        return (
            self._undefined_name is None
            and self._undefined_obj is missing
            and self._undefined_exception is UndefinedError
        )

    def check_allowed(self) -> None:
        if self._undefined_exception is not UndefinedError:
            self._fail_with_undefined_error()

    def __bool__(self) -> bool:
        self.check_allowed()
        return False

    __add__ = __radd__ = __sub__ = __rsub__ = _fail_with_undefined_error
    __mul__ = __rmul__ = __div__ = __rdiv__ = _fail_with_undefined_error
    __truediv__ = __rtruediv__ = _fail_with_undefined_error
    __floordiv__ = __rfloordiv__ = _fail_with_undefined_error
    __mod__ = __rmod__ = _fail_with_undefined_error
    __pos__ = __neg__ = _fail_with_undefined_error
    __call__ = __getitem__ = _fail_with_undefined_error
    __lt__ = __le__ = __gt__ = __ge__ = _fail_with_undefined_error
    __int__ = __float__ = __complex__ = _fail_with_undefined_error
    __pow__ = __rpow__ = _fail_with_undefined_error
    __iter__ = __str__ = __len__ = __contains__ = _fail_with_undefined_error


class _Empty(_Unset):
    """A merge field that exists but is empty for this contact."""

    __slots__ = ("_key", "_label")

    def __init__(self, label: str, key: tuple[str, ...]) -> None:
        super().__init__(name=label)
        self._label = label
        self._key = key

    def _problem(self) -> _FieldError:
        return _FieldError(
            f"uses {{{{ {self._label} }}}}, which is empty for this contact and has no default",
            field=self._label,
            key=self._key,
        )


# --- the work budget ------------------------------------------------------------------------


class _Budget:
    __slots__ = ("left",)

    def __init__(self, units: int) -> None:
        self.left = units


_BUDGET: ContextVar[_Budget | None] = ContextVar("outreach_template_budget", default=None)


def _spend(units: int) -> None:
    budget = _BUDGET.get()
    if budget is None:
        raise _OutsideRender
    budget.left -= units
    if budget.left < 0:
        raise _LimitExceeded(
            f"is too much work to render: it goes past {WORK_LIMIT:,} steps"
            " (loop rounds, calls and characters written)"
        )


def _size(value: object) -> int:
    if isinstance(value, str | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def _too_big() -> _LimitExceeded:
    return _LimitExceeded(f"builds a value longer than {VALUE_LIMIT:,} characters")


def _check_size(size: int) -> None:
    if size > VALUE_LIMIT:
        raise _too_big()


def _charge(value: object) -> None:
    size = _size(value)
    _check_size(size)
    _spend(size + 1)


def _is_int(value: object) -> bool:
    return isinstance(value, int)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "%" and isinstance(left, str):
        raise _Refused('uses "%" to format text, which templates may not do; use filters')
    if _is_int(left) and _is_int(right):
        bits = abs(left).bit_length()
        if operator == "**" and right > 0 and bits * right > INT_BITS_LIMIT:
            raise _LimitExceeded("computes a number too large for a template")
        if operator == "*" and bits + abs(right).bit_length() > INT_BITS_LIMIT:
            raise _LimitExceeded("computes a number too large for a template")
        return
    sized = (str, list, tuple)
    if operator == "*":
        if isinstance(left, sized) and _is_int(right):
            _check_size(len(left) * max(right, 0))
        elif isinstance(right, sized) and _is_int(left):
            _check_size(len(right) * max(left, 0))
    elif operator == "+" and isinstance(left, sized) and isinstance(right, sized):
        _check_size(len(left) + len(right))


# --- filters and globals --------------------------------------------------------------------

_DROPPED_FILTERS: Final = frozenset({"random", "safe", "format"})
_WIDTH_FILTERS: Final = frozenset(
    {"batch", "center", "indent", "slice", "truncate", "wordwrap", "urlize"}
)


def _default(value: object, default_value: object = "", boolean: bool = False) -> object:
    """Jinja's ``default``, which also replaces None, empty and whitespace-only values."""
    if isinstance(value, _Unset):
        value.check_allowed()
        return default_value
    if isinstance(value, Undefined) or is_blank(value) or (boolean and not value):
        return default_value
    return value


def _predicted_size(name: str, value: object, arguments: Mapping[str, Any]) -> int:
    """How long the result of a filter that can grow faster than its input will be."""
    if name == "replace" and isinstance(value, str):
        old, new = soft_str(arguments.get("old", "")), soft_str(arguments.get("new", ""))
        count = value.count(old) if old else len(value) + 1
        limit = arguments.get("count")
        if isinstance(limit, int) and limit >= 0:
            count = min(count, limit)
        return len(value) + count * max(0, len(new) - len(old))
    if name == "join" and isinstance(value, list | tuple):
        separator = soft_str(arguments.get("d", ""))
        pieces = sum(len(item) if isinstance(item, str) else 32 for item in value)
        return pieces + len(separator) * len(value)
    if name == "indent" and isinstance(value, str):
        width = arguments.get("width", 4)
        step = len(width) if isinstance(width, str) else width if _is_int(width) else 0
        return len(value) + (value.count("\n") + 1) * max(step, 0)
    return 0


_GROWING_PARAMETERS: Final = {
    "replace": ("old", "new", "count"),
    "join": ("d", "attribute"),
    "indent": ("width", "first", "blank"),
}
"""Positional parameters after the value, for the filters ``_predicted_size`` looks into."""


def _guarded(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that spends from the budget and cannot build an oversized value."""
    value_position = 1 if getattr(function, "jinja_pass_arg", None) else 0

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _spend(1)
        value = args[value_position] if len(args) > value_position else None
        extras = args[value_position + 1 :]
        if name in _WIDTH_FILTERS:
            for argument in (*extras, *kwargs.values()):
                if _is_int(argument) and abs(argument) > NUMBER_LIMIT:
                    raise _LimitExceeded(
                        f'gives "{name}" the number {argument:,}; the limit is {NUMBER_LIMIT:,}'
                    )
        named = dict(zip(_GROWING_PARAMETERS.get(name, ()), extras, strict=False)) | kwargs
        _check_size(_predicted_size(name, value, named))
        result = function(*args, **kwargs)
        _charge(result)
        return result

    return guarded


def _count(iterable: Iterable[object]) -> Iterator[object]:
    for item in iterable:
        _spend(1)
        yield item


def _counted(iterable: Iterable[object]) -> Iterator[object]:
    """Wrapped around every ``for`` loop's sequence: each round spends from the budget."""
    _spend(1)
    return _count(iterable)


def _piece(value: object) -> object:
    """Wrapped around every part of ``~`` and every written expression."""
    if value is None:
        raise _NoneWritten
    if isinstance(value, _Unset) and value.nameless:
        return ""
    return value


def _emit(value: object) -> object:
    """Wrapped around everything written, template text included: output spends per character,
    wherever it goes (the email, a ``set`` block, a macro)."""
    _spend(0)
    text = soft_str(_piece(value))
    _spend(len(text) + 1)
    return text


def _sized(value: object) -> object:
    _charge(value)
    return value


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    try:
        too_many = len(numbers) > RANGE_LIMIT
    except OverflowError:
        too_many = True
    if too_many:
        raise _LimitExceeded(f"asks range() for more than {RANGE_LIMIT:,} numbers")
    return numbers


_TEXT_METHODS: Final = frozenset(
    {
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isascii",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "rfind",
        "rindex",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "striptags",
        "swapcase",
        "title",
        "unescape",
        "upper",
    }
)


def _kind(value: object) -> str:
    if isinstance(value, _Columns):
        return "raw"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float | complex):
        return "a number"
    return f"a {type(value).__name__} value"


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, str):
            return attr in _TEXT_METHODS
        return not isinstance(obj, int | float | complex)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        return self.undefined(
            f'reaches for "{attribute}" on {_kind(obj)}, which templates may not do',
            name=attribute,
            obj=obj,
            exc=_Refused,
        )

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        return None  # str.format is not in _TEXT_METHODS, so the sandbox refuses it

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        _charge(result)
        return result

    def call(
        __self,
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        _spend(1)
        result = super().call(__context, __obj, *args, **kwargs)
        _charge(result)
        return result


def _environment(html: bool) -> _Sandbox:
    environment = _Sandbox(
        autoescape=html,
        undefined=_Unset,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=0,
    )
    environment.filters = {
        name: _guarded(name, function)
        for name, function in FILTERS.items()
        if name not in _DROPPED_FILTERS
    }
    environment.filters["default"] = environment.filters["d"] = _guarded("default", _default)
    environment.filters.update(
        {"_counted": _counted, "_emit": _emit, "_piece": _piece, "_sized": _sized}
    )
    del environment.globals["lipsum"]
    environment.globals["range"] = _bounded_range
    return environment


_ENVIRONMENTS: Final = {False: _environment(html=False), True: _environment(html=True)}


# --- preparing a template -------------------------------------------------------------------


def _filter(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Metered(NodeTransformer):
    """Routes loops, ``~`` and output through the budgeted filters above."""

    def visit_For(self, node: nodes.For, *args: Any, **kwargs: Any) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filter(cast(nodes.Expr, node.iter), "_counted")
        return node

    def visit_Concat(self, node: nodes.Concat, *args: Any, **kwargs: Any) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_filter(child, "_piece") for child in node.nodes]
        return _filter(node, "_sized")

    def visit_Output(self, node: nodes.Output, *args: Any, **kwargs: Any) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_filter(child, "_emit") for child in node.nodes]
        return node


_UNSUPPORTED_TAGS: Final = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}


def _private(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Getattr) and node.attr.startswith("_")


def _refusals(tree: nodes.Template, environment: _Sandbox) -> Iterator[str]:
    for kind, tag in _UNSUPPORTED_TAGS.items():
        for node in tree.find_all(kind):
            yield f"uses {{% {tag} %}} on line {node.lineno}, which campaign templates cannot"
    for getattr_node in tree.find_all(nodes.Getattr):
        # One problem per chain: ''.__class__.__mro__ is reported at its first step.
        inner = [getattr_node.node, *getattr_node.node.find_all(nodes.Getattr)]
        if _private(getattr_node) and not any(_private(node) for node in inner):
            yield (
                f'reaches for "{getattr_node.attr}" on line {getattr_node.lineno},'
                " which templates may not do"
            )
    for filter_node in tree.find_all(nodes.Filter):
        if filter_node.name not in environment.filters:
            yield (
                f'does not parse: there is no filter "{filter_node.name}"'
                f" on line {filter_node.lineno}"
            )
    for test_node in tree.find_all(nodes.Test):
        if test_node.name not in environment.tests:
            yield f'does not parse: there is no test "{test_node.name}" on line {test_node.lineno}'


def _syntax_message(error: TemplateSyntaxError) -> str:
    words = (error.message or str(error)).replace("'", '"').rstrip(".")
    if words[:1].isupper() and words[1:2].islower():
        words = words[0].lower() + words[1:]
    return f"does not parse: {words} on line {error.lineno}"


@functools.lru_cache(maxsize=256)
def _prepare(source: str, html: bool) -> tuple[Template | None, tuple[str, ...]]:
    """The compiled template, or why there is none."""
    if len(source) > VALUE_LIMIT:
        return None, (f"is longer than {VALUE_LIMIT:,} characters",)
    environment = _ENVIRONMENTS[html]
    try:
        tree = environment.parse(source)
        refusals = tuple(_refusals(tree, environment))
        if refusals:
            return None, refusals
        _Metered().visit(tree)
        tree.set_environment(environment)
        return environment.from_string(tree), ()
    except TemplateSyntaxError as error:
        return None, (_syntax_message(error),)
    except (RecursionError, SyntaxError, MemoryError):
        # Jinja and Python read templates recursively; a few hundred nested brackets or
        # blocks run out of stack (or of Python's parser) before any syntax error is found.
        return None, ("is nested too deeply to read",)


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
        for message in _prepare(source, part == "html")[1]
    ]


# --- rendering ------------------------------------------------------------------------------


def _template_context(fields: Mapping[str, object]) -> dict[str, object]:
    context: dict[str, object] = {}
    for name, value in fields.items():
        if name == "raw" and isinstance(value, Mapping):
            context[name] = _Columns(
                {
                    str(column): (
                        _Empty(_raw_label(str(column)), ("raw", str(column)))
                        if is_blank(cell)
                        else cell
                    )
                    for column, cell in value.items()
                }
            )
        elif is_blank(value):
            context[name] = _Empty(name, (name,))
        else:
            context[name] = value
    return context


def _fill(context: dict[str, object], key: tuple[str, ...]) -> None:
    if len(key) == 1:
        context[key[0]] = _FILLER
        return
    columns = context.get("raw")
    if not isinstance(columns, _Columns):
        columns = context["raw"] = _Columns()
    columns[key[1]] = _FILLER


def _run(template: Template, context: Mapping[str, object]) -> str:
    token = _BUDGET.set(_Budget(WORK_LIMIT))
    try:
        return "".join(template.generate(context))
    finally:
        _BUDGET.reset(token)


def _failure(error: Exception) -> str:
    if isinstance(error, _Refused | _LimitExceeded):
        return str(error)
    if isinstance(error, SecurityError):
        return f"does something templates may not do: {error}"
    if isinstance(error, _NoneWritten):
        return 'writes "None" where a value should be'
    if isinstance(error, RecursionError):
        return "cannot be rendered: a macro calls itself without end"
    if isinstance(error, TemplateError):
        return f"cannot be rendered: {error.message or error}"
    return f"cannot be rendered: {error}"


def _with_nearest(error: _FieldError, context: Mapping[str, object]) -> str:
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
    template, messages = _prepare(source, part == "html")
    if template is None:
        return None, [TemplateProblem(None, part, message) for message in messages]
    context = _template_context(fields)
    problems: list[TemplateProblem] = []
    filled: set[tuple[str, ...]] = set()
    for _ in range(_MAX_ROUNDS):
        try:
            return _run(template, context), problems
        except _FieldError as error:
            problems.append(TemplateProblem(error.field, part, _with_nearest(error, context)))
            if error.key is None or error.key in filled:
                return None, problems
            filled.add(error.key)
            _fill(context, error.key)
        except Exception as error:  # the template's own mistake, e.g. 1 / 0: a problem to report
            # After a stand-in, an error may be the stand-in's doing ("…" is not callable);
            # it will be reported once the fields above are fixed.
            if not filled:
                problems.append(TemplateProblem(None, part, _failure(error)))
            return None, problems
    return None, problems


# --- normalising and placeholders -----------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n?")
_EXTRA_BLANK_LINES = re.compile(r"\n{4,}")


def normalise_text(text: str) -> str:
    """Trailing whitespace off every line, at most two blank lines in a row, no blank lines at
    either end; line endings ``\\n``."""
    lines = _LINE_BREAK.sub("\n", text).split("\n")
    joined = "\n".join(line.rstrip() for line in lines)
    return _EXTRA_BLANK_LINES.sub("\n\n\n", joined).strip("\n")


def normalise_subject(text: str) -> str:
    """One line: every run of whitespace becomes one space, trimmed."""
    return " ".join(text.split())


_FIELD_WORDS: Final = frozenset(
    {
        "business",
        "city",
        "company",
        "contact",
        "country",
        "date",
        "department",
        "email",
        "first",
        "firstname",
        "fullname",
        "industry",
        "job",
        "last",
        "lastname",
        "link",
        "name",
        "org",
        "organisation",
        "organization",
        "phone",
        "position",
        "product",
        "prospect",
        "recipient",
        "region",
        "role",
        "state",
        "surname",
        "team",
        "title",
        "town",
        "url",
        "website",
    }
)
_HTML_ELEMENT_NAMES: Final = (
    "a abbr address area article aside audio b base bdi bdo big blockquote body br button "
    "canvas caption center cite code col colgroup data dd del details dfn div dl dt em embed "
    "fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe "
    "img input ins kbd label legend li link main map mark meta meter nav noscript object ol "
    "optgroup option output p param picture pre progress q s samp script section select small "
    "source span strike strong style sub summary sup table tbody td template textarea tfoot th "
    "thead time title tr track tt u ul var video wbr"
)
_HTML_ELEMENTS: Final = frozenset(_HTML_ELEMENT_NAMES.split())

_LEFTOVER_SYNTAX = re.compile(r"\{\{[^\n]{0,200}?\}\}|\{%[^\n]{0,200}?%\}")
_BRACED = re.compile(r"(?<!\{)\{[ \t]*[A-Za-z_][\w .-]{0,40}?[ \t]*\}(?!\})")
_DOUBLE_ANGLED = re.compile(r"<<[ \t]*[A-Za-z_][\w .-]{0,40}?[ \t]*>>")
_ANGLED = re.compile(r"(?<!<)<([A-Z][A-Z0-9_ ]{0,40}|[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)>(?!>)")
_PERCENTED = re.compile(r"%[A-Za-z_]{3,40}%")
_BRACKETED = re.compile(r"\[[ \t]*([A-Za-z][A-Za-z _'./-]{0,39}?)[ \t]*\](?![(\[])")
_STARS = re.compile(r"(?<![\w*])\*{3,}(?![\w*])")
_WORD_BREAK = re.compile(r"[ _'./-]+")


def _looks_like_field(words: str) -> bool:
    parts = [part for part in _WORD_BREAK.split(words) if part]
    if not parts or len(parts) > 4 or len(words) < 2:
        return False
    return (
        "_" in words
        or all(part[0].isupper() for part in parts)
        or any(part.lower() in _FIELD_WORDS for part in parts)
    )


def _line_of(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[start : end if end != -1 else len(text)]


def find_placeholders(text: str) -> list[str]:
    """Every distinct unfilled-looking placeholder in ``text``, in order (rule in the module
    docstring)."""
    found: list[tuple[int, str]] = []
    for pattern in (_LEFTOVER_SYNTAX, _BRACED, _DOUBLE_ANGLED, _PERCENTED):
        found.extend((match.start(), match.group()) for match in pattern.finditer(text))
    for match in _ANGLED.finditer(text):
        if match.group(1).strip().lower() not in _HTML_ELEMENTS:
            found.append((match.start(), match.group()))
    for match in _BRACKETED.finditer(text):
        if _looks_like_field(match.group(1)):
            found.append((match.start(), match.group()))
    for match in _STARS.finditer(text):
        if _line_of(text, match.start()).replace("*", "").strip():
            found.append((match.start(), match.group()))
    return list(dict.fromkeys(placeholder for _, placeholder in sorted(found)))


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
