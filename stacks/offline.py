"""Run the real Pulumi program under strict mocks: no CLI, no plugins, no cloud.

What "strict" adds to Pulumi's mocks:
  * a second resource with the same URN is an error (the real engine rejects it; mocks don't);
  * a custom resource on a default provider is an error (every resource must name its region's provider);
  * computed outputs the program reads (ids, ARNs, DNS names, self links) are synthesized;
  * secret values are redacted as ``[secret]`` and unknown values shown as ``(known after apply)``
    before anything leaves this module.

Pulumi's runtime keeps global state; ``run_offline`` resets what matters (root stack,
config, outputs) so it can run any number of times in one process.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

SECRET = "[secret]"
UNKNOWN = "(known after apply)"
STACK_TYPE = "pulumi:pulumi:Stack"


class OfflineProgramError(RuntimeError):
    """The program did something the real engine would reject."""


@dataclass(frozen=True)
class CapturedResource:
    urn: str
    type: str
    name: str
    parent: str
    provider: str
    custom: bool
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class OfflineRun:
    resources: tuple[CapturedResource, ...]
    component_outputs: Mapping[str, Mapping[str, Any]]
    exports: Mapping[str, Any]
    invokes: tuple[str, ...] = field(default=())


def redact(value: Any) -> Any:
    """Replace secret sentinels by ``[secret]`` and unknowns by ``(known after apply)``, recursively."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return UNKNOWN
    return value


def _fake_id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


_GCP_PROXY_COLLECTIONS = {
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "targetHttpProxies",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "targetHttpsProxies",
    "gcp:compute/regionTargetHttpProxy:RegionTargetHttpProxy": "targetHttpProxies",
    "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy": "targetHttpsProxies",
}


class StrictMocks(pulumi.runtime.Mocks):
    """Returns each resource's inputs plus the computed outputs the roost program reads."""

    def __init__(self) -> None:
        self.invokes: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        outputs = dict(args.inputs)
        rid = f"{args.name}-{_fake_id(args.typ, args.name)[:8]}"
        typ = args.typ
        if typ.startswith("aws:"):
            service = typ.split(":")[1].split("/")[0]
            arn = f"arn:aws:{service}:region:123456789012:{args.name}"
            outputs.setdefault("arn", arn)
            if typ == "aws:lb/loadBalancer:LoadBalancer":
                outputs["arnSuffix"] = f"app/{args.inputs.get('name', args.name)}/{_fake_id(args.name)}"
                prefix = "internal-" if args.inputs.get("internal") else ""
                outputs["dnsName"] = f"{prefix}{args.inputs.get('name', args.name)}.region.elb.amazonaws.com"
            elif typ == "aws:lb/targetGroup:TargetGroup":
                outputs["arnSuffix"] = f"targetgroup/{args.inputs.get('name', args.name)}/{_fake_id(args.name)}"
            elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
                outputs["latestVersion"] = 1
                rid = f"lt-{_fake_id(args.name)}"
            elif typ == "aws:ec2/securityGroup:SecurityGroup":
                rid = f"sg-{_fake_id(args.name)}"
            elif typ == "aws:autoscaling/group:Group":
                rid = args.inputs.get("name", rid)
            elif typ == "aws:secretsmanager/secret:Secret":  # real ARNs end in a random 6-character suffix
                outputs["arn"] = (f"arn:aws:secretsmanager:region:123456789012:secret:"
                                  f"{args.inputs.get('name', args.name)}-{_fake_id(args.name)[:6]}")
            elif typ == "aws:iam/role:Role":
                rid = args.inputs.get("name", rid)
        elif typ.startswith("gcp:"):
            project = "offline-project"
            outputs.setdefault("selfLink", f"https://www.googleapis.com/compute/v1/projects/{project}/{args.name}")
            if typ == "gcp:compute/instanceTemplate:InstanceTemplate":
                outputs["selfLinkUnique"] = f"{outputs['selfLink']}?uniqueId={_fake_id(args.name)}"
                outputs.setdefault("name", f"{args.inputs.get('namePrefix', args.name)}{_fake_id(args.name)[:9]}")
            elif typ == "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
                outputs["instanceGroup"] = f"{outputs['selfLink']}/instanceGroup"
            elif typ == "gcp:serviceaccount/account:Account":
                outputs["email"] = f"{args.inputs.get('accountId', args.name)}@{project}.iam.gserviceaccount.com"
            elif typ in ("gcp:compute/forwardingRule:ForwardingRule",
                         "gcp:compute/globalForwardingRule:GlobalForwardingRule"):
                outputs.setdefault("ipAddress", "10.0.0.10" if "INTERNAL" in str(args.inputs.get(
                    "loadBalancingScheme", "")) else "203.0.113.10")
            elif typ in _GCP_PROXY_COLLECTIONS:  # the collection in the id says HTTP or HTTPS, as in GCP
                scope = f"regions/{args.inputs['region']}" if args.inputs.get("region") else "global"
                rid = f"projects/{project}/{scope}/{_GCP_PROXY_COLLECTIONS[typ]}/{args.inputs.get('name', args.name)}"
            elif typ == "gcp:secretmanager/secret:Secret":
                rid = f"projects/{project}/secrets/{args.inputs.get('secretId', args.name)}"
                outputs["name"] = rid
        elif typ.startswith("azure-native:"):
            rid = (f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                   f"{typ.split(':')[1]}/{typ.split(':')[2]}/{args.name}")
            if typ == "azure-native:compute:VirtualMachineScaleSet":
                outputs["identity"] = {**(args.inputs.get("identity") or {}),
                                       "principalId": f"00000000-0000-0000-0000-{_fake_id(args.name)[:12]}"}
                outputs["name"] = args.inputs.get("vmScaleSetName", args.name)
            elif typ == "azure-native:network:LoadBalancer":
                configs = [dict(c) for c in args.inputs.get("frontendIPConfigurations") or []]
                for c in configs:
                    c.setdefault("privateIPAddress", "10.42.0.250")
                outputs["frontendIPConfigurations"] = configs
            elif typ == "azure-native:network:PublicIPAddress":
                outputs["ipAddress"] = "203.0.113.20"
            elif typ == "azure-native:keyvault:Vault":
                rid = (f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                       f"Microsoft.KeyVault/vaults/{args.inputs.get('vaultName', args.name)}")
                outputs["properties"] = {**(args.inputs.get("properties") or {}),
                                         "vaultUri": f"https://{args.inputs.get('vaultName')}.vault.azure.net/"}
            for key in ("resourceGroupName", "vmScaleSetName", "loadBalancerName", "networkSecurityGroupName",
                        "virtualNetworkName", "subnetName", "vaultName", "autoscaleSettingName"):
                if key in args.inputs:
                    outputs.setdefault("name", args.inputs[key])
        outputs.setdefault("id", rid)
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:  # type: ignore[override]
        self.invokes.append(args.token)
        token = args.token
        if token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args.get("id") or "vpc-0offline", "cidrBlock": "172.31.0.0/16"}
        if token == "aws:ec2/getSubnets:getSubnets":
            return {"ids": ["subnet-0offlinea", "subnet-0offlineb", "subnet-0offlinec"]}
        if token == "aws:ssm/getParameter:getParameter":
            return {"name": args.args.get("name"), "value": f"ami-{_fake_id(str(args.args.get('name')))}",
                    "type": "String"}
        if token == "azure-native:authorization:getClientConfig":
            return {"subscriptionId": "00000000-0000-0000-0000-000000000000",
                    "tenantId": "11111111-1111-1111-1111-111111111111",
                    "clientId": "offline", "objectId": "22222222-2222-2222-2222-222222222222"}
        # Unmocked data sources would return nothing and the program would build on None.
        raise OfflineProgramError(f"no offline answer for data source {token}; add one to StrictMocks.call")


