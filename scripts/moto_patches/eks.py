"""EKS clusters, managed node groups and Fargate profiles: the state transitions, failures and
endpoint stock moto 5.2.5 lacks.

What stock moto does (../shared/reference/local-aws-families.md):
- CreateCluster, CreateNodegroup and CreateFargateProfile answer ACTIVE at once, and the Delete
  calls remove the resource at once, so a waiter never sees CREATING or DELETING, and nothing
  can fail to create or to delete;
- DeleteCluster of a cluster that still has Fargate profiles succeeds (AWS refuses it);
- a cluster's endpoint is a made-up https://...eks.amazonaws.com host and its certificate
  authority random text, so no Kubernetes API can be reached through them.

What this patch changes (each an AWS path, selected by the resource's tags at creation):
- tag `moto:transition-reads` = N: after its creation the resource is CREATING for the next N
  reads (DescribeCluster / DescribeNodegroup / DescribeFargateProfile, and the ListNodegroups /
  ListFargateProfiles of its cluster), then ACTIVE; after its deletion it is DELETING (still
  listed) for N reads, then gone (ResourceNotFoundException);
- tag `moto:create` = `fails`: after its CREATING reads the resource is FAILED (a cluster) or
  CREATE_FAILED (a node group or profile);
- tag `moto:delete` = `fails`: after its DELETING reads a node group or profile is
  DELETE_FAILED and a cluster ACTIVE again (what the ClusterDeleted waiter fails on);
- DeleteCluster of a cluster with Fargate profiles answers ResourceInUseException, as AWS does;
- cluster tags `moto:endpoint` and `moto:certificate-authority-data` set the cluster's endpoint
  and certificate authority (the tests' stand-in of the Kubernetes API, scripts/k8s_standin.py).
Resources without these tags behave exactly as in stock moto.

Tests that need it: tests/eks.rs (waiters polling, create and delete failures, the sensors'
terminal states, force_delete_compute, EksPodOperator against the stand-in).
"""

from moto.eks.exceptions import ResourceInUseException
from moto.eks.models import EKSBackend

_stock = {
    name: getattr(EKSBackend, name)
    for name in (
        "create_cluster",
        "create_nodegroup",
        "create_fargate_profile",
        "describe_cluster",
        "describe_nodegroup",
        "describe_fargate_profile",
        "delete_cluster",
        "delete_nodegroup",
        "delete_fargate_profile",
        "list_nodegroups",
        "list_fargate_profiles",
    )
}

_GONE = "GONE"


def _tag(resource, key):
    return (getattr(resource, "tags", None) or {}).get(key)


def _reads(resource):
    try:
        return max(int(_tag(resource, "moto:transition-reads") or 0), 0)
    except ValueError:
        return 0


def _start(resource, transitional, final, forced):
    """Shows `transitional` for the resource's reads, then `final` (or the resource gone)."""
    reads = _reads(resource)
    if reads == 0 and not forced:
        return False
    resource.status = transitional
    resource._moto_reads = reads
    resource._moto_final = final
    return True


def _tick(resource, remove):
    """One read of the resource: counts down its transition, or completes it (removing the
    resource with `remove` when its end is to be gone)."""
    final = getattr(resource, "_moto_final", None)
    if final is None:
        return
    if resource._moto_reads > 0:
        resource._moto_reads -= 1
        return
    resource._moto_final = None
    if final == _GONE:
        remove()
    else:
        resource.status = final


def _cluster_of(backend, name):
    return backend.clusters.get(name)


def _remove_cluster(backend, name):
    def remove():
        backend.clusters.pop(name, None)
        backend.cluster_count -= 1

    return remove


def _remove_nodegroup(cluster, name):
    def remove():
        if cluster.nodegroups.pop(name, None) is not None:
            cluster.nodegroup_count -= 1

    return remove


def _remove_profile(cluster, name):
    def remove():
        if cluster.fargate_profiles.pop(name, None) is not None:
            cluster.fargate_profile_count -= 1

    return remove


def _create_cluster(self, *args, **kwargs):
    cluster = _stock["create_cluster"](self, *args, **kwargs)
    endpoint = _tag(cluster, "moto:endpoint")
    if endpoint:
        cluster.endpoint = endpoint
    ca = _tag(cluster, "moto:certificate-authority-data")
    if ca:
        cluster.certificate_authority = {"data": ca}
    fails = _tag(cluster, "moto:create") == "fails"
    _start(cluster, "CREATING", "FAILED" if fails else "ACTIVE", fails)
    return cluster


