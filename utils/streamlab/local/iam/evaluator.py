"""Decide an AWS request against IAM policies, the way IAM does.

Pure Python and independent of moto: moto's IAM enforcement looks at actions
only, but whether the participant policy keeps one participant away from
another's tables, functions and roles depends on Resource and Condition. This
module follows AWS's documented evaluation logic for identity-based policies
and permissions boundaries (one account, no SCPs, no session policies):

* an explicit ``Deny`` in any policy wins; otherwise the identity policies must
  ``Allow``; and when a permissions boundary is set it must allow too (the
  effective permissions are the intersection), else the request is implicitly
  denied.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
* ``Action``/``NotAction`` match case-insensitively with ``*`` and ``?``;
  ``Resource``/``NotResource`` match case-sensitively, each of an ARN's six
  colon-separated parts on its own (a wildcard never spans the region and the
  account). https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
* condition keys are case-insensitive, values case-sensitive unless the
  operator says otherwise; several operators, and several keys in one, must all
  hold; several values of one key are alternatives. A missing key makes a
  condition false, except for negated operators (``StringNotEquals``,
  ``ArnNotLike`` ...), ``...IfExists`` and ``Null``; ``ForAllValues`` over a
  missing key is true, ``ForAnyValue`` false.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
* policy variables (``${aws:username}``, ``${aws:PrincipalTag/team}``,
  ``${key, 'default'}``, ``${*}``) are replaced in Resource and in string and
  ARN condition values of ``2012-10-17`` policies; one whose key is missing and
  has no default matches nothing.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

Not modelled: resource-based policies, SCPs/RCPs, session policies, Date and
Binary operators (using one raises ``PolicyError``, never a silent answer).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

VARIABLES_VERSION = "2012-10-17"
ContextValue = str | bool | int | float | Sequence[str]

# A policy variable's value must match literally, even if it holds * or ?: while a
# pattern is being built, they stand in for the escaped characters.
_LITERAL_STAR = "\ue000"
_LITERAL_QUESTION = "\ue001"
_LITERAL_DOLLAR = "\ue002"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")


class PolicyError(ValueError):
    """A policy this evaluator cannot decide faithfully (malformed, or an unmodelled operator)."""


@dataclass(frozen=True)
class Request:
    """One authorisation IAM makes: an action on one resource, with the request's context.

    ``resource`` is the ARN (or ``*`` for actions without a resource type);
    ``context`` holds the condition keys, a list for a multi-valued key.
    """

    action: str
    resource: str = "*"
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome and why: ``allowed`` is True only for an explicit, unbounded Allow."""

    allowed: bool
    reason: str
    explicit_deny: bool = False

    def __bool__(self) -> bool:
        return self.allowed


