"""The Pulumi edge of roost: the program that deploys a committed plan, its components,
names, settings, the offline preview machinery and the policy rules.

Imports only ``placement`` value types (never the recommender), so ``pulumi up`` deploys
exactly what was committed.
"""
