"""Azure: Virtual Machine Scale Set(s) behind a Standard Load Balancer, in the fleet's own resource group.

Security shape: the load balancer is internal unless the stack asks for a public
endpoint; the subnet's NSG admits the model port from the load balancer's probe and the
clients only and denies everything else inbound (no SSH/RDP); password login is off; VMs
have no public IP and reach out through a NAT gateway; a system-assigned identity can
read only the fleet's secrets in Key Vault, and the vault admits only the fleet's subnet;
VMs run Trusted Launch (vTPM, Secure Boot) where the size supports it.
"""
from __future__ import annotations

import base64
import ipaddress
import math
import uuid

import pulumi
from pulumi_azure_native import authorization, compute, keyvault, monitor, network, resources

from placement.types import Purchase
from stacks import naming
from stacks import provider_values as pv
from stacks.components.fleet import ModelFleet
from stacks.components.outputs import FleetOutputs
from stacks.fleet_args import FleetArgs, GroupRole, GroupSpec
from stacks.machines import AzureGpuSetup, azure_trusted_launch
from stacks.naming import logical_name
from stacks.settings import StackSettings
from stacks.userdata import render_boot_script

HTTP_PORT = 80
FRONTEND, POOL, PROBE, RULE = "frontend", "serving", "health", "http"


