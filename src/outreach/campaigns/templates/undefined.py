"""Undefined values: how a template sees a merge field that is empty or missing, and the error
naming it when it is used without a fallback (rule in ``rendering``'s docstring)."""

from __future__ import annotations

from typing import Any, NoReturn

from jinja2.exceptions import UndefinedError
from jinja2.runtime import Undefined
from jinja2.utils import missing

from outreach.campaigns.templates.fields import raw_label


class FieldError(UndefinedError):
    """A merge field used without a fallback while empty or missing."""

    def __init__(self, message: str, field: str | None, key: tuple[str, ...] | None) -> None:
        super().__init__(message)
        self.field = field
        self.key = key


class Columns(dict[str, object]):
    """The ``raw`` columns as a template sees them, so a missing column can be named."""


class Unset(Undefined):
    """A name that is not there. Falsy, so guards and fallbacks work; any other use raises
    ``FieldError`` naming the field (or the sandbox's ``SecurityError``)."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        if self._undefined_exception is not UndefinedError:
            raise self._undefined_exception(self._undefined_message)
        raise self._problem()

    def _problem(self) -> FieldError:
        name, owner = self._undefined_name, self._undefined_obj
        if isinstance(name, str) and owner is missing:
            return FieldError(
                f"uses {{{{ {name} }}}}, which is not a merge field (misspelt?) and has no default",
                field=name,
                key=(name,),
            )
        if isinstance(name, str) and isinstance(owner, Columns):
            label = raw_label(name)
            return FieldError(
                f"uses {{{{ {label} }}}}, which is not a column of this contact and has no default",
                field=label,
                key=("raw", name),
            )
        return FieldError(f"cannot be rendered: {self._undefined_message}", None, None)

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


class Empty(Unset):
    """A merge field that exists but is empty for this contact."""

    __slots__ = ("_key", "_label")

    def __init__(self, label: str, key: tuple[str, ...]) -> None:
        super().__init__(name=label)
        self._label = label
        self._key = key

    def _problem(self) -> FieldError:
        return FieldError(
            f"uses {{{{ {self._label} }}}}, which is empty for this contact and has no default",
            field=self._label,
            key=self._key,
        )
