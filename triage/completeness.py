"""Completeness checks: which key fields a ticket still lacks for its type, and how to ask for them.

Templates (``triage/resources/field_templates.yaml`` unless given) hold three sections:

``requirements``
    name -> ``{any_of: [field types], zh: ..., en: ...}``. A requirement is met when the ticket has
    a field of any listed type; ``any_of`` defaults to ``[name]``, which must then be a field type.
``departments``
    department code -> ``{required: [requirement names], optional: [...]}``.
``categories`` (optional)
    department code -> category code -> ``{required: [...], optional: [...]}``: what a ticket of
    that type needs. A password reset needs the account, not a host or an error code.

A ticket whose category is known (and not abstained) is checked against its category's template.
When the category is uncertain, or has no template, only what every category of the department
requires is asked for (the department template's requirements they all share): a question never
asks for something the ticket's type may not need. With no category at all (``category=None``)
the department template applies as written.

Missing required fields become one polite question in the ticket's language: Chinese for ``zh`` and
``mixed`` tickets, English otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.fields import FIELD_TYPES
from triage.types import Completeness, ExtractedField
from triage.yaml_loader import read_yaml_mapping

logger = logging.getLogger(__name__)

BUNDLED_TEMPLATES = Path(__file__).resolve().parent / "resources" / "field_templates.yaml"
DEPARTMENTS = ("IT", "HR", "Finance", "Facilities", "Procurement", "Legal", "CustomerService", "Security")

_QUESTION = {
    "zh": "为尽快处理，请补充：{items}。",
    "en": "To help us resolve this quickly, please provide: {items}.",
}
_JOINER = {"zh": "、", "en": ", "}


class TemplateError(ValueError):
    """Completeness templates that cannot be used; the message names the source and the key."""


@dataclass(frozen=True)
class Requirement:
    """One thing a department needs, met by a field of any type in ``any_of``."""

    name: str
    any_of: frozenset[str]
    zh: str
    en: str

    def label(self, language: str) -> str:
        """The display name in ``"zh"`` or (for anything else) English."""
        return self.zh if language == "zh" else self.en


@dataclass(frozen=True)
class DepartmentTemplate:
    """A department's required and optional requirements, in display order."""

    required: tuple[Requirement, ...]
    optional: tuple[Requirement, ...]


@dataclass(frozen=True)
class Templates:
    """Department templates plus category templates per department."""

    departments: dict[str, DepartmentTemplate]
    categories: dict[str, dict[str, DepartmentTemplate]]


