"""Reading a parsed JSON body into a request type, naming every wrong field at once.

Each field is converted on its own, so a form can show all its mistakes together rather
than the first one. A field's `says` (see `fields`) is what a person is told when it has
the wrong shape; otherwise the library's words are put plainly. An entry of an object keyed
by channel is one field: its errors are named at the channel, as the form has one input
for it."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

import msgspec
from msgspec import Meta, Struct, UnsetType
from msgspec.structs import FieldInfo

from befriend.core.errors import FieldError, InvalidInput
from befriend.core.words import N_

B = TypeVar("B", bound=Struct)
T = TypeVar("T")


class Bad(Exception):
    """A value the playbook does not allow; `where` goes below the field (e.g. "0/channel").
    The message is a template (marked `N_`) with its `values` named beside it, as a
    FieldError holds it."""

    def __init__(self, message: str, where: str = "", **values: object) -> None:
        super().__init__(message % values if values else message)
        self.where, self.message, self.values = where, message, values

    @classmethod
    def of(cls, error: FieldError, where: str = "") -> Bad:
        """The same reason as `error`'s, for a field checked by another reader."""
        return cls(error.template, where, **error.values)


class Reading(Generic[B]):
    """A body read field by field: the values that fit, and every field that does not."""

    def __init__(self, body: object, kind: type[B]) -> None:
        self.kind = kind
        self.errors: list[FieldError] = []
        self.values: dict[str, Any] = {}
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        if not isinstance(body, dict):
            self.fail("", N_("the body must be a JSON object"))
            return
        fields = _fields(kind)
        for key in sorted(set(body) - set(fields)):
            self.fail(
                key, N_("unknown field; allowed: %(allowed)s"), allowed=", ".join(sorted(fields))
            )
        for name, info in fields.items():
            if name not in body:
                if info.required:
                    template, values = _says(info.type) or (N_("is required"), {})
                    self.fail(name, template, **values)
                continue
            self._convert(name, info, body[name])

    def _convert(self, name: str, info: FieldInfo, raw: Any) -> None:
        entries = _entries(info.type)
        if entries is not None and isinstance(raw, dict):
            # Entry by entry, so an error names its key (the library's path leaves it out).
            value_type, keyed = entries
            converted: dict[str, Any] = {}
            for key, item in raw.items():
                try:
                    converted[key] = msgspec.convert(item, value_type)
                except msgspec.ValidationError as exc:
                    where = f"{name}/{key}"
                    self.errors.append(_field_error(where, value_type, str(exc), cut=keyed))
            if len(converted) == len(raw):
                self.values[info.name] = converted
            return
        try:
            self.values[info.name] = msgspec.convert(raw, info.type)
        except msgspec.ValidationError as exc:
            self.errors.append(_field_error(name, info.type, str(exc)))

    def fail(self, where: str, message: str, **values: object) -> None:
        """Name a wrong field: `message` is a template (marked `N_`) of `values`."""
        self.errors.append(FieldError(where, message, values))

    def needs_one(self, say: str) -> None:
        """Refuse an empty object, naming what it may hold: `say` is a template holding
        `%(fields)s`."""
        if not self.body and not self.errors:
            self.fail("", say, fields=", ".join(sorted(_fields(self.kind))))

    def sent(self, name: str) -> bool:
        """Whether the body held `name`, whatever its value."""
        return name in self.body

    def get(self, attr: str, default: Any) -> Any:
        """A field's clean value (after `check`), or `default` when the body left it out
        or it was wrong."""
        return self.values.get(attr, default)

    def check(self, attr: str, clean: Callable[[Any], Any]) -> None:
        """Hold a value that fits its type to the playbook: `clean` returns the value to keep
        or raises Bad."""
        if attr not in self.values:
            return
        try:
            self.values[attr] = clean(self.values[attr])
        except* Bad as group:  # several items of a list may each be wrong
            del self.values[attr]
            name = _fields_by_attr(self.kind)[attr]
            for bad in _leaves(group):
                self.fail(f"{name}/{bad.where}" if bad.where else name, bad.message, **bad.values)

    def done(self) -> None:
        """Raise every wrong field together."""
        if self.errors:
            raise InvalidInput(self.errors)


def _leaves(group: BaseExceptionGroup[Bad]) -> list[Bad]:
    return [
        leaf
        for inner in group.exceptions
        for leaf in (_leaves(inner) if isinstance(inner, BaseExceptionGroup) else [inner])
    ]


