"""Issue 13, least privilege by default: what each fleet's identity may do, on what, per cloud,
as the real program declares it under mocks."""
from __future__ import annotations

import json

import pytest

from placement.types import Cloud
from stacks import provider_values as pv
from stacks.machines import azure_trusted_launch
from stacks.userdata import artifact_repository, ecr_repository

ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/fraud:1.4"
AR_IMAGE = "europe-west4-docker.pkg.dev/acme-images/models/embedder@sha256:abc"


def statements(resource) -> dict[str, dict]:
    return {st["Sid"]: st for st in json.loads(resource.inputs["policy"])["Statement"]}


# --- AWS ------------------------------------------------------------------------------------------


def test_aws_role_reads_its_own_log_group_and_registry_only(kit):
    plan = kit.plan(kit.deployment("fraud", image=ECR_IMAGE), kit.deployment("hub", image="vllm/vllm-openai:v0.9"))
    result = kit.run(plan, planVersion="3")
    assert not kit.of_type(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    fraud = statements(kit.one(result, "aws:iam/rolePolicy:RolePolicy", "fraud-role-runtime"))
    log_group = kit.one(result, "aws:cloudwatch/logGroup:LogGroup", "fraud-logs")
    group_arn = f"arn:aws:cloudwatch:region:123456789012:{log_group.name}"  # the mock's ARN for it
    assert fraud["OwnLogGroup"]["Resource"] == [group_arn, f"{group_arn}:log-stream:*"]
    assert fraud["PullOwnImage"]["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/team/fraud"
    assert fraud["Metrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}
    # Only actions AWS cannot scope to a resource are on "*".
    unscoped = {a for st in fraud.values() if st["Resource"] == "*" for a in st["Action"]}
    assert unscoped == {"ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel", "cloudwatch:PutMetricData", "ec2:DescribeTags",
                        "ecr:GetAuthorizationToken"}
    hub = statements(kit.one(result, "aws:iam/rolePolicy:RolePolicy", "hub-role-runtime"))
    assert "PullOwnImage" not in hub and "RegistryLogin" not in hub   # a public image needs no ECR rights
    assert hub["OwnLogGroup"]["Resource"][0].endswith("hub-logs")


def test_aws_imds_hop_limit_is_one_unless_the_stack_opts_in(kit):
    plan = kit.plan(kit.deployment("m"))
    default = kit.one(kit.run(plan), "aws:ec2/launchTemplate:LaunchTemplate", "m")
    assert default.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert default.inputs["metadataOptions"]["httpTokens"] == "required"
    opted = kit.one(kit.run(plan, aws={"allowContainerMetadata": True}), "aws:ec2/launchTemplate:LaunchTemplate", "m")
    assert opted.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 2


@pytest.mark.parametrize(("image", "arn"), [
    (ECR_IMAGE, "arn:aws:ecr:us-east-1:123456789012:repository/team/fraud"),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/x@sha256:00", "arn:aws-cn:ecr:cn-north-1:123456789012:repository/x"),
    ("ghcr.io/acme/x:1", None), ("ubuntu", None),
])
def test_ecr_repository_of_an_image(image, arn):
    repo = ecr_repository(image)
    assert (repo.arn if repo else None) == arn


# --- GCP ------------------------------------------------------------------------------------------


GCP = {"cloud": Cloud.GCP, "region": "europe-west4", "instance_type": "n2-standard-4"}


def test_gcp_registry_reader_is_scoped_to_the_repository(kit):
    plan = kit.plan(kit.deployment("ar", image=AR_IMAGE, **GCP), kit.deployment("hub", image="vllm/vllm:1", **GCP))
    result = kit.run(plan)
    project_roles = {r.inputs["role"] for r in kit.of_type(result, "gcp:projects/iAMMember:IAMMember")}
    assert project_roles == set(pv.GCP_ROLES) and "roles/artifactregistry.reader" not in project_roles
    [reader] = kit.of_type(result, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert reader.name == "ar-sa-registry-reader"
    assert {k: reader.inputs[k] for k in ("project", "location", "repository", "role")} == {
        "project": "acme-images", "location": "europe-west4", "repository": "models",
        "role": pv.GCP_REGISTRY_READER_ROLE}
    assert reader.inputs["member"].startswith("serviceAccount:")


@pytest.mark.parametrize(("image", "expected"), [
    (AR_IMAGE, ("acme-images", "europe-west4", "models")),
    ("gcr.io/acme/x:1", ("acme", "us", "gcr.io")),
    ("eu.gcr.io/acme/team/x", ("acme", "europe", "eu.gcr.io")),
    ("us-docker.pkg.dev/acme", None), ("ghcr.io/acme/x", None),
])
def test_artifact_repository_of_an_image(image, expected):
    repo = artifact_repository(image)
    assert ((repo.project, repo.location, repo.name) if repo else None) == expected


# --- Azure ----------------------------------------------------------------------------------------


AZURE = {"cloud": Cloud.AZURE, "region": "eastus"}


def test_azure_key_vault_admits_only_the_fleets_subnet(kit):
    plan = kit.plan(kit.deployment("kv", instance_type="Standard_D4s_v5", secrets=("hf-token",), **AZURE))
    result = kit.run(plan, azure={"adminSshPublicKey": kit.SSH_KEY, "keyVaultAllowedCidrs": ["198.51.100.7/32"]})
    vault = kit.one(result, "azure-native:keyvault:Vault", "kv")
    subnet = kit.one(result, "azure-native:network:Subnet", "kv")
    acls = vault.inputs["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny" and acls["bypass"] == "None"
    [rule] = acls["virtualNetworkRules"]
    assert rule["id"].endswith(f"/{subnet.name}")   # the fleet's own subnet (the mock's id for it)
    assert acls["ipRules"] == [{"value": "198.51.100.7/32"}]
    assert {e["service"] for e in subnet.inputs["serviceEndpoints"]} == {"Microsoft.KeyVault"}
    default = kit.run(plan, azure={"adminSshPublicKey": kit.SSH_KEY})
    assert "ipRules" not in kit.one(default, "azure-native:keyvault:Vault", "kv").inputs["properties"]["networkAcls"]


@pytest.mark.parametrize(("size", "gpu", "secure_boot"), [
    ("Standard_D4s_v5", False, True),
    ("Standard_NC4as_T4_v3", True, False),   # NVIDIA's modules are not signed for Secure Boot; vTPM stays
])
def test_azure_trusted_launch_where_the_size_supports_it(kit, size, gpu, secure_boot):
    extra = {"accelerator": "T4", "accelerator_count": 1} if gpu else {}
    plan = kit.plan(kit.deployment("tl", instance_type=size, **extra, **AZURE))
    vmss = kit.one(kit.run(plan), "azure-native:compute:VirtualMachineScaleSet", "tl")
    profile = vmss.inputs["virtualMachineProfile"]["securityProfile"]
    assert profile["securityType"] == "TrustedLaunch"
    assert profile["uefiSettings"] == {"secureBootEnabled": secure_boot, "vTpmEnabled": True}


def test_azure_sizes_without_trusted_launch_get_no_security_profile(kit):
    plan = kit.plan(kit.deployment("arm", instance_type="Standard_D4ps_v5", **AZURE))
    vmss = kit.one(kit.run(plan), "azure-native:compute:VirtualMachineScaleSet", "arm")
    assert "securityProfile" not in vmss.inputs["virtualMachineProfile"]


@pytest.mark.parametrize(("size", "supported"), [
    ("Standard_D4s_v5", True), ("Standard_D2s_v3", True), ("Standard_DS2_v2", True), ("Standard_B2s", True),
    ("Standard_E8_v4", True), ("Standard_NC4as_T4_v3", True), ("Standard_NC40ads_H100_v5", True),
    ("Standard_NV36ads_A10_v5", True),
    ("Standard_D2_v3", False), ("Standard_A2_v2", False), ("Standard_F4", False), ("Standard_D4ps_v5", False),
    ("Standard_NCC40ads_H100_v5", False), ("Standard_ND96asr_v4", False), ("Standard_NV12s_v3", False),
    ("not-a-size", False),
])
def test_azure_trusted_launch_support_by_size(size, supported):
    assert azure_trusted_launch(size) is supported