class CompletenessChecker:
    """Checks extracted fields against what each ticket category (or department) needs."""

    def __init__(self, templates: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._departments: Templates | None = None
        self._lock = threading.Lock()
        if templates is not None:
            # Validated here (no I/O): a bad mapping fails where it is built, not on the first ticket.
            self._departments = _parse_templates(templates, "templates")

    @classmethod
    def from_yaml(cls, path: Path) -> CompletenessChecker:
        """Read and validate templates from a YAML file; errors name the file and the bad key."""
        checker = cls()
        checker._departments = _parse_templates(_read_yaml(Path(path)), str(path))
        return checker

    @property
    def departments(self) -> tuple[str, ...]:
        """Department codes with a template (loads the bundled templates if needed)."""
        return tuple(self._templates().departments)

    def load(self) -> None:
        """Read the bundled templates when none were given; safe to call again."""
        if self._departments is not None:
            return
        with self._lock:
            if self._departments is None:
                self._departments = _parse_templates(_read_yaml(BUNDLED_TEMPLATES), str(BUNDLED_TEMPLATES))
                logger.info(
                    "completeness templates loaded for %d departments", len(self._departments.departments)
                )

    def _templates(self) -> Templates:
        self.load()
        if self._departments is None:  # pragma: no cover - load() always sets it or raises
            raise RuntimeError("completeness templates failed to load")
        return self._departments

    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        """Category codes with a template, per department."""
        return {d: tuple(c) for d, c in self._templates().categories.items()}

    def template_for(
        self, department: str, category: str | None = None, category_abstained: bool = False
    ) -> DepartmentTemplate | None:
        """The template a ticket is checked against (see the module docstring)."""
        templates = self._templates()
        by_category = templates.categories.get(department, {})
        if category is not None and not category_abstained and category in by_category:
            return by_category[category]
        base = templates.departments.get(department)
        if base is None or category is None or not by_category:
            return base
        # The type is uncertain: ask only for what every type of this department needs.
        common = tuple(r for r in base.required if all(r in t.required for t in by_category.values()))
        return DepartmentTemplate(required=common, optional=base.optional)

    def check(
        self,
        department: str,
        fields: Sequence[ExtractedField],
        language: str,
        category: str | None = None,
        category_abstained: bool = False,
    ) -> Completeness:
        """Report met and missing requirements, with a question for the requester when any is missing.

        ``category`` (the predicted ticket type) picks the category's template; when it is
        ``category_abstained`` (or unknown), only requirements every category shares are asked for.
        """
        template = self.template_for(department, category, category_abstained)
        if template is None:
            logger.debug("no completeness template for department %r", department)
            return Completeness(department=department)
        types = {f.type for f in fields}
        missing = tuple(r for r in template.required if not r.any_of & types)
        met = tuple(r for r in (*template.required, *template.optional) if r.any_of & types)
        questions = {
            lang: _QUESTION[lang].format(items=_JOINER[lang].join(r.label(lang) for r in missing))
            for lang in _QUESTION
            if missing
        }
        ticket_lang = "zh" if language in ("zh", "mixed") else "en"
        return Completeness(
            department=department,
            missing=tuple(r.name for r in missing),
            present=tuple(r.name for r in met),
            question=questions.get(ticket_lang),
            questions=questions,
            labels={lang: {r.name: r.label(lang) for r in (*missing, *met)} for lang in _QUESTION},
        )


def _read_yaml(path: Path) -> Mapping[str, Any]:
    return read_yaml_mapping(
        path,
        what="completeness templates",
        expected="a mapping with 'requirements' and 'departments' at the top level",
        error=TemplateError,
    )


def _parse_templates(data: Mapping[str, Any], source: str) -> Templates:
    unknown = set(data) - {"version", "requirements", "departments", "categories"}
    if unknown:
        raise TemplateError(
            f"{source}: unknown top-level key(s) {', '.join(map(repr, sorted(unknown)))}; "
            "expected 'version', 'requirements', 'departments' and 'categories'"
        )
    requirements = _parse_requirements(_mapping(data.get("requirements"), f"{source}: requirements"), source)
    departments = _mapping(data.get("departments"), f"{source}: departments")
    parsed = {
        str(code): _template(spec, requirements, f"{source}: departments.{code}")
        for code, spec in departments.items()
    }
    categories: dict[str, dict[str, DepartmentTemplate]] = {}
    for department, by_category in _mapping(data.get("categories", {}), f"{source}: categories").items():
        where = f"{source}: categories.{department}"
        if department not in parsed:
            raise TemplateError(
                f"{where}: department {department!r} has no template under 'departments'; add one "
                "(its fallback when the category is uncertain)"
            )
        categories[str(department)] = {
            str(code): _template(spec, requirements, f"{where}.{code}")
            for code, spec in _mapping(by_category, where).items()
        }
    return Templates(parsed, categories)


def _template(spec: Any, requirements: Mapping[str, Requirement], where: str) -> DepartmentTemplate:
    spec = _mapping(spec, where)
    extra = set(spec) - {"required", "optional"}
    if extra:
        raise TemplateError(
            f"{where}: unknown key(s) {', '.join(map(repr, sorted(extra)))}; use 'required', 'optional'"
        )
    return DepartmentTemplate(
        required=_requirement_list(spec.get("required", []), requirements, f"{where}.required"),
        optional=_requirement_list(spec.get("optional", []), requirements, f"{where}.optional"),
    )


def _parse_requirements(raw: Mapping[str, Any], source: str) -> dict[str, Requirement]:
    parsed: dict[str, Requirement] = {}
    for name, spec in raw.items():
        where = f"{source}: requirements.{name}"
        spec = _mapping(spec, where)
        members = spec.get("any_of", [name])
        if not isinstance(members, list) or not members:
            raise TemplateError(f"{where}.any_of: expected a non-empty list of field types")
        for member in members:
            if member not in FIELD_TYPES:
                raise TemplateError(
                    f"{where}.any_of: unknown field type {member!r}; known types: {', '.join(FIELD_TYPES)}"
                )
        labels = {}
        for lang in ("zh", "en"):
            label = spec.get(lang)
            if not isinstance(label, str) or not label.strip():
                raise TemplateError(
                    f"{where}.{lang}: missing display name; give the {lang} text to ask for it"
                )
            labels[lang] = label.strip()
        parsed[str(name)] = Requirement(str(name), frozenset(members), labels["zh"], labels["en"])
    return parsed


def _requirement_list(
    raw: Any, requirements: Mapping[str, Requirement], where: str
) -> tuple[Requirement, ...]:
    if not isinstance(raw, list):
        raise TemplateError(f"{where}: expected a list of requirement names")
    resolved = []
    for name in raw:
        if name not in requirements:
            known = ", ".join(sorted(requirements))
            raise TemplateError(
                f"{where}: unknown requirement {name!r}; define it under 'requirements' (known: {known})"
            )
        resolved.append(requirements[name])
    return tuple(resolved)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TemplateError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value
