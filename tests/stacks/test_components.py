"""The program under strict mocks, per cloud: security, spot, GPUs, autoscaling bounds, tags, providers."""
from __future__ import annotations

import base64
import json

import pytest

from placement.catalog import load_catalog
from placement.costs import fleet_hourly_cost
from placement.types import HOURS_PER_MONTH, Cloud, Purchase, SpotPolicy
from stacks import provider_values as pv
from stacks.fleet_args import TARGET_UTILIZATION
from stacks.machines import AWS_AMI_PARAMETERS
from stacks.naming import REQUIRED_TAGS, TAG_MODEL, TAG_VERSION
from stacks.offline import SECRET, OfflineProgramError
from stacks.policy.rules import PolicyConfig, ResourceView, evaluate, tags_of

FLEET = "roost:serving:ModelFleet"


def children_of(result, fleet_name: str) -> list:
    fleet = next(r for r in result.resources if r.type == FLEET and r.name == fleet_name)
    return [r for r in result.resources if r.parent == fleet.urn]


def assert_clean_and_tagged(result, version: str) -> None:
    views = [ResourceView(r.type, r.name, r.inputs) for r in result.resources if r.type != FLEET]
    assert evaluate(views, PolicyConfig()) == []
    fleets = {r.name for r in result.resources if r.type == FLEET}
    for r in result.resources:
        tags = tags_of(r.inputs)
        if tags is None or r.type == FLEET:
            continue
        assert set(REQUIRED_TAGS) <= set(tags), r.name
        assert tags[TAG_VERSION] == version
        assert tags[TAG_MODEL] in fleets


def assert_explicit_region_providers(result, expected_regions: set[str], prefix: str) -> None:
    providers = {r.urn: r for r in result.resources if r.type.startswith("pulumi:providers:")}
    names = sorted(p.name for p in providers.values())
    assert names == sorted(f"{prefix}-{region}" for region in expected_regions)  # one per region
    fleet_region = {r.urn: result.exports[f"fleet.{r.name}"]["region"] for r in result.resources if r.type == FLEET}
    for r in result.resources:
        if r.custom and not r.type.startswith("pulumi:providers:"):
            provider_urn = r.provider.rsplit("::", 1)[0]  # a provider reference is "<urn>::<id>"
            assert provider_urn in providers, f"{r.name} has no explicit provider"
            if r.parent in fleet_region:  # a fleet's resources live in the fleet's region
                assert providers[provider_urn].name == f"{prefix}-{fleet_region[r.parent]}"


# --- AWS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws_run(kit):
    plan = kit.plan(
        kit.deployment("cpu-od", region="us-east-1", instance_type="c7g.large", team="risk", replicas=2,
                       min_replicas=2, max_replicas=4, rps=1200.0),
        kit.deployment("gpu-spot", region="us-west-2", instance_type="g5.xlarge", accelerator="A10G",
                       accelerator_count=1, purchase=Purchase.SPOT, spot_policy=SpotPolicy.ALLOW, on_demand_base=1,
                       replicas=3, min_replicas=2, max_replicas=6, rps=20.0, secrets=("hf-token",), memory_gib=20),
        kit.deployment("cpu-two", region="us-east-1", instance_type="m7i.large"),
    )
    result = kit.run(plan, planVersion="42", secret_keys=("roost:secrets",),
                     secrets={"hf-token": kit.HF_TOKEN},
                     aws={"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"})
    return plan, result


def test_aws_instances_accept_only_the_load_balancer_and_never_ssh(kit, aws_run):
    _, result = aws_run
    for fleet in ("cpu-od", "gpu-spot"):
        resources = children_of(result, fleet)
        instance_sg = kit.one(result, "aws:ec2/securityGroup:SecurityGroup", f"{fleet}-instance-sg")
        lb_sg = kit.one(result, "aws:ec2/securityGroup:SecurityGroup", f"{fleet}-lb-sg")
        [rule] = instance_sg.inputs["ingress"]
        assert rule["fromPort"] == rule["toPort"] == 8080
        assert not rule.get("cidrBlocks") and len(rule["securityGroups"]) == 1
        assert rule["securityGroups"][0].startswith("sg-")
        assert sorted(r["fromPort"] for r in lb_sg.inputs["ingress"]) == [80, 443]
        assert all(r["cidrBlocks"] == ["172.31.0.0/16"] for r in lb_sg.inputs["ingress"])  # internal: VPC only
        for r in resources:
            for ingress in r.inputs.get("ingress") or []:
                assert not ingress["fromPort"] <= 22 <= ingress["toPort"]
        lb = kit.one(result, "aws:lb/loadBalancer:LoadBalancer", fleet)
        assert lb.inputs["internal"] is True and len(lb.inputs["name"]) <= 32


