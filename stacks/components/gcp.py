"""GCP: regional managed instance group(s) from one instance template, behind HTTP load balancing.

Internal (default): a regional internal Application Load Balancer (needs the region's
proxy-only subnet). Public: a global external Application Load Balancer, HTTPS when a
certificate is configured. VMs have no external IP (Cloud NAT for egress), accept traffic
only from Google's health-check/proxy ranges, run as a service account with log/metric
write, read on the one Artifact Registry repository their image comes from and on their
own secrets, and are Shielded VMs.
"""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from placement.types import Purchase
from stacks import naming
from stacks import provider_values as pv
from stacks.components.fleet import ModelFleet
from stacks.components.outputs import FleetOutputs
from stacks.fleet_args import TARGET_UTILIZATION, FleetArgs, GroupRole, GroupSpec, SecretSpec
from stacks.naming import logical_name
from stacks.providers import SharedCache
from stacks.settings import StackSettings
from stacks.userdata import artifact_repository, render_boot_script

HTTP_PORT = 80
HTTPS_PORT = 443
# Regional MIGs spread over three zones; a surge must cover each zone or be zero.
MAX_SURGE = 3


def _proxy_only_subnet(args: FleetArgs, provider: pulumi.ProviderResource, settings: StackSettings,
                       shared: SharedCache) -> gcp.compute.Subnetwork | None:
    if not settings.gcp.create_proxy_only_subnet:
        return None

    def build() -> gcp.compute.Subnetwork:
        return gcp.compute.Subnetwork(
            f"gcp-{args.region}-proxy-only",
            name=naming.physical_name(naming.GCP_RESOURCE, "roost", args.stack, args.region, "proxy"),
            region=args.region, network=settings.gcp.network, ip_cidr_range=settings.gcp_proxy_only_cidr(args.region),
            purpose=pv.GCP_PROXY_ONLY_PURPOSE, role=pv.GCP_PROXY_ONLY_ROLE,
            opts=pulumi.ResourceOptions(provider=provider))

    return shared.get(("gcp-proxy-only", settings.gcp.network, args.region), build)


