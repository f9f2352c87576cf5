"""The metered sandbox campaign templates are compiled and run in.

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

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Final, cast

from jinja2 import nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.filters import FILTERS
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import soft_str

from outreach.campaigns.templates.fields import is_blank
from outreach.campaigns.templates.undefined import Columns, Unset

RANGE_LIMIT: Final = 1_000
WORK_LIMIT: Final = 1_000_000
VALUE_LIMIT: Final = 100_000
NUMBER_LIMIT: Final = 10_000
INT_BITS_LIMIT: Final = 4_096


class _Refused(SecurityError):
    """Something the sandbox does not allow, in words meant for the template's author."""


class _LimitExceeded(Exception):
    """The template asks for more work or a bigger value than a template may."""


class _NoneWritten(Exception):
    pass


class _OutsideRender(Exception):
    """Raised by our filters when Jinja tries to evaluate them while compiling; Jinja then
    leaves them for render time, where the budget applies."""


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
    if isinstance(value, Unset):
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
    if isinstance(value, Unset) and value.nameless:
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
    if isinstance(value, Columns):
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
        undefined=Unset,
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
def prepare(source: str, html: bool) -> tuple[Template | None, tuple[str, ...]]:
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


def run(template: Template, context: Mapping[str, object]) -> str:
    """The output of a prepared template, spending from a fresh budget of ``WORK_LIMIT``; raises
    whatever the template raises (``failure_message`` words it for the template's author)."""
    token = _BUDGET.set(_Budget(WORK_LIMIT))
    try:
        return "".join(template.generate(context))
    finally:
        _BUDGET.reset(token)


def failure_message(error: Exception) -> str:
    """What went wrong in ``run``, completing "The <part> …"."""
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
