"""Names and tags: valid for each cloud, deterministic, and distinct for distinct inputs."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stacks import naming
from stacks.naming import CostTags, physical_name

# Hostile text: any unicode, quotes, shell metacharacters, whitespace, very long.
hostile = st.text(min_size=0, max_size=300)
model_like = st.from_regex(r"[a-z][a-z0-9-]{0,39}", fullmatch=True)

RULES = {
    "aws-lb": (naming.AWS_LB, re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"), 32),
    "aws": (naming.AWS_GENERIC, re.compile(r"^[A-Za-z0-9-]+$"), 64),
    "gcp": (naming.GCP_RESOURCE, re.compile(r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$"), 63),
    "gcp-prefix": (naming.GCP_NAME_PREFIX, re.compile(r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$"), 36),
    "gcp-sa": (naming.GCP_SERVICE_ACCOUNT, re.compile(r"^[a-z](?:[-a-z0-9]*[a-z0-9])$"), 30),
    "azure": (naming.AZURE_GENERIC, re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"), 64),
    "azure-rg": (naming.AZURE_RESOURCE_GROUP, re.compile(r"^[A-Za-z0-9-]*[A-Za-z0-9]$"), 90),
    "key-vault": (naming.AZURE_KEY_VAULT, re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]$"), 24),
    "computer-prefix": (naming.AZURE_COMPUTER_PREFIX, re.compile(r"^[a-z][a-z0-9]*$"), 9),
}


@pytest.mark.parametrize("rule_name", sorted(RULES))
@settings(max_examples=60, deadline=None)
@given(stack=hostile, model=hostile)
def test_physical_names_obey_each_clouds_rules(rule_name, stack, model):
    rule, pattern, max_len = RULES[rule_name]
    name = physical_name(rule, stack, model)
    assert len(name) <= max_len
    assert len(name) >= rule.min_len
    assert pattern.match(name), name
    assert name == physical_name(rule, stack, model)  # deterministic
    if rule is naming.AWS_LB:
        assert not name.startswith("internal-")


@settings(max_examples=200, deadline=None)
@given(a=st.tuples(hostile, hostile), b=st.tuples(hostile, hostile))
def test_distinct_inputs_get_distinct_names_even_when_sanitized_alike(a, b):
    for rule in (naming.AWS_LB, naming.GCP_RESOURCE, naming.AZURE_KEY_VAULT):
        if a != b:
            assert physical_name(rule, *a) != physical_name(rule, *b)


def test_names_that_sanitize_and_truncate_the_same_stay_apart():
    long = "m" * 80
    names = {physical_name(naming.AWS_LB, "prod", m) for m in (long + "a", long + "b", "Model_A", "model-a")}
    assert len(names) == 4
    assert physical_name(naming.AWS_LB, "prod", "fraud-scorer").startswith("prod-fraud-scorer-")


@settings(max_examples=100, deadline=None)
@given(models=st.lists(model_like, min_size=2, max_size=40, unique=True))
def test_a_fleet_never_collides(models):
    for rule in RULES.values():
        names = [physical_name(rule[0], "stack", m) for m in models]
        assert len(set(names)) == len(names)


@settings(max_examples=100, deadline=None)
@given(value=hostile)
def test_tag_and_label_values_are_valid(value):
    gcp = naming.gcp_label_value(value)
    assert re.fullmatch(r"[a-z0-9_-]{0,63}", gcp), gcp
    aws = naming.aws_tag_value(value)
    assert len(aws) <= 256 and re.fullmatch(r"[\w .:/=+\-@]*", aws, re.ASCII)
    azure = naming.azure_tag_value(value)
    assert len(azure) <= 256 and not re.search(r"[<>%&\\?/]", azure)


def test_tag_values_pass_through_when_already_valid_and_stay_distinct_otherwise():
    assert naming.gcp_label_value("fraud-scorer") == "fraud-scorer"
    assert naming.aws_tag_value("Risk Team/EU") == "Risk Team/EU"
    assert naming.gcp_label_value("Risk") != naming.gcp_label_value("risk")


def test_cost_tags_carry_the_required_keys_on_every_cloud():
    tags = CostTags(model="Fraud Scorer", team=None, version="12", stack="prod", spot_policy="never")
    for flavour in (tags.aws(), tags.gcp(), tags.azure()):
        assert set(naming.REQUIRED_TAGS) <= set(flavour)
        assert flavour[naming.TAG_TEAM] == naming.UNASSIGNED_TEAM
        assert flavour[naming.TAG_VERSION] == "12"
    assert tags.gcp()[naming.TAG_MODEL] != "Fraud Scorer"  # labels are lowercase
    assert tags.aws()[naming.TAG_MODEL] == "Fraud Scorer"


@pytest.mark.parametrize(("cost", "expected"), [(105.85, "106"), (0.0, "0"), (40072.69, "40073"), (12.0, "12")])
def test_monthly_cost_tag_rounds_up_to_whole_dollars(cost, expected):
    assert naming.monthly_usd_tag(cost) == {naming.TAG_MONTHLY_USD: expected}


def test_secret_store_names_follow_each_store_rules():
    assert naming.aws_secret_name("prod", "assistant-8b", "hf-token") == "roost/prod/assistant-8b/hf-token"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", naming.gcp_secret_id("prod", "m", "hf.token/x"))
    assert naming.azure_secret_name("hf_token") != naming.azure_secret_name("hf-token")
    assert re.fullmatch(r"[A-Za-z0-9-]{1,127}", naming.azure_secret_name("hf_token"))
    assert naming.secret_env_name("hf-token") == "HF_TOKEN"
    assert naming.secret_env_name("1password") == "S_1PASSWORD"