def _cloud_nat(args: FleetArgs, provider: pulumi.ProviderResource, settings: StackSettings,
               shared: SharedCache) -> None:
    if not settings.gcp.cloud_nat:
        return

    def build() -> gcp.compute.RouterNat:
        opts = pulumi.ResourceOptions(provider=provider)
        router = gcp.compute.Router(
            f"gcp-{args.region}-router",
            name=naming.physical_name(naming.GCP_RESOURCE, "roost", args.stack, args.region, "router"),
            region=args.region, network=settings.gcp.network, opts=opts)
        return gcp.compute.RouterNat(
            f"gcp-{args.region}-nat",
            name=naming.physical_name(naming.GCP_RESOURCE, "roost", args.stack, args.region, "nat"),
            router=router.name, region=args.region, nat_ip_allocate_option=pv.GCP_NAT_IP_ALLOCATE,
            source_subnetwork_ip_ranges_to_nat=pv.GCP_NAT_SOURCE_RANGES,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"), opts=opts)

    shared.get(("gcp-nat", settings.gcp.network, args.region), build)


def _scheduling(args: FleetArgs, purchase: Purchase) -> gcp.compute.InstanceTemplateSchedulingArgs:
    if purchase is Purchase.SPOT:
        return gcp.compute.InstanceTemplateSchedulingArgs(
            provisioning_model=pv.GCP_PROVISIONING_SPOT, preemptible=True, automatic_restart=False,
            on_host_maintenance=pv.GCP_HOST_MAINTENANCE_TERMINATE,
            instance_termination_action=pv.GCP_SPOT_TERMINATION_ACTION)
    return gcp.compute.InstanceTemplateSchedulingArgs(
        provisioning_model=pv.GCP_PROVISIONING_STANDARD, preemptible=False, automatic_restart=True,
        on_host_maintenance=pv.GCP_HOST_MAINTENANCE_TERMINATE if args.has_gpu else pv.GCP_HOST_MAINTENANCE_MIGRATE)


class GcpModelFleet(ModelFleet):
    """Service account, firewall, health check, regional MIG(s) and an HTTP(S) load balancer."""

    def _build(self) -> FleetOutputs:
        from stacks import machines

        args, settings = self.fleet_args, self.settings
        internal = not args.public
        proxy_subnet = _proxy_only_subnet(args, self.provider, settings, self.shared) if internal else None
        _cloud_nat(args, self.provider, settings, self.shared)
        network_tag = naming.physical_name(naming.GCP_RESOURCE, "roost", args.stack, args.name)
        account = self._identity()
        self._firewall(network_tag)
        health_check = self._health_check()
        script = render_boot_script(args, gcp_project=settings.gcp.project)
        groups = [_group(args, spec, settings, script, args.guest_accelerator, account.email, network_tag,
                         args.tags.gcp(), health_check, self.child_opts,
                         machines.gcp_boot_disk_type(args.instance_type))
                  for spec in args.groups()]
        rule = self._load_balancer(groups, health_check, proxy_subnet)
        https = self._https
        endpoint = rule.ip_address.apply(  # type: ignore[attr-defined]
            lambda ip: f"{'https' if https else 'http'}://{ip}")
        return FleetOutputs(endpoint=endpoint, group_name=groups[-1].name)

    @property
    def _https(self) -> bool:
        return bool(self.settings.gcp.certificate) and self.fleet_args.public

    # --- identity: a service account per fleet, its roles, and read access to its own secrets ---

    def _identity(self) -> gcp.serviceaccount.Account:
        args, opts, n = self.fleet_args, self.child_opts, self.fleet_args.name
        account = gcp.serviceaccount.Account(
            logical_name(n, "sa"), account_id=naming.physical_name(naming.GCP_SERVICE_ACCOUNT, args.stack, n),
            display_name=f"roost {n} serving VMs", opts=opts)
        member = account.email.apply(lambda email: f"serviceAccount:{email}")
        for role in pv.GCP_ROLES:
            gcp.projects.IAMMember(logical_name(n, f"sa-{role.split('/')[-1]}"), project=self.settings.gcp.project,
                                   role=role, member=member, opts=opts)
        repo = artifact_repository(args.image)
        if repo is not None:  # read the one repository the image comes from, not every one in the project
            gcp.artifactregistry.RepositoryIamMember(
                logical_name(n, "sa-registry-reader"), project=repo.project, location=repo.location,
                repository=repo.name, role=pv.GCP_REGISTRY_READER_ROLE, member=member, opts=opts)
        for s in args.secrets:
            gcp.secretmanager.SecretIamMember(logical_name(n, f"secret-{s.name}-reader"),
                                              secret_id=self._secret(s), role=pv.GCP_SECRET_ACCESSOR_ROLE,
                                              member=member, opts=opts)
        return account

    def _secret(self, s: SecretSpec) -> pulumi.Input[str]:
        """The secret's id: a referenced one as given, otherwise created here."""
        if s.ref is not None and s.ref.gcp_name:
            return s.ref.gcp_name
        args, opts, n = self.fleet_args, self.child_opts, self.fleet_args.name
        secret = gcp.secretmanager.Secret(
            logical_name(n, f"secret-{s.name}"), secret_id=naming.gcp_secret_id(args.stack, n, s.name),
            replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
            labels=args.tags.gcp(), opts=opts)
        if s.has_value:
            gcp.secretmanager.SecretVersion(logical_name(n, f"secret-{s.name}-value"), secret=secret.id,
                                            secret_data=self.settings.secret_values[s.name], opts=opts)
        return secret.id

    # --- firewall: the model port from Google's health checkers and proxies only ---

    def _firewall(self, network_tag: str) -> None:
        args, settings, n = self.fleet_args, self.settings, self.fleet_args.name
        sources = list(pv.GCP_HEALTH_CHECK_RANGES)
        if not args.public:
            sources.append(settings.gcp_proxy_only_cidr(args.region))
        gcp.compute.Firewall(
            logical_name(n, "fw"), name=naming.physical_name(naming.GCP_RESOURCE, args.stack, n, "lb"),
            network=settings.gcp.network, direction=pv.GCP_FIREWALL_DIRECTION, priority=1000,
            description=f"roost {n}: load balancer and health checks to the model port",
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(args.port)])],
            source_ranges=sources, target_tags=[network_tag], opts=self.child_opts)

    def _health_check(self) -> pulumi.CustomResource:
        args, opts, n = self.fleet_args, self.child_opts, self.fleet_args.name
        name = naming.physical_name(naming.GCP_RESOURCE, args.stack, n, "hc")
        if not args.public:
            return gcp.compute.RegionHealthCheck(
                logical_name(n, "hc"), name=name, region=args.region, check_interval_sec=15, timeout_sec=5,
                healthy_threshold=2, unhealthy_threshold=3,
                http_health_check=gcp.compute.RegionHealthCheckHttpHealthCheckArgs(
                    port=args.port, request_path=args.health_path), opts=opts)
        return gcp.compute.HealthCheck(
            logical_name(n, "hc"), name=name, check_interval_sec=15, timeout_sec=5, healthy_threshold=2,
            unhealthy_threshold=3,
            http_health_check=gcp.compute.HealthCheckHttpHealthCheckArgs(port=args.port,
                                                                         request_path=args.health_path),
            opts=opts)

    # --- load balancer: regional internal, or global external (HTTPS with a certificate) ---

    def _load_balancer(self, groups: list[gcp.compute.RegionInstanceGroupManager],
                       health_check: pulumi.CustomResource,
                       proxy_subnet: gcp.compute.Subnetwork | None) -> pulumi.CustomResource:
        args, opts, n = self.fleet_args, self.child_opts, self.fleet_args.name
        lb_name = naming.physical_name(naming.GCP_RESOURCE, args.stack, n)
        common = dict(name=lb_name, protocol=pv.GCP_BACKEND_PROTOCOL, port_name="http",
                      timeout_sec=args.request_timeout_seconds, health_checks=health_check.id,
                      connection_draining_timeout_sec=30)
        if not args.public:
            scheme = pv.GCP_SCHEME_INTERNAL
            backend = gcp.compute.RegionBackendService(
                logical_name(n, "backend"), region=args.region, load_balancing_scheme=scheme, **common,
                backends=[gcp.compute.RegionBackendServiceBackendArgs(
                    group=mig.instance_group, balancing_mode=pv.GCP_BALANCING_MODE_RATE,
                    max_rate_per_instance=args.predicted_rps_per_replica, capacity_scaler=1.0) for mig in groups],
                opts=opts)
            url_map = gcp.compute.RegionUrlMap(logical_name(n, "urlmap"), name=lb_name, region=args.region,
                                               default_service=backend.id, opts=opts)
            proxy = gcp.compute.RegionTargetHttpProxy(logical_name(n, "proxy"), name=lb_name, region=args.region,
                                                      url_map=url_map.id, opts=opts)
            return gcp.compute.ForwardingRule(
                logical_name(n, "fr"), name=lb_name, region=args.region, load_balancing_scheme=scheme,
                ip_protocol="TCP", port_range=str(HTTP_PORT), target=proxy.id, network=self.settings.gcp.network,
                subnetwork=self.settings.gcp.subnetwork, labels=args.tags.gcp(),
                opts=self.child_options(depends_on=[proxy_subnet] if proxy_subnet else []))
        scheme = pv.GCP_SCHEME_EXTERNAL
        global_backend = gcp.compute.BackendService(
            logical_name(n, "backend"), load_balancing_scheme=scheme, **common,
            backends=[gcp.compute.BackendServiceBackendArgs(
                group=mig.instance_group, balancing_mode=pv.GCP_BALANCING_MODE_RATE,
                max_rate_per_instance=args.predicted_rps_per_replica, capacity_scaler=1.0) for mig in groups],
            opts=opts)
        global_map = gcp.compute.URLMap(logical_name(n, "urlmap"), name=lb_name,
                                        default_service=global_backend.id, opts=opts)
        global_proxy: pulumi.CustomResource
        if self._https:
            global_proxy = gcp.compute.TargetHttpsProxy(logical_name(n, "proxy"), name=lb_name,
                                                        url_map=global_map.id,
                                                        ssl_certificates=[self.settings.gcp.certificate], opts=opts)
        else:
            global_proxy = gcp.compute.TargetHttpProxy(logical_name(n, "proxy"), name=lb_name,
                                                       url_map=global_map.id, opts=opts)
        return gcp.compute.GlobalForwardingRule(
            logical_name(n, "fr"), name=lb_name, load_balancing_scheme=scheme, ip_protocol="TCP",
            port_range=str(HTTPS_PORT if self._https else HTTP_PORT), target=global_proxy.id,
            labels=args.tags.gcp(self.plain_http_tag(self._https)), opts=opts)