def _create_compute(stock_name):
    def create(self, *args, **kwargs):
        resource = _stock[stock_name](self, *args, **kwargs)
        fails = _tag(resource, "moto:create") == "fails"
        _start(resource, "CREATING", "CREATE_FAILED" if fails else "ACTIVE", fails)
        return resource

    return create


def _describe_cluster(self, name):
    cluster = _cluster_of(self, name)
    if cluster is not None:
        _tick(cluster, _remove_cluster(self, name))
    return _stock["describe_cluster"](self, name=name)


def _describe_nodegroup(self, cluster_name, nodegroup_name):
    cluster = _cluster_of(self, cluster_name)
    if cluster is not None and nodegroup_name in cluster.nodegroups:
        _tick(cluster.nodegroups[nodegroup_name], _remove_nodegroup(cluster, nodegroup_name))
    return _stock["describe_nodegroup"](
        self, cluster_name=cluster_name, nodegroup_name=nodegroup_name
    )


def _describe_fargate_profile(self, cluster_name, fargate_profile_name):
    cluster = _cluster_of(self, cluster_name)
    if cluster is not None and fargate_profile_name in cluster.fargate_profiles:
        _tick(
            cluster.fargate_profiles[fargate_profile_name],
            _remove_profile(cluster, fargate_profile_name),
        )
    return _stock["describe_fargate_profile"](
        self, cluster_name=cluster_name, fargate_profile_name=fargate_profile_name
    )


def _list_nodegroups(self, cluster_name, **kwargs):
    cluster = _cluster_of(self, cluster_name)
    if cluster is not None:
        for name, ng in list(cluster.nodegroups.items()):
            _tick(ng, _remove_nodegroup(cluster, name))
    return _stock["list_nodegroups"](self, cluster_name=cluster_name, **kwargs)


def _list_fargate_profiles(self, cluster_name, **kwargs):
    cluster = _cluster_of(self, cluster_name)
    if cluster is not None:
        for name, fp in list(cluster.fargate_profiles.items()):
            _tick(fp, _remove_profile(cluster, name))
    return _stock["list_fargate_profiles"](self, cluster_name=cluster_name, **kwargs)


def _delete_cluster(self, name):
    cluster = _cluster_of(self, name)
    if cluster is None:
        return _stock["delete_cluster"](self, name=name)
    if cluster.fargate_profile_count and not cluster.nodegroup_count:
        raise ResourceInUseException(
            clusterName=name,
            nodegroupName=None,
            addonName=None,
            message="Cluster has fargate profiles attached",
        )
    fails = _tag(cluster, "moto:delete") == "fails"
    if _reads(cluster) == 0 and not fails:
        return _stock["delete_cluster"](self, name=name)
    if cluster.nodegroup_count:
        # The stock check: a cluster with node groups cannot be deleted.
        return _stock["delete_cluster"](self, name=name)
    _start(cluster, "DELETING", "ACTIVE" if fails else _GONE, True)
    return cluster


def _delete_compute(stock_name, collection, name_arg):
    def delete(self, cluster_name, **kwargs):
        name = kwargs[name_arg]
        cluster = _cluster_of(self, cluster_name)
        resource = getattr(cluster, collection, {}).get(name) if cluster is not None else None
        if resource is None:
            return _stock[stock_name](self, cluster_name=cluster_name, **kwargs)
        fails = _tag(resource, "moto:delete") == "fails"
        if _reads(resource) == 0 and not fails:
            return _stock[stock_name](self, cluster_name=cluster_name, **kwargs)
        _start(resource, "DELETING", "DELETE_FAILED" if fails else _GONE, True)
        return resource

    return delete


def apply() -> None:
    """Installs the EKS paths described above."""
    EKSBackend.create_cluster = _create_cluster
    EKSBackend.create_nodegroup = _create_compute("create_nodegroup")
    EKSBackend.create_fargate_profile = _create_compute("create_fargate_profile")
    EKSBackend.describe_cluster = _describe_cluster
    EKSBackend.describe_nodegroup = _describe_nodegroup
    EKSBackend.describe_fargate_profile = _describe_fargate_profile
    EKSBackend.list_nodegroups = _list_nodegroups
    EKSBackend.list_fargate_profiles = _list_fargate_profiles
    EKSBackend.delete_cluster = _delete_cluster
    EKSBackend.delete_nodegroup = _delete_compute(
        "delete_nodegroup", "nodegroups", "nodegroup_name"
    )
    EKSBackend.delete_fargate_profile = _delete_compute(
        "delete_fargate_profile", "fargate_profiles", "fargate_profile_name"
    )
