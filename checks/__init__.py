"""shencha checks: the rule engine, the built-in rule pack and the rule author's API.

    import checks
    result = checks.run(view)                       # bundled default ruleset
    result = checks.run(view, checks.load_ruleset("my.yaml"), lookup=lookup)

Rule authors need ``rule``, ``Citation``, ``Fact``, ``RuleContext`` and
``checks.testing`` (``build``, ``f``, ``example``).
"""

from checks.catalogue import ENTRY_POINT_GROUP, Registry, load_registry
from checks.engine import Citation, Example, Fact, NoParams, RuleContext, RuleSpec, rule
from checks.model import Finding
from checks.ruleset import Ruleset, RulesetError, load_ruleset
from checks.runner import RuleError, RunResult, run
from checks.view import ApplicationInfo, ApplicationView, DocumentInfo

__all__ = [
    "ENTRY_POINT_GROUP", "ApplicationInfo", "ApplicationView", "Citation", "DocumentInfo", "Example", "Fact",
    "Finding", "NoParams", "Registry", "RuleContext", "RuleError", "RuleSpec", "Ruleset", "RulesetError",
    "RunResult", "load_registry", "load_ruleset", "rule", "run",
]