def _uuid(*parts: str) -> str:
    """Role assignment names must be GUIDs; derive them so re-runs do not re-create them."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "roost:" + "/".join(parts)))


def _supports_premium_storage(size: str) -> bool:
    # Azure marks premium-storage-capable sizes with an "s" among the lowercase feature letters.
    import re

    m = re.match(r"^Standard_[A-Z]+\d+(?P<attrs>[a-z]*)", size)
    return bool(m and "s" in m.group("attrs"))


class AzureModelFleet(ModelFleet):
    """Resource group, network (NSG, NAT gateway, VNet, subnet), load balancer, Key Vault,
    scale set(s) with their secret access and autoscale settings."""

    def _build(self) -> FleetOutputs:
        args = self.fleet_args
        self._client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(provider=self.provider))
        group = resources.ResourceGroup(
            logical_name(args.name, "rg"),
            resource_group_name=naming.physical_name(naming.AZURE_RESOURCE_GROUP, "roost", args.stack, args.name),
            location=args.region, tags=args.tags.azure(), opts=self.child_opts)
        self._rg = group.name
        subnet, nsg = self._network()
        load_balancer, lb_id, lb_ip = self._load_balancer(subnet)
        vault = self._vault(subnet)
        script = render_boot_script(args)
        scale_sets = [_scale_set(args, spec, self.settings, script, self._rg, args.region, subnet, nsg, lb_id,
                                 args.tags.azure(), self.child_opts, depends_on=[load_balancer])
                      for spec in args.groups()]
        self._secret_access(scale_sets, vault)
        self._autoscale(scale_sets)
        if lb_ip is not None:
            endpoint = lb_ip.ip_address.apply(lambda ip: f"http://{ip}")
        else:
            endpoint = load_balancer.frontend_ip_configurations.apply(
                lambda configs: f"http://{configs[0].private_ip_address}" if configs else "")
        return FleetOutputs(endpoint=endpoint, group_name=scale_sets[-1].name)

    # --- network: NSG on the subnet, NAT gateway for egress, no public IPs on VMs ---

    def _network(self) -> tuple[network.Subnet, network.NetworkSecurityGroup]:
        args, settings, opts, n = self.fleet_args, self.settings, self.child_opts, self.fleet_args.name
        tags, rg, location = args.tags.azure(), self._rg, args.region
        space = ipaddress.ip_network(settings.azure.address_space)
        subnet_prefix = str(next(space.subnets(new_prefix=24)))
        clients = list(settings.azure.ingress_cidrs or ["Internet" if args.public else "VirtualNetwork"])
        nsg = network.NetworkSecurityGroup(
            logical_name(n, "nsg"),
            network_security_group_name=naming.physical_name(naming.AZURE_GENERIC, args.stack, n),
            resource_group_name=rg, location=location,
            security_rules=[
                network.SecurityRuleArgs(
                    name="allow-lb-probe", priority=100, direction="Inbound", access="Allow", protocol="Tcp",
                    source_address_prefix="AzureLoadBalancer", source_port_range="*",
                    destination_address_prefix="*", destination_port_range=str(args.port)),
                network.SecurityRuleArgs(
                    name="allow-clients", priority=110, direction="Inbound", access="Allow", protocol="Tcp",
                    source_address_prefixes=clients, source_port_range="*",
                    destination_address_prefix="*", destination_port_range=str(args.port)),
                network.SecurityRuleArgs(
                    name="deny-all-inbound", priority=4096, direction="Inbound", access="Deny", protocol="*",
                    source_address_prefix="*", source_port_range="*",
                    destination_address_prefix="*", destination_port_range="*"),
            ],
            tags=tags, opts=opts)
        nat_ip = network.PublicIPAddress(
            logical_name(n, "nat-ip"),
            public_ip_address_name=naming.physical_name(naming.AZURE_GENERIC, args.stack, n, "nat"),
            resource_group_name=rg, location=location, sku=network.PublicIPAddressSkuArgs(name="Standard"),
            public_ip_allocation_method="Static", tags=tags, opts=opts)
        nat = network.NatGateway(
            logical_name(n, "nat"), nat_gateway_name=naming.physical_name(naming.AZURE_GENERIC, args.stack, n),
            resource_group_name=rg, location=location, sku=network.NatGatewaySkuArgs(name="Standard"),
            public_ip_addresses=[network.SubResourceArgs(id=nat_ip.id)], tags=tags, opts=opts)
        vnet = network.VirtualNetwork(
            logical_name(n, "vnet"), virtual_network_name=naming.physical_name(naming.AZURE_GENERIC, args.stack, n),
            resource_group_name=rg, location=location,
            address_space=network.AddressSpaceArgs(address_prefixes=[settings.azure.address_space]),
            tags=tags,
            # The subnet is its own resource; without this every `up` would try to remove it from the VNet.
            opts=self.child_options(ignore_changes=["subnets"]))
        subnet = network.Subnet(
            logical_name(n, "subnet"), subnet_name="serving", resource_group_name=rg,
            virtual_network_name=vnet.name, address_prefix=subnet_prefix,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            nat_gateway=network.SubResourceArgs(id=nat.id), default_outbound_access=False,
            # The fleet's Key Vault admits this subnet only, through its service endpoint.
            service_endpoints=[network.ServiceEndpointPropertiesFormatArgs(
                service=pv.AZURE_KEY_VAULT_SERVICE_ENDPOINT)],
            opts=opts)
        return subnet, nsg

    # --- load balancer (L4): probe on the health path, port 80 → model port ---

    def _load_balancer(self, subnet: network.Subnet
                       ) -> tuple[network.LoadBalancer, pulumi.Output[str], network.PublicIPAddress | None]:
        args, opts, n = self.fleet_args, self.child_opts, self.fleet_args.name
        tags, rg, location = args.tags.azure(), self._rg, args.region
        lb_name = naming.physical_name(naming.AZURE_GENERIC, args.stack, n)
        lb_id = pulumi.Output.concat("/subscriptions/", self._client.subscription_id, "/resourceGroups/", rg,
                                     "/providers/Microsoft.Network/loadBalancers/", lb_name)
        lb_ip = None
        if args.public:
            lb_ip = network.PublicIPAddress(
                logical_name(n, "lb-ip"),
                public_ip_address_name=naming.physical_name(naming.AZURE_GENERIC, args.stack, n, "lb"),
                resource_group_name=rg, location=location, sku=network.PublicIPAddressSkuArgs(name="Standard"),
                public_ip_allocation_method="Static", tags=tags, opts=opts)
            frontend = network.FrontendIPConfigurationArgs(
                name=FRONTEND, public_ip_address=network.PublicIPAddressArgs(id=lb_ip.id))
        else:
            frontend = network.FrontendIPConfigurationArgs(name=FRONTEND, subnet=network.SubnetArgs(id=subnet.id),
                                                           private_ip_allocation_method="Dynamic")
        load_balancer = network.LoadBalancer(
            logical_name(n, "lb"), load_balancer_name=lb_name, resource_group_name=rg, location=location,
            sku=network.LoadBalancerSkuArgs(name=pv.AZURE_LB_SKU),
            frontend_ip_configurations=[frontend],
            backend_address_pools=[network.BackendAddressPoolArgs(name=POOL)],
            probes=[network.ProbeArgs(name=PROBE, protocol="Http", port=args.port, request_path=args.health_path,
                                      interval_in_seconds=15, number_of_probes=2)],
            load_balancing_rules=[network.LoadBalancingRuleArgs(
                name=RULE, protocol="Tcp", frontend_port=HTTP_PORT, backend_port=args.port,
                frontend_ip_configuration=network.SubResourceArgs(id=pulumi.Output.concat(
                    lb_id, "/frontendIPConfigurations/", FRONTEND)),
                backend_address_pool=network.SubResourceArgs(
                    id=pulumi.Output.concat(lb_id, "/backendAddressPools/", POOL)),
                probe=network.SubResourceArgs(id=pulumi.Output.concat(lb_id, "/probes/", PROBE)),
                idle_timeout_in_minutes=min(30, max(4, math.ceil(args.request_timeout_seconds / 60))),
                enable_tcp_reset=True, disable_outbound_snat=True)],
            tags={**tags, **self.plain_http_tag(https=False)}, opts=opts)
        return load_balancer, lb_id, lb_ip

    # --- secrets: a per-fleet Key Vault (RBAC), so vault scope is the fleet's own secrets only ---

    def _vault(self, subnet: network.Subnet) -> keyvault.Vault | None:
        args, opts, n = self.fleet_args, self.child_opts, self.fleet_args.name
        own_secrets = [s for s in args.secrets if s.ref is None]
        if not own_secrets:
            return None
        vault = keyvault.Vault(
            logical_name(n, "kv"), vault_name=naming.azure_key_vault_name(args.stack, n),
            resource_group_name=self._rg, location=args.region,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=self._client.tenant_id, sku=keyvault.SkuArgs(family="A", name="standard"),
                enable_rbac_authorization=True, enable_soft_delete=True, soft_delete_retention_in_days=7,
                enable_purge_protection=True,
                # Data-plane access from the fleet's subnet (and any operator ranges) only. Values
                # set through roost:secrets.* go through ARM, which this firewall does not gate.
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action=pv.AZURE_KEY_VAULT_DEFAULT_ACTION, bypass=pv.AZURE_KEY_VAULT_BYPASS,
                    virtual_network_rules=[keyvault.VirtualNetworkRuleArgs(id=subnet.id)],
                    ip_rules=[keyvault.IPRuleArgs(value=c) for c in self.settings.azure.key_vault_allowed_cidrs]
                    or None)),
            tags=args.tags.azure(), opts=opts)
        for s in own_secrets:
            if s.has_value:
                keyvault.Secret(logical_name(n, f"secret-{s.name}"), secret_name=naming.azure_secret_name(s.name),
                                vault_name=vault.name, resource_group_name=self._rg,
                                properties=keyvault.SecretPropertiesArgs(value=self.settings.secret_values[s.name]),
                                opts=opts)
        return vault

    def _secret_access(self, scale_sets: list[compute.VirtualMachineScaleSet], vault: keyvault.Vault | None) -> None:
        """Each scale set's identity reads the fleet's vault and each referenced secret, nothing else."""
        args, n = self.fleet_args, self.fleet_args.name
        role_definition = pulumi.Output.concat("/subscriptions/", self._client.subscription_id,
                                               "/providers/Microsoft.Authorization/roleDefinitions/",
                                               pv.AZURE_KEY_VAULT_SECRETS_USER_ROLE)
        scopes: list[tuple[str, pulumi.Input[str]]] = []
        if vault is not None:
            scopes.append(("kv", vault.id))
        for s in args.secrets:
            if s.ref is not None and s.ref.azure_vault_id:
                scopes.append((f"ref-{s.name}",
                               f"{s.ref.azure_vault_id.rstrip('/')}/secrets/{s.ref.azure_secret_name}"))
        for vmss, spec in zip(scale_sets, args.groups()):
            principal = vmss.identity.apply(lambda i: i.principal_id if i else None)
            for key, scope in scopes:
                authorization.RoleAssignment(
                    logical_name(n, f"{spec.role.value}-secrets-{key}"),
                    role_assignment_name=_uuid(args.stack, n, spec.role.value, key),
                    principal_id=principal, principal_type="ServicePrincipal", role_definition_id=role_definition,
                    scope=scope, opts=self.child_opts)

    def _autoscale(self, scale_sets: list[compute.VirtualMachineScaleSet]) -> None:
        args, n = self.fleet_args, self.fleet_args.name
        for vmss, spec in zip(scale_sets, args.groups()):
            if not spec.autoscaled:
                continue
            monitor.AutoscaleSetting(
                logical_name(n, "autoscale"),
                autoscale_setting_name=naming.physical_name(naming.AZURE_GENERIC, args.stack, n, "autoscale"),
                resource_group_name=self._rg, location=args.region, enabled=True, target_resource_uri=vmss.id,
                profiles=[monitor.AutoscaleProfileArgs(
                    name="roost",
                    capacity=monitor.ScaleCapacityArgs(minimum=str(spec.min_size), maximum=str(spec.max_size),
                                                       default=str(spec.desired)),
                    rules=[_cpu_rule(vmss.id, "GreaterThan", 70, "Increase", "PT5M"),
                           _cpu_rule(vmss.id, "LessThan", 30, "Decrease", "PT10M")])],
                tags=args.tags.azure(), opts=self.child_opts)


def _cpu_rule(target: pulumi.Input[str], operator: str, threshold: float, direction: str,
              window: str) -> monitor.ScaleRuleArgs:
    return monitor.ScaleRuleArgs(
        metric_trigger=monitor.MetricTriggerArgs(
            metric_name=pv.AZURE_SCALE_METRIC, metric_resource_uri=target, operator=operator, statistic="Average",
            threshold=threshold, time_aggregation="Average", time_grain="PT1M", time_window=window),
        scale_action=monitor.ScaleActionArgs(direction=direction, type="ChangeCount", value="1", cooldown="PT5M"))


def _extensions(args: FleetArgs) -> list[compute.VirtualMachineScaleSetExtensionArgs]:
    extensions = [compute.VirtualMachineScaleSetExtensionArgs(
        name="azure-monitor-agent", publisher=pv.AZURE_MONITOR_AGENT_PUBLISHER, type=pv.AZURE_MONITOR_AGENT_TYPE,
        type_handler_version=pv.AZURE_MONITOR_AGENT_VERSION, auto_upgrade_minor_version=True,
        enable_automatic_upgrade=True)]
    if args.azure_gpu_setup is AzureGpuSetup.DRIVER_EXTENSION:
        extensions.append(compute.VirtualMachineScaleSetExtensionArgs(
            name="nvidia-gpu-driver", publisher=pv.AZURE_GPU_EXTENSION_PUBLISHER, type=pv.AZURE_GPU_EXTENSION_TYPE,
            type_handler_version=pv.AZURE_GPU_EXTENSION_VERSION, auto_upgrade_minor_version=True))
    return extensions


def _security_profile(args: FleetArgs) -> compute.SecurityProfileArgs | None:
    """Confidential VM on NCC sizes; Trusted Launch (vTPM, Secure Boot) wherever else the size
    supports it. NVIDIA's kernel modules are not signed for Secure Boot, so GPU sizes keep vTPM
    and boot measurement but not Secure Boot (as on GCP)."""
    if args.azure_gpu_setup is AzureGpuSetup.CONFIDENTIAL:
        return compute.SecurityProfileArgs(
            security_type=pv.AZURE_SECURITY_TYPE_CONFIDENTIAL,
            uefi_settings=compute.UefiSettingsArgs(secure_boot_enabled=True, v_tpm_enabled=True))
    if not azure_trusted_launch(args.instance_type):
        return None
    return compute.SecurityProfileArgs(
        security_type=pv.AZURE_SECURITY_TYPE_TRUSTED_LAUNCH,
        uefi_settings=compute.UefiSettingsArgs(secure_boot_enabled=not args.has_gpu, v_tpm_enabled=True))


def _scale_set(args: FleetArgs, spec: GroupSpec, settings: StackSettings, script: str, rg: pulumi.Input[str],
               location: str, subnet: network.Subnet, nsg: network.NetworkSecurityGroup, lb_id: pulumi.Output[str],
               tags: dict[str, str], opts: pulumi.ResourceOptions,
               depends_on: list[pulumi.Resource]) -> compute.VirtualMachineScaleSet:
    n = args.name
    suffix = "" if spec.role is GroupRole.MAIN else f"-{spec.role.value}"
    spot = spec.purchase is Purchase.SPOT
    image = args.azure_image
    assert image is not None
    confidential = args.azure_gpu_setup is AzureGpuSetup.CONFIDENTIAL
    user = settings.azure.admin_username
    group_tags = {**tags, **naming.monthly_usd_tag(args.monthly_cost_usd)} if spec.role is GroupRole.MAIN else tags
    return compute.VirtualMachineScaleSet(
        logical_name(n, f"vmss{suffix}"),
        vm_scale_set_name=naming.physical_name(naming.AZURE_GENERIC, args.stack, n, spec.role.value),
        resource_group_name=rg, location=location,
        sku=compute.SkuArgs(name=args.instance_type, tier="Standard", capacity=spec.desired),
        identity=compute.VirtualMachineScaleSetIdentityArgs(type=compute.ResourceIdentityType.SYSTEM_ASSIGNED),
        orchestration_mode=pv.AZURE_ORCHESTRATION_MODE,
        overprovision=False,
        upgrade_policy=compute.UpgradePolicyArgs(
            mode=pv.AZURE_UPGRADE_MODE,
            rolling_upgrade_policy=compute.RollingUpgradePolicyArgs(
                max_batch_instance_percent=20, max_unhealthy_instance_percent=20,
                max_unhealthy_upgraded_instance_percent=20, pause_time_between_batches="PT0S")),
        automatic_repairs_policy=compute.AutomaticRepairsPolicyArgs(
            enabled=True, grace_period=f"PT{max(10, math.ceil(args.health_grace_seconds / 60))}M"),
        virtual_machine_profile=compute.VirtualMachineScaleSetVMProfileArgs(
            priority=pv.AZURE_PRIORITY_SPOT if spot else pv.AZURE_PRIORITY_REGULAR,
            eviction_policy=pv.AZURE_EVICTION_POLICY if spot else None,
            billing_profile=compute.BillingProfileArgs(max_price=pv.AZURE_SPOT_MAX_PRICE) if spot else None,
            os_profile=compute.VirtualMachineScaleSetOSProfileArgs(
                computer_name_prefix=naming.physical_name(naming.AZURE_COMPUTER_PREFIX, n, args.stack,
                                                          spec.role.value),
                admin_username=user,
                custom_data=base64.b64encode(script.encode()).decode(),
                linux_configuration=compute.LinuxConfigurationArgs(
                    disable_password_authentication=True, provision_vm_agent=True,
                    ssh=compute.SshConfigurationArgs(public_keys=[compute.SshPublicKeyArgs(
                        path=f"/home/{user}/.ssh/authorized_keys", key_data=settings.azure.admin_ssh_public_key)]))),
            storage_profile=compute.VirtualMachineScaleSetStorageProfileArgs(
                image_reference=compute.ImageReferenceArgs(publisher=image.publisher, offer=image.offer,
                                                           sku=image.sku, version=image.version),
                os_disk=compute.VirtualMachineScaleSetOSDiskArgs(
                    create_option=compute.DiskCreateOptionTypes.FROM_IMAGE, caching=compute.CachingTypes.READ_WRITE,
                    disk_size_gb=args.root_disk_gib,
                    managed_disk=compute.VirtualMachineScaleSetManagedDiskParametersArgs(
                        storage_account_type=pv.AZURE_OS_DISK_TYPE if _supports_premium_storage(args.instance_type)
                        else pv.AZURE_OS_DISK_TYPE_NO_PREMIUM,
                        security_profile=compute.VMDiskSecurityProfileArgs(
                            security_encryption_type=pv.AZURE_CVM_DISK_ENCRYPTION) if confidential else None))),
            security_profile=_security_profile(args),
            network_profile=compute.VirtualMachineScaleSetNetworkProfileArgs(
                # The probe gates rolling upgrades and automatic repairs.
                health_probe=compute.ApiEntityReferenceArgs(id=pulumi.Output.concat(lb_id, "/probes/", PROBE)),
                network_interface_configurations=[compute.VirtualMachineScaleSetNetworkConfigurationArgs(
                    name="nic", primary=True, network_security_group=compute.SubResourceArgs(id=nsg.id),
                    ip_configurations=[compute.VirtualMachineScaleSetIPConfigurationArgs(
                        name="ipconfig", primary=True, subnet=compute.ApiEntityReferenceArgs(id=subnet.id),
                        load_balancer_backend_address_pools=[compute.SubResourceArgs(
                            id=pulumi.Output.concat(lb_id, "/backendAddressPools/", POOL))])])]),
            extension_profile=compute.VirtualMachineScaleSetExtensionProfileArgs(extensions=_extensions(args)),
        ),
        tags=group_tags,
        # The autoscale setting owns the instance count after creation; `up` must not reset it.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            ignore_changes=["sku.capacity"] if spec.autoscaled else None, depends_on=depends_on)))