class StrictMonitor(pulumi_mocks.MockMonitor):
    """Pulumi's mock monitor plus duplicate-URN and default-provider checks and a record of parents."""

    def __init__(self, mocks: StrictMocks):
        super().__init__(mocks)
        self.captured: list[CapturedResource] = []
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        # Registrations run concurrently on worker threads: claim each URN atomically.
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != STACK_TYPE:
            with self._lock:
                duplicate = urn in self._seen
                self._seen.add(urn)
            if duplicate:
                self.errors.append(f"duplicate resource URN {urn}: two resources share type and name")
                raise OfflineProgramError(self.errors[-1])
            if request.custom and not request.type.startswith("pulumi:providers:") and not request.provider:
                self.errors.append(f"{request.type} {request.name!r} uses a default provider; "
                                   "pass the region's explicit provider")
                raise OfflineProgramError(self.errors[-1])
        response = super().RegisterResource(request)
        if request.type != STACK_TYPE:
            inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
            self.captured.append(CapturedResource(
                urn=urn, type=request.type, name=request.name, parent=request.parent,
                provider=request.provider, custom=bool(request.custom), inputs=redact(inputs)))
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        self.component_outputs[request.urn] = redact(outputs)
        return super().RegisterResourceOutputs(request)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the program runs.

    The provider SDKs leave ~0.5 M objects alive after import, and every resource creates
    hundreds of Outputs and tasks, so generational collections keep re-walking the heap:
    measured, 70 % of a preview's time. The run's garbage is collected normally afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_offline(program: Callable[[], None], *, project: str, stack: str, config: Mapping[str, str],
                secret_keys: Sequence[str] = ()) -> OfflineRun:
    """Run ``program`` once under strict mocks with the given ``namespace:key`` config (string values)."""
    from pulumi.runtime import settings as runtime_settings

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    try:
        asyncio.get_event_loop()
    except RuntimeError:  # a worker thread has no loop until we make one
        asyncio.set_event_loop(asyncio.new_event_loop())
    mocks = StrictMocks()
    monitor = StrictMonitor(mocks)
    runtime_settings.ROOT.set(None)  # a fresh root Stack resource, named for this stack
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def _run() -> pulumi.Output[Any] | None:
        program()
        root = runtime_settings.get_root_resource()
        outputs = dict(getattr(root, "outputs", {}) or {})
        if not outputs:
            return None
        resolved = {k: pulumi.Output.from_input(v) for k, v in outputs.items()}
        return pulumi.Output.all(**resolved).apply(lambda values: exports.update(values))

    try:
        with _gc_paused():
            _run()
    finally:
        pulumi.runtime.set_all_config({}, [])
    if monitor.errors:
        raise OfflineProgramError(monitor.errors[0])
    return OfflineRun(resources=tuple(monitor.captured), component_outputs=dict(monitor.component_outputs),
                      exports=redact(exports), invokes=tuple(mocks.invokes))