def _group(args: FleetArgs, spec: GroupSpec, settings: StackSettings, script: str, guest, sa_email,
           network_tag: str, labels: dict[str, str], health_check: pulumi.CustomResource,
           opts: pulumi.ResourceOptions, disk_type: str) -> gcp.compute.RegionInstanceGroupManager:
    n = args.name
    suffix = "" if spec.role is GroupRole.MAIN else f"-{spec.role.value}"
    metadata = {"startup-script": script, "block-project-ssh-keys": "TRUE", "enable-oslogin": "TRUE"}
    if args.has_gpu:
        metadata["install-nvidia-driver"] = "True"  # Deep Learning VM images install the driver at first boot
    group_labels = {**labels, **naming.gcp_label_value_map(naming.monthly_usd_tag(args.monthly_cost_usd))} \
        if spec.role is GroupRole.MAIN else labels
    template = gcp.compute.InstanceTemplate(
        logical_name(n, f"template{suffix}"),
        # A prefix, not a name: templates are immutable, and replacement must create before delete.
        name_prefix=naming.physical_name(naming.GCP_NAME_PREFIX, args.stack, n, spec.role.value) + "-",
        description=f"roost {n}: {args.image}",
        machine_type=args.instance_type,
        disks=[gcp.compute.InstanceTemplateDiskArgs(
            boot=True, auto_delete=True, source_image=args.machine_image, disk_size_gb=args.root_disk_gib,
            disk_type=disk_type, labels=labels)],
        network_interfaces=[gcp.compute.InstanceTemplateNetworkInterfaceArgs(
            network=settings.gcp.network, subnetwork=settings.gcp.subnetwork)],  # no access_configs: no public IP
        service_account=gcp.compute.InstanceTemplateServiceAccountArgs(
            email=sa_email, scopes=[pv.GCP_SCOPE_CLOUD_PLATFORM]),  # the roles above are what limit access
        scheduling=_scheduling(args, spec.purchase),
        guest_accelerators=[gcp.compute.InstanceTemplateGuestAcceleratorArgs(type=guest.type, count=guest.count)]
        if guest else None,
        # NVIDIA's driver modules are not signed for Secure Boot; vTPM and integrity monitoring stay on.
        shielded_instance_config=gcp.compute.InstanceTemplateShieldedInstanceConfigArgs(
            enable_secure_boot=not args.has_gpu, enable_vtpm=True, enable_integrity_monitoring=True),
        metadata=metadata, labels=labels, tags=[network_tag],
        opts=opts)
    spread_anywhere = args.has_gpu or spec.purchase is Purchase.SPOT
    mig = gcp.compute.RegionInstanceGroupManager(
        logical_name(n, f"mig{suffix}"),
        name=naming.physical_name(naming.GCP_RESOURCE, args.stack, n, spec.role.value),
        region=args.region,
        base_instance_name=naming.physical_name(naming.GCP_BASE_INSTANCE, n, spec.role.value),
        versions=[gcp.compute.RegionInstanceGroupManagerVersionArgs(instance_template=template.self_link_unique,
                                                                   name="primary")],
        named_ports=[gcp.compute.RegionInstanceGroupManagerNamedPortArgs(name="http", port=args.port)],
        auto_healing_policies=gcp.compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(
            health_check=health_check.id, initial_delay_sec=args.health_grace_seconds),
        distribution_policy_target_shape=pv.GCP_TARGET_SHAPE_ANY if spread_anywhere else pv.GCP_TARGET_SHAPE_EVEN,
        update_policy=gcp.compute.RegionInstanceGroupManagerUpdatePolicyArgs(
            type=pv.GCP_UPDATE_TYPE, minimal_action=pv.GCP_UPDATE_MINIMAL_ACTION, max_surge_fixed=MAX_SURGE,
            max_unavailable_fixed=0,
            instance_redistribution_type=pv.GCP_REDISTRIBUTION_NONE if spread_anywhere
            else pv.GCP_REDISTRIBUTION_PROACTIVE),
        all_instances_config=gcp.compute.RegionInstanceGroupManagerAllInstancesConfigArgs(labels=group_labels),
        # The autoscaler owns the size of an autoscaled group.
        target_size=None if spec.autoscaled else spec.desired,
        wait_for_instances=False,
        opts=opts)
    if spec.autoscaled:
        gcp.compute.RegionAutoscaler(
            logical_name(n, f"autoscaler{suffix}"),
            name=naming.physical_name(naming.GCP_RESOURCE, args.stack, n, spec.role.value, "as"),
            region=args.region, target=mig.id,
            autoscaling_policy=gcp.compute.RegionAutoscalerAutoscalingPolicyArgs(
                min_replicas=spec.min_size, max_replicas=spec.max_size,
                cooldown_period=args.health_grace_seconds,
                # Backends declare the predicted rps as their full rate; scale out at 70 % of it.
                load_balancing_utilization=gcp.compute.RegionAutoscalerAutoscalingPolicyLoadBalancingUtilizationArgs(
                    target=TARGET_UTILIZATION)),
            opts=opts)
    return mig
