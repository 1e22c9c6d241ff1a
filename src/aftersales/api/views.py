"""A response model derived from a service's view, so that a view's fields are written once.

A service answers with a frozen dataclass (``services.reports.ForceMajeureView`` …). The
API's response model is generated from it with :func:`view_model`: the same fields, in
the same order, with the same types; nested views are the models generated for them. The
API says only what is its own: the model's name in the OpenAPI document, a field's JSON
name where it differs (``shop_code`` is ``shop``), its description, a field it leaves out,
a JSON object's shape where the view holds a plain ``dict``, and a field a view computes
(a property). ``Model.model_validate(view)`` reads the view's attributes
(``from_attributes``): no copy function between the two.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import types
from collections.abc import Collection, Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

_CONFIG = ConfigDict(from_attributes=True)


def _substitute(tp: Any, models: Mapping[type, type[BaseModel]]) -> Any:
    """``tp`` with every view in it replaced by its model (tuples read as JSON arrays)."""
    if isinstance(tp, type) and tp in models:
        return models[tp]
    origin = get_origin(tp)
    if origin is None or origin is Literal:
        return tp
    args = tuple(_substitute(a, models) for a in get_args(tp))
    if origin in (types.UnionType, Union):
        return functools.reduce(operator.or_, args)
    if origin in (list, tuple):
        return list[args[0]]  # type: ignore[valid-type]
    return origin[args]


def view_model(
    view: type,
    name: str,
    *,
    module: str,
    rename: Mapping[str, str] | None = None,
    omit: Collection[str] = (),
    describe: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    shapes: Mapping[str, Any] | None = None,
    computed: Mapping[str, Any] | None = None,
    models: Mapping[type, type[BaseModel]] | None = None,
) -> type[BaseModel]:
    """The response model ``name`` of the dataclass ``view``, made in ``module`` (the
    caller's ``__name__``: it tells two models of one name apart in the OpenAPI document,
    ``AppealOut`` of interventions and of reviews, as for a class written there).

    ``rename``: view field -> JSON name; ``omit``: view fields not shown; ``describe``:
    JSON name -> description; ``defaults``: JSON name -> the default the schema names
    (a field that may be left out); ``shapes``: view field -> the type shown instead (a model
    for a ``dict``); ``computed``: JSON name -> type of a property of the view, shown after
    the fields; ``models``: the model of each nested view type.
    """
    for model in (models or {}).values():
        if not model.model_config.get("from_attributes"):
            raise TypeError(f"{name}: {model.__name__} does not read attributes")
    rename = rename or {}
    describe = describe or {}
    defaults = defaults or {}
    shapes = shapes or {}
    models = models or {}
    hints = get_type_hints(view)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(view):
        if f.name in omit:
            continue
        shown = rename.get(f.name, f.name)
        tp = shapes.get(f.name, _substitute(hints[f.name], models))
        fields[shown] = (
            tp,
            Field(
                defaults.get(shown, ...),
                validation_alias=f.name if shown != f.name else None,
                description=describe.get(shown),
            ),
        )
    for shown, tp in (computed or {}).items():
        fields[shown] = (tp, Field(description=describe.get(shown)))
    unknown = (set(describe) | set(defaults)) - set(fields)
    if unknown:
        raise TypeError(f"{name}: no fields {sorted(unknown)}")
    return create_model(name, __config__=_CONFIG, __module__=module, **fields)


def list_model(
    name: str,
    item: type[BaseModel],
    *,
    module: str,
    description: str | None = None,
    **more: Any,
) -> type[BaseModel]:
    """The model ``name`` of a list answer: ``{"items": [item, ...]}`` and ``more`` fields
    (JSON name -> ``(type, Field(...))``), made in ``module`` (see :func:`view_model`)."""
    items = (list[item], Field(description=description))  # type: ignore[valid-type]
    return create_model(name, __module__=module, items=items, **more)
