"""roost's CrossGuard policy pack: `pulumi preview --policy-pack stacks/policy/pack`.

Never import this module: constructing PolicyPack starts the policy server and blocks.
"""
from pulumi_policy import EnforcementLevel, PolicyPack

from stacks.policy.crossguard import PACK_NAME, policies

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