# -- matching ------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern:
    out = []
    for char in pattern:
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(_unescape(char)))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _unescape(text: str) -> str:
    return (
        text.replace(_LITERAL_STAR, "*")
        .replace(_LITERAL_QUESTION, "?")
        .replace(_LITERAL_DOLLAR, "$")
    )


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """``*`` is any run of characters, ``?`` exactly one; everything else is literal."""
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def arn_match(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: ``*`` alone matches anything, otherwise part by part.

    The five parts before the resource (``arn``, partition, service, region,
    account) are matched one by one and the resource part (which may hold
    further colons) as a whole, so ``arn:aws:lambda:*:function:f`` does not
    stretch its ``*`` over region and account.
    """
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(glob_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


# -- policy variables ----------------------------------------------------------------------


class _Unresolved(Exception):
    pass


def _substitute(text: str, context: Mapping[str, list[str]], enabled: bool) -> str:
    """Replace ``${...}`` with context values (escaped so they match literally)."""
    if not enabled or "${" not in text:
        return text

    def replace(match: re.Match) -> str:
        inner = match.group(1)
        special = {"*": _LITERAL_STAR, "?": _LITERAL_QUESTION, "$": _LITERAL_DOLLAR}
        if inner in special:
            return special[inner]
        default = None
        with_default = _DEFAULT.match(inner)
        key = inner.strip()
        if with_default:
            key, default = with_default.group(1), with_default.group(2)
        values = context.get(key.lower())
        if values and len(values) == 1:
            value = values[0]
        elif default is not None:
            value = default
        else:
            raise _Unresolved(key)
        return value.replace("*", _LITERAL_STAR).replace("?", _LITERAL_QUESTION)

    return _VARIABLE.sub(replace, text)


# -- conditions ----------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _ip_match(value: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(value: str, policy_value: str) -> bool:
        a, b = _number(value), _number(policy_value)
        return a is not None and b is not None and compare(a, b)

    return match


# operator -> (matcher(context value, policy value), negated, takes policy variables)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool, bool]] = {
    "StringEquals": (lambda v, p: v == _unescape(p), False, True),
    "StringNotEquals": (lambda v, p: v == _unescape(p), True, True),
    "StringEqualsIgnoreCase": (lambda v, p: v.lower() == _unescape(p).lower(), False, True),
    "StringNotEqualsIgnoreCase": (lambda v, p: v.lower() == _unescape(p).lower(), True, True),
    "StringLike": (lambda v, p: glob_match(p, v), False, True),
    "StringNotLike": (lambda v, p: glob_match(p, v), True, True),
    "ArnEquals": (lambda v, p: arn_match(p, v), False, True),
    "ArnLike": (lambda v, p: arn_match(p, v), False, True),
    "ArnNotEquals": (lambda v, p: arn_match(p, v), True, True),
    "ArnNotLike": (lambda v, p: arn_match(p, v), True, True),
    "Bool": (lambda v, p: v.lower() == p.lower(), False, False),
    "NumericEquals": (_numeric(lambda a, b: a == b), False, False),
    "NumericNotEquals": (_numeric(lambda a, b: a == b), True, False),
    "NumericLessThan": (_numeric(lambda a, b: a < b), False, False),
    "NumericLessThanEquals": (_numeric(lambda a, b: a <= b), False, False),
    "NumericGreaterThan": (_numeric(lambda a, b: a > b), False, False),
    "NumericGreaterThanEquals": (_numeric(lambda a, b: a >= b), False, False),
    "IpAddress": (_ip_match, False, False),
    "NotIpAddress": (_ip_match, True, False),
}
_QUALIFIERS = ("ForAllValues", "ForAnyValue")


def _as_strings(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_as_string(v) for v in value]
    return [_as_string(value)]


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _condition_holds(
    operator: str, key: str, policy_values: Any, context: Mapping[str, list[str]], variables: bool
) -> bool:
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in _QUALIFIERS:
            raise PolicyError(f"unknown set operator {qualifier!r}")
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    base = operator[: -len("IfExists")] if if_exists else operator
    values = context.get(key.lower())
    present = bool(values)
    wanted = _as_strings(policy_values)
    if base == "Null":
        return any((not present) if w.lower() == "true" else present for w in wanted)
    if base not in _OPERATORS:
        raise PolicyError(f"condition operator {operator!r} is not modelled by this evaluator")
    matcher, negated, takes_variables = _OPERATORS[base]
    patterns = []
    for value in wanted:
        try:
            patterns.append(_substitute(value, context, variables and takes_variables))
        except _Unresolved:
            continue  # a value whose variable has no value matches nothing

    def matches(context_value: str) -> bool:
        return any(matcher(context_value, pattern) for pattern in patterns)

    if not present:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return negated
    assert values is not None
    if qualifier == "ForAllValues":
        return all(matches(v) != negated for v in values)
    if qualifier == "ForAnyValue":
        return any(matches(v) != negated for v in values)
    if negated:
        return not any(matches(v) for v in values)
    return any(matches(v) for v in values)


def _conditions_hold(block: Any, context: Mapping[str, list[str]], variables: bool) -> bool:
    if not block:
        return True
    if not isinstance(block, Mapping):
        raise PolicyError("Condition must be an object of operators")
    for operator, keys in block.items():
        if not isinstance(keys, Mapping):
            raise PolicyError(f"condition {operator!r} must map keys to values")
        for key, policy_values in keys.items():
            if not _condition_holds(operator, key, policy_values, context, variables):
                return False
    return True


# -- statements and policies ---------------------------------------------------------------


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _element(statement: Mapping[str, Any], name: str) -> tuple[list[str], bool]:
    if name in statement:
        return _listed(statement[name]), False
    if f"Not{name}" in statement:
        return _listed(statement[f"Not{name}"]), True
    raise PolicyError(f"a statement needs {name} or Not{name}: {statement!r}")


def _resource_matches(
    pattern: str, resource: str, context: Mapping[str, list[str]], v: bool
) -> bool:
    try:
        pattern = _substitute(pattern, context, v)
    except _Unresolved:
        return False
    if pattern == "*":
        return True
    return arn_match(pattern, resource)


def statement_applies(
    statement: Mapping[str, Any], request: Request, *, version: str = VARIABLES_VERSION
) -> bool:
    """Whether a statement's action, resource and conditions all cover the request."""
    context = normalise_context(request.context)
    variables = version == VARIABLES_VERSION
    actions, not_action = _element(statement, "Action")
    if any(glob_match(a, request.action, ignore_case=True) for a in actions) == not_action:
        return False
    resources, not_resource = _element(statement, "Resource")
    hit = any(_resource_matches(r, request.resource, context, variables) for r in resources)
    if hit == not_resource:
        return False
    return _conditions_hold(statement.get("Condition"), context, variables)


def normalise_context(context: Mapping[str, ContextValue]) -> dict[str, list[str]]:
    """Condition keys lower-cased (IAM ignores their case), every value a list of strings."""
    return {key.lower(): _as_strings(value) for key, value in context.items()}


def _document(policy: Mapping[str, Any] | str) -> Mapping[str, Any]:
    return json.loads(policy) if isinstance(policy, str) else policy


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _matching(
    policies: Iterable[Mapping[str, Any] | str], request: Request, effect: str
) -> list[str]:
    found = []
    for index, policy in enumerate(policies):
        document = _document(policy)
        version = document.get("Version", "2008-10-17")
        for number, statement in enumerate(_statements(document)):
            if statement.get("Effect") not in ("Allow", "Deny"):
                raise PolicyError(f"Effect must be Allow or Deny: {statement!r}")
            if statement["Effect"] == effect and statement_applies(
                statement, request, version=version
            ):
                found.append(statement.get("Sid") or f"policy {index} statement {number}")
    return found


def evaluate(
    request: Request,
    identity_policies: Sequence[Mapping[str, Any] | str],
    *,
    boundary: Mapping[str, Any] | str | None = None,
) -> Decision:
    """IAM's decision for one request of a principal with these policies (and boundary)."""
    policies = list(identity_policies)
    denied = _matching(policies, request, "Deny")
    if denied:
        return Decision(False, f"explicitly denied by {denied[0]}", explicit_deny=True)
    if boundary is not None:
        boundary_denied = _matching([boundary], request, "Deny")
        if boundary_denied:
            return Decision(
                False, f"explicitly denied by the boundary's {boundary_denied[0]}", True
            )
    allowed = _matching(policies, request, "Allow")
    if not allowed:
        return Decision(False, "implicitly denied: no statement allows it")
    if boundary is not None and not _matching([boundary], request, "Allow"):
        return Decision(False, "implicitly denied: the permissions boundary does not allow it")
    return Decision(True, f"allowed by {allowed[0]}")


def evaluate_all(
    requests: Iterable[Request],
    identity_policies: Sequence[Mapping[str, Any] | str],
    *,
    boundary: Mapping[str, Any] | str | None = None,
) -> Decision:
    """One API call may need several authorisations (CreateFunction also passes a role):
    allowed only when each of them is."""
    last = Decision(False, "no authorisation to make")
    for request in requests:
        last = evaluate(request, identity_policies, boundary=boundary)
        if not last.allowed:
            return Decision(
                False, f"{request.action} on {request.resource}: {last.reason}", last.explicit_deny
            )
    return last