def test_aws_launch_template_security(kit, aws_run):
    _, result = aws_run
    lt = kit.one(result, "aws:ec2/launchTemplate:LaunchTemplate", "gpu-spot")
    meta = lt.inputs["metadataOptions"]
    assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1
    [bdm] = lt.inputs["blockDeviceMappings"]
    assert bdm["deviceName"] == "/dev/xvda"
    assert bdm["ebs"]["encrypted"] == "true" and bdm["ebs"]["volumeType"] == "gp3"
    assert bdm["ebs"]["volumeSize"] >= 100 + 2 * 20
    assert "instanceMarketOptions" not in lt.inputs  # spot lives in the ASG's mixed instances policy
    script = base64.b64decode(lt.inputs["userData"]).decode()
    assert script.startswith("#!/bin/bash") and kit.HF_TOKEN not in script
    assert "aws:ssm/getParameter:getParameter" in result.invokes
    assert lt.inputs["imageId"].startswith("ami-")


def test_aws_gpu_fleet_uses_the_gpu_ami_and_arm_fleet_the_arm_ami(kit, aws_run):
    from stacks.offline import _fake_id

    _, result = aws_run
    gpu = kit.one(result, "aws:ec2/launchTemplate:LaunchTemplate", "gpu-spot")
    arm = kit.one(result, "aws:ec2/launchTemplate:LaunchTemplate", "cpu-od")
    # The offline mock derives the AMI id from the SSM parameter it was asked for.
    assert gpu.inputs["imageId"] == f"ami-{_fake_id(AWS_AMI_PARAMETERS['gpu-x86_64'])}"
    assert arm.inputs["imageId"] == f"ami-{_fake_id(AWS_AMI_PARAMETERS['cpu-arm64'])}"


