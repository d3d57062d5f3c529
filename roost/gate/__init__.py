"""`roost ci`: the infrastructure stage of a pipeline, as five gates over one stack.

    stale          the committed decisions (Pulumi.<stack>.yaml ``roost:plan``) still follow from the
                   fleet file: placements are recomputed with the model and catalog that made them
    policy         the offline preview's resources pass the mandatory policy rules
    budget         model budgets (fleet file), team and stack budgets (``roost:budgets``)
    cost_increase  the monthly cost change against the base version stays within
                   ``--max-increase-usd`` / ``--max-increase-pct``
    quality        a registry default model newer than the one that made the decisions does not
                   evaluate worse than it on the same held-out set

``checks`` holds the gates as pure functions, ``markdown`` renders a result for a pull
request, ``run`` gathers the inputs (files, store, registry, recommender, offline preview).
Exit codes: 0 every gate passed, 1 a gate failed, 2 invalid input, 3 engine or internal error.
"""
