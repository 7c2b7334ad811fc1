"""The one explicit list of built-in rules.

Adding a built-in rule means adding it here (and to rulesets/default.yaml);
outside packs use the ``shencha.rules`` entry-point group instead.
"""

from checks.rules import (
    completeness,
    consistency,
    drawings,
    evacuation,
    fire_separation,
    identifiers,
    plans,
    registry_rules,
)

BUILTIN_RULES = (
    identifiers.resident_id,
    identifiers.uscc,
    identifiers.licence_no,
    identifiers.cert_number,
    consistency.person_identity,
    consistency.company_identity,
    consistency.cert_dates,
    completeness.documents,
    completeness.roster_cert_no,
    completeness.roster_id_no,
    completeness.responsibility_principal,
    fire_separation.civil_separation,
    fire_separation.factory_separation,
    fire_separation.warehouse_separation,
    # Distances measured on the drawings themselves (extractor.drawings, attributes.origin "drawing");
    # the fire_separation rules above leave those fields to these two.
    drawings.separation,
    drawings.annotation_consistency,
    evacuation.evacuation_width_civil,
    evacuation.evacuation_width_factory,
    plans.scaffold_special_plan,
    plans.fall_protection,
    plans.expert_review,
    registry_rules.certificates,
    registry_rules.companies,
)