def as_type(value: Any, kind: type[B]) -> B:
    """`value` as `kind`, or InvalidInput naming the first thing that does not fit (for an
    item of a batch, which is refused whole)."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise InvalidInput([_field_error("", kind, str(exc))]) from exc


@cache
def _fields(kind: type[Struct]) -> dict[str, FieldInfo]:
    return {f.encode_name: f for f in msgspec.structs.fields(kind)}


@cache
def _fields_by_attr(kind: type[Struct]) -> dict[str, str]:
    return {f.name: f.encode_name for f in msgspec.structs.fields(kind)}


# --- where an error is, and what to tell the person ---

_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[\"((?:[^\"\\]|\\.)*)\"\]|\[(.*?)\]")


def _entries(tp: Any) -> tuple[Any, bool] | None:
    """For an object-typed field: the type of its values, and whether it is keyed by
    channel; None for any other field."""
    for member in _members(tp):
        bare, metas = _parts(member)
        if get_origin(bare) is dict:
            keyed = any("x-playbook-keys" in (m.extra_json_schema or {}) for m in metas)
            return get_args(bare)[1], keyed
    return None


def _field_error(name: str, tp: Any, text: str, *, cut: bool = False) -> FieldError:
    message, _, where = text.partition(" - at `")
    steps = _steps(where.rstrip("`")[1:]) if where else []
    pointer = [name]
    for step in steps:
        tp, entry = _below(tp, step)
        if not cut:
            pointer.append(step)
        cut = cut or entry
    template, values = _says(tp) or _plainly(message)
    return FieldError("/".join(pointer).lstrip("/"), template, values)


def _steps(path: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in _STEP.finditer(path)]


def _parts(tp: Any) -> tuple[Any, list[Meta]]:
    """A type without its Annotated metadata, and the Meta objects it carried."""
    metas: list[Meta] = []
    while get_origin(tp) is Annotated:
        tp, *extra = get_args(tp)
        metas += [m for m in extra if isinstance(m, Meta)]
    return tp, metas


def _members(tp: Any) -> list[Any]:
    """The types a union allows (None and UNSET aside), each with its metadata."""
    bare, _ = _parts(tp)
    if get_origin(bare) in (Union, UnionType):
        return [m for a in get_args(bare) for m in _members(a) if m not in (NoneType, UnsetType)]
    return [tp]


def _below(tp: Any, step: str) -> tuple[Any, bool]:
    """The type at `step` below `tp`, and whether `tp` is an object keyed by channel (so
    the pointer stops at the key)."""
    for member in _members(tp):
        bare, metas = _parts(member)
        origin = get_origin(bare) or bare
        if origin is list and step.isdigit():
            return get_args(bare)[0], False
        if origin is dict:
            keyed = any("x-playbook-keys" in (m.extra_json_schema or {}) for m in metas)
            return get_args(bare)[1], keyed
        if isinstance(origin, type) and issubclass(origin, Struct):
            found = _fields(origin).get(step)
            if found is not None:
                return found.type, False
    return Any, False


def _says(tp: Any) -> Said | None:
    """What the field's `says` tells a person: its template and values."""
    for member in [tp, *_members(tp)]:
        for meta in _parts(member)[1]:
            if meta.extra and "says" in meta.extra:
                return str(meta.extra["says"]), dict(meta.extra.get("says_values", {}))
    return None


_KINDS = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
# The sentences for one kind, or one kind or null, whole: a translation may need to put
# the kind's words anywhere in it.
_MUST_BE = {
    ("str",): N_("must be a string"),
    ("int",): N_("must be a whole number"),
    ("float",): N_("must be a number"),
    ("bool",): N_("must be true or false"),
    ("array",): N_("must be a list"),
    ("object",): N_("must be an object"),
    ("null",): N_("must be null"),
    ("str", "null"): N_("must be a string or null"),
    ("int", "null"): N_("must be a whole number or null"),
    ("float", "null"): N_("must be a number or null"),
    ("bool", "null"): N_("must be true or false or null"),
    ("array", "null"): N_("must be a list or null"),
    ("object", "null"): N_("must be an object or null"),
}
Said = tuple[str, dict[str, object]]


def _must_be(kinds: list[str]) -> Said:
    whole = _MUST_BE.get(tuple(kinds))
    if whole is not None:
        return whole, {}
    return N_("must be %(kinds)s"), {"kinds": " or ".join(_KINDS.get(k, k) for k in kinds)}


def _at_least(n: str) -> Said:
    if n == "1":
        return N_("at least %(n)s character"), {"n": n}
    return N_("at least %(n)s characters"), {"n": n}


_PLAIN: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Said]]] = [
    (
        re.compile(r"Expected `str` of length <= (\d+)"),
        lambda m: (N_("at most %(n)s characters"), {"n": m[1]}),
    ),
    (re.compile(r"Expected `str` of length >= (\d+)"), lambda m: _at_least(m[1])),
    (
        re.compile(r"Expected `array` of length <= (\d+)"),
        lambda m: (N_("at most %(n)s items"), {"n": m[1]}),
    ),
    (
        re.compile(r"Expected `array` of length >= (\d+)"),
        lambda m: (N_("at least %(n)s items"), {"n": m[1]}),
    ),
    (
        re.compile(r"Expected `\w+` >= (\S+)"),
        lambda m: (N_("must be %(n)s or more"), {"n": m[1]}),
    ),
    (
        re.compile(r"Expected `\w+` <= (\S+)"),
        lambda m: (N_("must be %(n)s or less"), {"n": m[1]}),
    ),
    (
        re.compile(r"Expected `str` matching regex"),
        lambda m: (N_("is not in the expected form"), {}),
    ),
    (
        re.compile(r"Object missing required field `(.+)`"),
        lambda m: (N_("%(field)s is required"), {"field": m[1]}),
    ),
    (
        re.compile(r"Object contains unknown field `(.+)`"),
        lambda m: (N_("unknown field %(field)s"), {"field": m[1]}),
    ),
    (
        re.compile(r"Invalid enum value (.+)"),
        lambda m: (N_("%(value)s is not allowed"), {"value": m[1]}),
    ),
    (re.compile(r"Expected `([^`]+)`"), lambda m: _must_be(m[1].split(" | "))),
]


def _plainly(message: str) -> Said:
    for pattern, say in _PLAIN:
        found = pattern.match(message)
        if found:
            return say(found)
    # The library's own words, which no catalog holds.
    return message[:1].lower() + message[1:], {}