def test_aws_iam_is_least_privilege(kit, aws_run):
    _, result = aws_run
    assert not kit.of_type(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")  # no managed policy
    policies = [r for r in children_of(result, "cpu-od") if r.type == "aws:iam/rolePolicy:RolePolicy"]
    assert [r.name for r in policies] == ["cpu-od-role-runtime"]  # no secrets: no secrets grant
    policy = json.loads(kit.one(result, "aws:iam/rolePolicy:RolePolicy", "gpu-spot-role-secrets").inputs["policy"])
    [statement] = policy["Statement"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert len(statement["Resource"]) == 1 and "*" not in statement["Resource"][0]
    version = kit.one(result, "aws:secretsmanager/secretVersion:SecretVersion", "gpu-spot")
    assert version.inputs["secretString"] == SECRET
    assert kit.HF_TOKEN not in json.dumps([r.inputs for r in result.resources])


def test_aws_spot_settings_and_bounds_equal_the_placement(kit, aws_run):
    plan, result = aws_run
    for d in plan.deployments:
        asg = kit.one(result, "aws:autoscaling/group:Group", d.name)
        c = d.choice
        assert (asg.inputs["minSize"], asg.inputs["maxSize"], asg.inputs["desiredCapacity"]) == \
            (c.min_replicas, c.max_replicas, c.replicas)
        dist = asg.inputs["mixedInstancesPolicy"]["instancesDistribution"]
        assert dist["spotAllocationStrategy"] == pv.AWS_SPOT_ALLOCATION_STRATEGY
        assert dist["onDemandAllocationStrategy"] == "prioritized"
        overrides = [o["instanceType"] for o in asg.inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]]
        assert overrides[0] == c.instance_type
        spec = asg.inputs["mixedInstancesPolicy"]["launchTemplate"]["launchTemplateSpecification"]
        assert spec["version"] not in ("$Latest", "$Default")
        assert asg.inputs["healthCheckType"] == "ELB" and asg.inputs["instanceRefresh"]["strategy"] == "Rolling"
        if c.purchase is Purchase.SPOT:
            assert dist["onDemandBaseCapacity"] == c.on_demand_base == 1
            assert dist["onDemandPercentageAboveBaseCapacity"] == 0
            assert asg.inputs["capacityRebalance"] is True
            assert len(overrides) > 1
        else:
            assert dist["onDemandPercentageAboveBaseCapacity"] == 100
        policy = kit.one(result, "aws:autoscaling/policy:Policy", d.name)
        tracking = policy.inputs["targetTrackingConfiguration"]
        assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ALBRequestCountPerTarget"
        assert tracking["targetValue"] == pytest.approx(c.predicted_rps_per_replica * TARGET_UTILIZATION * 60,
                                                        rel=1e-3)


def test_aws_https_when_a_certificate_is_configured(kit, aws_run):
    _, result = aws_run
    listeners = [r for r in children_of(result, "cpu-od") if r.type == "aws:lb/listener:Listener"]
    by_port = {r.inputs["port"]: r.inputs for r in listeners}
    assert by_port[443]["protocol"] == "HTTPS" and by_port[443]["certificateArn"].startswith("arn:aws:acm:")
    assert by_port[80]["defaultActions"][0]["type"] == "redirect"
    assert result.exports["fleet.cpu-od"]["endpoint"].startswith("https://")


def test_aws_tags_providers_and_policies(kit, aws_run):
    _, result = aws_run
    assert_clean_and_tagged(result, "42")
    assert_explicit_region_providers(result, {"us-east-1", "us-west-2"}, "aws")


def test_aws_outputs_are_registered_per_fleet(kit, aws_run):
    plan, result = aws_run
    for d in plan.deployments:
        out = result.exports[f"fleet.{d.name}"]
        assert out["minReplicas"] == d.choice.min_replicas and out["maxReplicas"] == d.choice.max_replicas
        assert out["instanceType"] == d.choice.instance_type and out["purchase"] == d.choice.purchase.value
        # The plan's stated cost is not believed: the program prices the replicas from the catalog.
        offering = load_catalog().find(d.choice.cloud, d.choice.region, d.choice.instance_type)
        assert out["monthlyCostUsd"] != pytest.approx(d.choice.monthly_cost_usd, abs=0.01)
        expected = fleet_hourly_cost(offering, d.choice.purchase, d.choice.replicas, d.choice.on_demand_base)[0]
        assert out["monthlyCostUsd"] == pytest.approx(expected * HOURS_PER_MONTH, abs=0.01)
        assert out["endpoint"] and out["groupName"]
    assert result.exports["roost"]["planVersion"] == "42"


# --- GCP ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gcp_run(kit):
    region = "us-central1"
    plan = kit.plan(
        kit.deployment("n1-t4-spot", cloud=Cloud.GCP, region=region, instance_type="n1-standard-8",
                       accelerator="T4", accelerator_count=1, guest_accelerator="nvidia-tesla-t4",
                       purchase=Purchase.SPOT, spot_policy=SpotPolicy.PREFER, replicas=2, min_replicas=1,
                       max_replicas=5, rps=30.0),
        kit.deployment("g2-od", cloud=Cloud.GCP, region=region, instance_type="g2-standard-24", accelerator="L4",
                       accelerator_count=2, replicas=2, min_replicas=2, max_replicas=3, rps=240.0),
        kit.deployment("cpu-allow", cloud=Cloud.GCP, region="europe-west4", instance_type="n2-standard-4",
                       purchase=Purchase.SPOT, spot_policy=SpotPolicy.ALLOW, on_demand_base=1, replicas=3,
                       min_replicas=2, max_replicas=4, secrets=("hf-token",)),
    )
    return plan, kit.run(plan, planVersion="3")


def test_gcp_gpus_attach_by_series(kit, gcp_run):
    _, result = gcp_run
    n1 = kit.one(result, "gcp:compute/instanceTemplate:InstanceTemplate", "n1-t4-spot")
    assert n1.inputs["guestAccelerators"] == [{"type": "nvidia-tesla-t4", "count": 1}]
    assert n1.inputs["machineType"] == "n1-standard-8"
    g2 = kit.one(result, "gcp:compute/instanceTemplate:InstanceTemplate", "g2-od")
    assert "guestAccelerators" not in g2.inputs  # the L4s come with the machine type
    for t in (n1, g2):
        assert t.inputs["metadata"]["install-nvidia-driver"] == "True"
        assert "deeplearning-platform-release" in t.inputs["disks"][0]["sourceImage"]
        assert t.inputs["shieldedInstanceConfig"]["enableSecureBoot"] is False


def test_gcp_spot_and_maintenance_settings(kit, gcp_run):
    _, result = gcp_run
    spot = kit.one(result, "gcp:compute/instanceTemplate:InstanceTemplate", "n1-t4-spot").inputs["scheduling"]
    assert spot == {"provisioningModel": "SPOT", "preemptible": True, "automaticRestart": False,
                    "onHostMaintenance": "TERMINATE", "instanceTerminationAction": "DELETE"}
    od_gpu = kit.one(result, "gcp:compute/instanceTemplate:InstanceTemplate", "g2-od").inputs["scheduling"]
    assert od_gpu["provisioningModel"] == "STANDARD" and od_gpu["onHostMaintenance"] == "TERMINATE"
    base = kit.one(result, "gcp:compute/instanceTemplate:InstanceTemplate", "cpu-allow-template-base")
    main = kit.one(result, "gcp:compute/instanceTemplate:InstanceTemplate", "cpu-allow-template")
    assert base.inputs["scheduling"]["provisioningModel"] == "STANDARD"
    assert base.inputs["scheduling"]["onHostMaintenance"] == "MIGRATE"
    assert main.inputs["scheduling"]["provisioningModel"] == "SPOT"
    assert base.inputs["shieldedInstanceConfig"]["enableSecureBoot"] is True


def test_gcp_autoscaling_bounds_equal_the_placement(kit, gcp_run):
    plan, result = gcp_run
    for name in ("n1-t4-spot", "g2-od"):
        c = plan.deployment(name).choice
        policy = kit.one(result, "gcp:compute/regionAutoscaler:RegionAutoscaler", name).inputs["autoscalingPolicy"]
        assert (policy["minReplicas"], policy["maxReplicas"]) == (c.min_replicas, c.max_replicas)
        backend = kit.one(result, "gcp:compute/regionBackendService:RegionBackendService", name)
        assert backend.inputs["backends"][0]["maxRatePerInstance"] == pytest.approx(c.predicted_rps_per_replica)
    # spot: allow with an on-demand base of 1 → a fixed standard group of 1 plus a spot group for the rest
    base_mig = kit.one(result, "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
                       "cpu-allow-mig-base")
    assert base_mig.inputs["targetSize"] == 1
    [spot_as] = [r for r in result.resources if r.type == "gcp:compute/regionAutoscaler:RegionAutoscaler"
                 and r.name.startswith("cpu-allow")]
    assert spot_as.inputs["autoscalingPolicy"]["minReplicas"] == 1
    assert spot_as.inputs["autoscalingPolicy"]["maxReplicas"] == 3
    backend = kit.one(result, "gcp:compute/regionBackendService:RegionBackendService", "cpu-allow")
    assert len(backend.inputs["backends"]) == 2


def test_gcp_network_admits_only_google_ranges_and_no_public_ips(kit, gcp_run):
    _, result = gcp_run
    for t in kit.of_type(result, "gcp:compute/instanceTemplate:InstanceTemplate"):
        assert all("accessConfigs" not in nic for nic in t.inputs["networkInterfaces"])
        assert t.inputs["metadata"]["block-project-ssh-keys"] == "TRUE"
    fw = kit.one(result, "gcp:compute/firewall:Firewall", "g2-od")
    proxy_only = kit.one(result, "gcp:compute/subnetwork:Subnetwork", "us-central1")
    assert proxy_only.inputs["purpose"] == "REGIONAL_MANAGED_PROXY"
    assert sorted(fw.inputs["sourceRanges"]) == sorted([*pv.GCP_HEALTH_CHECK_RANGES, proxy_only.inputs["ipCidrRange"]])
    other = kit.one(result, "gcp:compute/subnetwork:Subnetwork", "europe-west4")
    assert other.inputs["ipCidrRange"] != proxy_only.inputs["ipCidrRange"]
    assert fw.inputs["allows"] == [{"protocol": "tcp", "ports": ["8080"]}]
    template = kit.one(result, "gcp:compute/instanceTemplate:InstanceTemplate", "g2-od")
    assert fw.inputs["targetTags"] == template.inputs["tags"]
    assert len(template.inputs["namePrefix"]) <= 37


def test_gcp_service_account_roles_are_minimal(kit, gcp_run):
    _, result = gcp_run
    roles = sorted(r.inputs["role"] for r in children_of(result, "g2-od") if r.type == "gcp:projects/iAMMember:IAMMember")
    assert roles == sorted(pv.GCP_ROLES)
    readers = [r for r in children_of(result, "cpu-allow")
               if r.type == "gcp:secretmanager/secretIamMember:SecretIamMember"]
    assert [r.inputs["role"] for r in readers] == [pv.GCP_SECRET_ACCESSOR_ROLE]
    # no value configured: roost creates the secret, its owner adds the version
    assert not [r for r in result.resources if r.type == "gcp:secretmanager/secretVersion:SecretVersion"]


def test_gcp_tags_providers_and_policies(kit, gcp_run):
    _, result = gcp_run
    assert_clean_and_tagged(result, "3")
    assert_explicit_region_providers(result, {"us-central1", "europe-west4"}, "gcp")
    nats = kit.of_type(result, "gcp:compute/routerNat:RouterNat")
    assert len(nats) == 2  # one per region, shared by its fleets


def test_gcp_public_endpoint_uses_the_global_external_https_load_balancer(kit):
    plan = kit.plan(kit.deployment("pub", cloud=Cloud.GCP, region="us-east1", instance_type="n2-standard-4"))
    result = kit.run(plan, publicEndpoint="true",
                     gcp={"project": "acme", "certificate": "projects/acme/global/sslCertificates/api"})
    rule = kit.one(result, "gcp:compute/globalForwardingRule:GlobalForwardingRule", "pub")
    assert rule.inputs["loadBalancingScheme"] == "EXTERNAL_MANAGED" and rule.inputs["portRange"] == "443"
    assert kit.one(result, "gcp:compute/targetHttpsProxy:TargetHttpsProxy", "pub")
    fw = kit.one(result, "gcp:compute/firewall:Firewall", "pub")
    assert sorted(fw.inputs["sourceRanges"]) == sorted(pv.GCP_HEALTH_CHECK_RANGES)
    assert not kit.of_type(result, "gcp:compute/subnetwork:Subnetwork")  # no proxy-only subnet needed
    assert result.exports["fleet.pub"]["endpoint"].startswith("https://")


# --- Azure ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def azure_run(kit):
    plan = kit.plan(
        kit.deployment("t4-allow", cloud=Cloud.AZURE, region="westus2", instance_type="Standard_NC4as_T4_v3",
                       accelerator="T4", accelerator_count=1, purchase=Purchase.SPOT, spot_policy=SpotPolicy.ALLOW,
                       on_demand_base=1, replicas=2, min_replicas=2, max_replicas=3),
        kit.deployment("h100-od", cloud=Cloud.AZURE, region="eastus", instance_type="Standard_NC40ads_H100_v5",
                       accelerator="H100-NVL", accelerator_count=1, secrets=("hf-token",), min_replicas=1,
                       replicas=2, max_replicas=3),
        kit.deployment("arm-cpu", cloud=Cloud.AZURE, region="eastus", instance_type="Standard_D4ps_v5",
                       purchase=Purchase.SPOT, spot_policy=SpotPolicy.PREFER),
    )
    return plan, kit.run(plan, secret_keys=("roost:secrets",), secrets={"hf-token": kit.HF_TOKEN})


def _vmss(kit, result, name):
    return kit.one(result, "azure-native:compute:VirtualMachineScaleSet", name).inputs


def test_azure_spot_priority_eviction_and_price(kit, azure_run):
    _, result = azure_run
    spot = _vmss(kit, result, "arm-cpu-vmss")["virtualMachineProfile"]
    assert spot["priority"] == "Spot" and spot["evictionPolicy"] == "Delete"
    assert spot["billingProfile"]["maxPrice"] == -1
    od = _vmss(kit, result, "h100-od-vmss")["virtualMachineProfile"]
    assert od["priority"] == "Regular" and "evictionPolicy" not in od and "billingProfile" not in od
    base = _vmss(kit, result, "t4-allow-vmss-base")
    assert base["virtualMachineProfile"]["priority"] == "Regular" and base["sku"]["capacity"] == 1
    assert _vmss(kit, result, "t4-allow-vmss")["virtualMachineProfile"]["priority"] == "Spot"


def test_azure_gpu_drivers_and_images(kit, azure_run):
    _, result = azure_run
    t4 = _vmss(kit, result, "t4-allow-vmss")["virtualMachineProfile"]
    ext = {e["type"]: e for e in t4["extensionProfile"]["extensions"]}
    assert ext[pv.AZURE_GPU_EXTENSION_TYPE]["publisher"] == pv.AZURE_GPU_EXTENSION_PUBLISHER
    h100 = _vmss(kit, result, "h100-od-vmss")["virtualMachineProfile"]
    assert pv.AZURE_GPU_EXTENSION_TYPE not in {e["type"] for e in h100["extensionProfile"]["extensions"]}
    assert h100["storageProfile"]["imageReference"]["offer"] == "ubuntu-hpc"
    arm = _vmss(kit, result, "arm-cpu-vmss")["virtualMachineProfile"]
    assert arm["storageProfile"]["imageReference"]["sku"] == "server-arm64"
    assert pv.AZURE_GPU_EXTENSION_TYPE not in {e["type"] for e in arm["extensionProfile"]["extensions"]}


def test_azure_no_password_login_and_managed_identity(kit, azure_run):
    _, result = azure_run
    for r in kit.of_type(result, "azure-native:compute:VirtualMachineScaleSet"):
        linux = r.inputs["virtualMachineProfile"]["osProfile"]["linuxConfiguration"]
        assert linux["disablePasswordAuthentication"] is True
        assert "adminPassword" not in r.inputs["virtualMachineProfile"]["osProfile"]
        assert r.inputs["identity"]["type"] == "SystemAssigned"
        assert r.inputs["upgradePolicy"]["mode"] == "Rolling"
        assert r.inputs["virtualMachineProfile"]["networkProfile"]["healthProbe"]["id"].endswith("/probes/health")
        data = base64.b64decode(r.inputs["virtualMachineProfile"]["osProfile"]["customData"]).decode()
        assert kit.HF_TOKEN not in data


def test_azure_nsg_admits_only_probe_and_clients(kit, azure_run):
    _, result = azure_run
    nsg = kit.one(result, "azure-native:network:NetworkSecurityGroup", "h100-od")
    rules = {r["name"]: r for r in nsg.inputs["securityRules"]}
    assert rules["allow-lb-probe"]["sourceAddressPrefix"] == "AzureLoadBalancer"
    assert rules["allow-clients"]["sourceAddressPrefixes"] == ["VirtualNetwork"]  # internal by default
    assert {r["destinationPortRange"] for r in rules.values() if r["access"] == "Allow"} == {"8080"}
    assert rules["deny-all-inbound"]["priority"] == 4096 and rules["deny-all-inbound"]["access"] == "Deny"
    lb = kit.one(result, "azure-native:network:LoadBalancer", "h100-od").inputs
    assert lb["probes"][0]["requestPath"] == "/health" and lb["loadBalancingRules"][0]["backendPort"] == 8080
    assert "publicIPAddress" not in lb["frontendIPConfigurations"][0]


def test_azure_autoscale_bounds_equal_the_placement(kit, azure_run):
    plan, result = azure_run
    settings_by_fleet = {r.name.split("-autoscale")[0]: r.inputs for r in
                         kit.of_type(result, "azure-native:monitor:AutoscaleSetting")}
    assert set(settings_by_fleet) == {"t4-allow", "h100-od", "arm-cpu"}
    for name in ("h100-od", "arm-cpu"):
        c = plan.deployment(name).choice
        capacity = settings_by_fleet[name]["profiles"][0]["capacity"]
        assert capacity == {"minimum": str(c.min_replicas), "maximum": str(c.max_replicas),
                            "default": str(c.replicas)}
    spot_part = settings_by_fleet["t4-allow"]["profiles"][0]["capacity"]
    assert (spot_part["minimum"], spot_part["maximum"]) == ("1", "2")  # bounds minus the on-demand base of 1


def test_azure_secrets_in_the_fleets_own_vault(kit, azure_run):
    _, result = azure_run
    vault = kit.one(result, "azure-native:keyvault:Vault", "h100-od")
    assert vault.inputs["properties"]["enableRbacAuthorization"] is True
    secret = kit.one(result, "azure-native:keyvault:Secret", "h100-od")
    assert SECRET in json.dumps(secret.inputs)  # the whole properties object is secret once a value is
    assert kit.HF_TOKEN not in json.dumps([r.inputs for r in result.resources])
    [assignment] = kit.of_type(result, "azure-native:authorization:RoleAssignment")
    assert assignment.inputs["roleDefinitionId"].endswith(pv.AZURE_KEY_VAULT_SECRETS_USER_ROLE)
    assert assignment.inputs["principalType"] == "ServicePrincipal"


def test_azure_tags_providers_and_policies(kit, azure_run):
    _, result = azure_run
    assert_clean_and_tagged(result, "unversioned")
    assert_explicit_region_providers(result, {"westus2", "eastus"}, "azure")


# --- across clouds --------------------------------------------------------------------------------


def test_spot_on_a_never_deployment_is_caught_on_every_cloud(kit):
    never_spot = dict(purchase=Purchase.SPOT, spot_policy=SpotPolicy.NEVER)
    plan = kit.plan(
        kit.deployment("a", **never_spot),
        kit.deployment("g", cloud=Cloud.GCP, region="us-central1", instance_type="n2-standard-4", **never_spot),
        kit.deployment("z", cloud=Cloud.AZURE, region="eastus", instance_type="Standard_D4s_v5", **never_spot),
    )
    result = kit.run(plan)
    views = [ResourceView(r.type, r.name, r.inputs) for r in result.resources if r.type != FLEET]
    flagged = {v.resource for v in evaluate(views, PolicyConfig()) if v.policy == "spot-forbidden-for-never"}
    assert flagged == {"a-asg", "g-template", "z-vmss"}


def test_strict_mocks_reject_duplicate_urns(kit):
    import pulumi

    from stacks.offline import run_offline

    def program():
        import pulumi_aws as aws

        provider = aws.Provider("p", region="us-east-1")
        for _ in range(2):
            aws.ec2.SecurityGroup("same", opts=pulumi.ResourceOptions(provider=provider))

    with pytest.raises(OfflineProgramError, match="duplicate resource URN"):
        run_offline(program, project="roost", stack="t", config={})


def test_strict_mocks_reject_default_providers():
    from stacks.offline import run_offline

    def program():
        import pulumi_aws as aws

        aws.ec2.SecurityGroup("no-provider")

    with pytest.raises(OfflineProgramError, match="default provider"):
        run_offline(program, project="roost", stack="t", config={})


def test_a_flat_secret_key_as_pulumi_config_set_writes_it_is_read_as_a_secret(kit):
    plan = kit.plan(kit.deployment("m", secrets=("hf-token",)))
    result = kit.run(plan, secret_keys=("roost:secrets.hf-token",), **{"secrets.hf-token": kit.HF_TOKEN})
    version = kit.one(result, "aws:secretsmanager/secretVersion:SecretVersion", "m")
    assert version.inputs["secretString"] == SECRET
    assert kit.HF_TOKEN not in json.dumps([r.inputs for r in result.resources])
