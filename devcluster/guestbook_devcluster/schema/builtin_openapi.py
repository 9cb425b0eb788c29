"""OpenAPI v3 schemas of the built-in kinds the local API server serves.

Enough for ``kubectl explain`` to document the fields this project uses and for
clients that read patch strategies from OpenAPI: object metadata in full, Pod
containers, env, ports, volumes and volume mounts with their
``x-kubernetes-patch-merge-key`` / ``x-kubernetes-patch-strategy`` (the merge
keys of strategic merge patch), Jobs, Secrets, ConfigMaps, Namespaces. Parts
nobody here relies on are ``x-kubernetes-preserve-unknown-fields`` objects, so
no valid manifest is ever refused because of this file.

Schemas are keyed by their Kubernetes definition names
(``io.k8s.api.core.v1.Pod``) and refer to each other with ``$ref`` to
``#/components/schemas/<name>``.
"""

from __future__ import annotations

import functools
from typing import Any, Final

Schema = dict[str, Any]

META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1"
CORE: Final = "io.k8s.api.core.v1"

OBJECT_META_DESCRIPTION: Final = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#metadata"
)
API_VERSION_DESCRIPTION: Final = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#resources"
)
KIND_DESCRIPTION: Final = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#types-kinds"
)


def ref(name: str, description: str = "") -> Schema:
    """A property that is the schema ``name`` (wrapped in allOf, as Kubernetes does)."""
    schema: Schema = {"allOf": [{"$ref": f"#/components/schemas/{name}"}]}
    if description:
        schema["description"] = description
    return schema


def _s(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def _i(description: str, fmt: str = "int32") -> Schema:
    return {"type": "integer", "format": fmt, "description": description}


def _b(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def _free(description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "x-kubernetes-preserve-unknown-fields": True,
    }


def _strings_map(description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": {"type": "string", "default": ""},
    }


def _string_list(description: str, *, atomic: bool = True) -> Schema:
    schema: Schema = {
        "type": "array",
        "description": description,
        "items": {"type": "string", "default": ""},
    }
    if atomic:
        schema["x-kubernetes-list-type"] = "atomic"
    return schema


def _merge_list(
    description: str, item: str, key: str, *, map_keys: list[str] | None = None
) -> Schema:
    return {
        "type": "array",
        "description": description,
        "items": {"default": {}, **ref(item)},
        "x-kubernetes-list-map-keys": map_keys or [key],
        "x-kubernetes-list-type": "map",
        "x-kubernetes-patch-merge-key": key,
        "x-kubernetes-patch-strategy": "merge",
    }


def _object(
    description: str, properties: dict[str, Schema], *, required: list[str] | None = None
) -> Schema:
    schema: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _resource(
    description: str, group: str, version: str, kind: str, properties: dict[str, Schema]
) -> Schema:
    schema = _object(
        description,
        {
            "apiVersion": _s(API_VERSION_DESCRIPTION),
            "kind": _s(KIND_DESCRIPTION),
            "metadata": ref(f"{META}.ObjectMeta", OBJECT_META_DESCRIPTION),
            **properties,
        },
    )
    schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return schema


def _shared() -> dict[str, Schema]:
    """ObjectMeta and what it refers to."""
    return {
        f"{META}.Time": {
            "type": "string",
            "format": "date-time",
            "description": "Time is a wrapper around time.Time which supports correct marshaling "
            "to YAML and JSON. Wrappers are provided for many of the factory methods that the "
            "time package offers.",
        },
        f"{META}.OwnerReference": _object(
            "OwnerReference contains enough information to let you identify an owning object. "
            "An owning object must be in the same namespace as the dependent, or be "
            "cluster-scoped, so there is no namespace field.",
            {
                "apiVersion": _s("API version of the referent."),
                "kind": _s("Kind of the referent."),
                "name": _s("Name of the referent."),
                "uid": _s("UID of the referent."),
                "controller": _b("If true, this reference points to the managing controller."),
                "blockOwnerDeletion": _b(
                    'If true, AND if the owner has the "foregroundDeletion" finalizer, then '
                    "the owner cannot be deleted from the key-value store until this reference "
                    "is removed."
                ),
            },
            required=["apiVersion", "kind", "name", "uid"],
        )
        | {"x-kubernetes-map-type": "atomic"},
        f"{META}.ManagedFieldsEntry": _free(
            "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the "
            "resource that the fieldset applies to."
        ),
        f"{META}.ObjectMeta": _object(
            "ObjectMeta is metadata that all persisted resources must have, which includes all "
            "objects users must create.",
            {
                "name": _s(
                    "Name must be unique within a namespace. Is required when creating "
                    "resources, although some resources may allow a client to request the "
                    "generation of an appropriate name automatically. Cannot be updated."
                ),
                "generateName": _s(
                    "GenerateName is an optional prefix, used by the server, to generate a "
                    "unique name ONLY IF the Name field has not been provided."
                ),
                "namespace": _s(
                    "Namespace defines the space within which each name must be unique. Must "
                    "be a DNS_LABEL. Cannot be updated."
                ),
                "uid": _s("UID is the unique in time and space value for this object."),
                "resourceVersion": _s(
                    "An opaque value that represents the internal version of this object that "
                    "can be used by clients to determine when objects have changed."
                ),
                "generation": _i(
                    "A sequence number representing a specific generation of the desired "
                    "state. Populated by the system. Read-only.",
                    "int64",
                ),
                "creationTimestamp": ref(
                    f"{META}.Time",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created. Populated by the system. Read-only.",
                ),
                "deletionTimestamp": ref(
                    f"{META}.Time",
                    "DeletionTimestamp is RFC 3339 date and time at which this resource will "
                    "be deleted. Set by the server when a graceful deletion is requested.",
                ),
                "deletionGracePeriodSeconds": _i(
                    "Number of seconds allowed for this object to gracefully terminate before "
                    "it will be removed from the system.",
                    "int64",
                ),
                "labels": _strings_map(
                    "Map of string keys and values that can be used to organize and categorize "
                    "(scope and select) objects."
                ),
                "annotations": _strings_map(
                    "Annotations is an unstructured key value map stored with a resource that "
                    "may be set by external tools to store and retrieve arbitrary metadata."
                ),
                "ownerReferences": {
                    **_merge_list(
                        "List of objects depended by this object. If ALL objects in the list "
                        "have been deleted, this object will be garbage collected.",
                        f"{META}.OwnerReference",
                        "uid",
                    ),
                },
                "finalizers": {
                    **_string_list(
                        "Must be empty before the object is deleted from the registry. Each "
                        "entry is an identifier for the responsible component that will remove "
                        "the entry from the list.",
                        atomic=False,
                    ),
                    "x-kubernetes-list-type": "set",
                    "x-kubernetes-patch-strategy": "merge",
                },
                "managedFields": {
                    "type": "array",
                    "description": "ManagedFields maps workflow-id and version to the set of "
                    "fields that are managed by that workflow.",
                    "items": {"default": {}, **ref(f"{META}.ManagedFieldsEntry")},
                    "x-kubernetes-list-type": "atomic",
                },
                "selfLink": _s("Deprecated: selfLink is a legacy read-only field."),
            },
        ),
    }


def _core() -> dict[str, Schema]:
    """Pods and what they contain, namespaces, secrets, configmaps, service accounts, events."""
    env_var = _object(
        "EnvVar represents an environment variable present in a Container.",
        {
            "name": _s("Name of the environment variable. Must be a C_IDENTIFIER."),
            "value": _s(
                "Variable references $(VAR_NAME) are expanded using the previously defined "
                "environment variables in the container and any service environment variables."
            ),
            "valueFrom": _free(
                "Source for the environment variable's value (fieldRef, secretKeyRef, "
                "configMapKeyRef, resourceFieldRef)."
            ),
        },
        required=["name"],
    )
    container = _object(
        "A single application container that you want to run within a pod.",
        {
            "name": _s(
                "Name of the container specified as a DNS_LABEL. Each container in a pod must "
                "have a unique name (DNS_LABEL). Cannot be updated."
            ),
            "image": _s("Container image name."),
            "imagePullPolicy": _s("Image pull policy. One of Always, Never, IfNotPresent."),
            "command": _string_list(
                "Entrypoint array. Not executed within a shell. The container image's "
                "ENTRYPOINT is used if this is not provided."
            ),
            "args": _string_list(
                "Arguments to the entrypoint. The container image's CMD is used if this is not "
                "provided."
            ),
            "workingDir": _s("Container's working directory."),
            "env": _merge_list(
                "List of environment variables to set in the container. Cannot be updated.",
                f"{CORE}.EnvVar",
                "name",
            ),
            "envFrom": {
                "type": "array",
                "description": "List of sources to populate environment variables in the "
                "container.",
                "items": _free("EnvFromSource represents the source of a set of ConfigMaps."),
                "x-kubernetes-list-type": "atomic",
            },
            "ports": {
                **_merge_list(
                    "List of ports to expose from the container.",
                    f"{CORE}.ContainerPort",
                    "containerPort",
                    map_keys=["containerPort", "protocol"],
                ),
            },
            "volumeMounts": _merge_list(
                "Pod volumes to mount into the container's filesystem. Cannot be updated.",
                f"{CORE}.VolumeMount",
                "mountPath",
                map_keys=["mountPath"],
            ),
            "resources": _free("Compute Resources required by this container."),
            "livenessProbe": _free("Periodic probe of container liveness."),
            "readinessProbe": _free("Periodic probe of container service readiness."),
            "startupProbe": _free(
                "StartupProbe indicates that the Pod has successfully initialized."
            ),
            "lifecycle": _free(
                "Actions that the management system should take in response to "
                "container lifecycle events."
            ),
            "securityContext": _free(
                "SecurityContext defines the security options the container should be run with."
            ),
            "terminationMessagePath": _s(
                "Path at which the file to which the container's termination message "
                "will be written is mounted."
            ),
            "terminationMessagePolicy": _s(
                "Indicate how the termination message should be populated."
            ),
            "stdin": _b(
                "Whether this container should allocate a buffer for stdin in the "
                "container runtime."
            ),
            "tty": _b("Whether this container should allocate a TTY for itself."),
            "stdinOnce": _b(
                "Whether the container runtime should close the stdin channel after it has "
                "been opened by a single attach."
            ),
            "restartPolicy": _s(
                "RestartPolicy defines the restart behavior of individual containers in a pod "
                "(Always makes an init container a sidecar)."
            ),
            "resizePolicy": {
                "type": "array",
                "description": "Resources resize policy for the container.",
                "items": _free("ContainerResizePolicy represents resource resize policy."),
                "x-kubernetes-list-type": "atomic",
            },
            "volumeDevices": {
                "type": "array",
                "description": "volumeDevices is the list of block devices to be used by the "
                "container.",
                "items": _free("volumeDevice describes a mapping of a raw block device."),
                "x-kubernetes-list-map-keys": ["devicePath"],
                "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "devicePath",
                "x-kubernetes-patch-strategy": "merge",
            },
        },
        required=["name"],
    )
    pod_spec = _object(
        "PodSpec is a description of a pod.",
        {
            "containers": _merge_list(
                "List of containers belonging to the pod. There must be at least one container "
                "in a Pod. Cannot be updated.",
                f"{CORE}.Container",
                "name",
            ),
            "initContainers": _merge_list(
                "List of initialization containers belonging to the pod.",
                f"{CORE}.Container",
                "name",
            ),
            "volumes": {
                **_merge_list(
                    "List of volumes that can be mounted by containers belonging to the pod.",
                    f"{CORE}.Volume",
                    "name",
                ),
                "x-kubernetes-patch-strategy": "merge,retainKeys",
            },
            "restartPolicy": _s(
                "Restart policy for all containers within the pod. One of Always, OnFailure, "
                "Never. Default to Always.",
                enum=["Always", "Never", "OnFailure"],
            ),
            "serviceAccountName": _s(
                "ServiceAccountName is the name of the ServiceAccount to use to run this pod."
            ),
            "nodeName": _s("NodeName indicates in which node this pod is scheduled."),
            "terminationGracePeriodSeconds": _i(
                "Optional duration in seconds the pod needs to terminate gracefully.", "int64"
            ),
            "activeDeadlineSeconds": _i(
                "Optional duration in seconds the pod may be active on the node.", "int64"
            ),
            "imagePullSecrets": _merge_list(
                "ImagePullSecrets is an optional list of references to secrets in the same "
                "namespace to use for pulling any of the images used by this PodSpec.",
                f"{CORE}.LocalObjectReference",
                "name",
            ),
            "securityContext": _free(
                "SecurityContext holds pod-level security attributes and common container settings."
            ),
            "affinity": _free("If specified, the pod's scheduling constraints."),
            "tolerations": {
                "type": "array",
                "description": "If specified, the pod's tolerations.",
                "items": _free("Toleration."),
                "x-kubernetes-list-type": "atomic",
            },
            "nodeSelector": _strings_map(
                "NodeSelector is a selector which must be true for the pod to fit on a node."
            ),
            "schedulerName": _s("If specified, the pod will be dispatched by specified scheduler."),
            "hostname": _s("Specifies the hostname of the Pod."),
            "subdomain": _s(
                "If specified, the fully qualified Pod hostname will be "
                '"<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>".'
            ),
            "automountServiceAccountToken": _b(
                "AutomountServiceAccountToken indicates whether a service account token "
                "should be automatically mounted."
            ),
            "readinessGates": {
                "type": "array",
                "description": (
                    "If specified, all readiness gates will be evaluated for pod readiness."
                ),
                "items": _free("PodReadinessGate."),
                "x-kubernetes-list-type": "atomic",
            },
        },
        required=["containers"],
    )
    pod_spec["x-kubernetes-preserve-unknown-fields"] = True
    template_spec = _object(
        "PodTemplateSpec describes the data a pod should have when created from a template",
        {
            "metadata": ref(f"{META}.ObjectMeta", OBJECT_META_DESCRIPTION),
            "spec": ref(f"{CORE}.PodSpec", "Specification of the desired behavior of the pod."),
        },
    )
    return {
        f"{CORE}.EnvVar": env_var,
        f"{CORE}.Container": container,
        f"{CORE}.ContainerPort": _object(
            "ContainerPort represents a network port in a single container.",
            {
                "name": _s(
                    "If specified, this must be an IANA_SVC_NAME and unique within the pod."
                ),
                "containerPort": _i("Number of port to expose on the pod's IP address."),
                "protocol": _s(
                    'Protocol for port. Must be UDP, TCP, or SCTP. Defaults to "TCP".',
                    default="TCP",
                ),
                "hostPort": _i("Number of port to expose on the host."),
                "hostIP": _s("What host IP to bind the external port to."),
            },
            required=["containerPort"],
        ),
        f"{CORE}.VolumeMount": _object(
            "VolumeMount describes a mounting of a Volume within a container.",
            {
                "name": _s("This must match the Name of a Volume."),
                "mountPath": _s("Path within the container at which the volume should be mounted."),
                "readOnly": _b(
                    "Mounted read-only if true, read-write otherwise (false or unspecified)."
                ),
                "subPath": _s(
                    "Path within the volume from which the container's volume should be mounted."
                ),
                "subPathExpr": _s(
                    "Expanded path within the volume from which the container's volume should "
                    "be mounted."
                ),
                "mountPropagation": _s(
                    "mountPropagation determines how mounts are propagated from the host to "
                    "container and the other way around."
                ),
                "recursiveReadOnly": _s(
                    "RecursiveReadOnly specifies whether read-only mounts should be handled "
                    "recursively."
                ),
            },
            required=["name", "mountPath"],
        ),
        f"{CORE}.Volume": {
            **_object(
                (
                    "Volume represents a named volume in a pod that may be accessed by any "
                    "container in the pod."
                ),
                {
                    "name": _s(
                        "name of the volume. Must be a DNS_LABEL and unique within the pod."
                    ),
                    "secret": _free("secret represents a secret that should populate this volume."),
                    "configMap": _free(
                        "configMap represents a configMap that should populate this volume."
                    ),
                    "emptyDir": _free(
                        "emptyDir represents a temporary directory that shares a pod's lifetime."
                    ),
                },
                required=["name"],
            ),
            "x-kubernetes-preserve-unknown-fields": True,
        },
        f"{CORE}.LocalObjectReference": _object(
            (
                "LocalObjectReference contains enough information to let you locate the "
                "referenced object inside the same namespace."
            ),
            {"name": _s("Name of the referent.", default="")},
        )
        | {"x-kubernetes-map-type": "atomic"},
        f"{CORE}.PodSpec": pod_spec,
        f"{CORE}.PodTemplateSpec": template_spec,
        f"{CORE}.Pod": _resource(
            "Pod is a collection of containers that can run on a host. This resource is created "
            "by clients and scheduled onto hosts.",
            "",
            "v1",
            "Pod",
            {
                "spec": ref(f"{CORE}.PodSpec", "Specification of the desired behavior of the pod."),
                "status": _free(
                    "Most recently observed status of the pod. Populated by the system. Read-only."
                ),
            },
        ),
        f"{CORE}.Namespace": _resource(
            "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
            "",
            "v1",
            "Namespace",
            {
                "spec": _object(
                    "Spec defines the behavior of the Namespace.",
                    {
                        "finalizers": _string_list(
                            "Finalizers is an opaque list of values that must be empty to "
                            "permanently remove object from storage."
                        )
                    },
                ),
                "status": _free("Status describes the current status of a Namespace."),
            },
        ),
        f"{CORE}.Secret": _resource(
            "Secret holds secret data of a certain type. The total bytes of the values in the Data "
            "field must be less than MaxSecretSize bytes.",
            "",
            "v1",
            "Secret",
            {
                "data": {
                    "type": "object",
                    "description": (
                        "Data contains the secret data. Each key must consist of alphanumeric "
                        "characters, '-', '_' or '.'. The serialized form of the secret data is "
                        "a base64 encoded string."
                    ),
                    "additionalProperties": {"type": "string", "format": "byte"},
                },
                "stringData": _strings_map(
                    "stringData allows specifying non-binary secret data in string form. It "
                    "is provided as a write-only input field for convenience."
                ),
                "type": _s("Used to facilitate programmatic handling of secret data."),
                "immutable": _b(
                    "Immutable, if set to true, ensures that data stored in the Secret "
                    "cannot be updated."
                ),
            },
        ),
        f"{CORE}.ConfigMap": _resource(
            "ConfigMap holds configuration data for pods to consume.",
            "",
            "v1",
            "ConfigMap",
            {
                "data": _strings_map("Data contains the configuration data."),
                "binaryData": {
                    "type": "object",
                    "description": "BinaryData contains the binary data.",
                    "additionalProperties": {"type": "string", "format": "byte"},
                },
                "immutable": _b(
                    "Immutable, if set to true, ensures that data stored in the ConfigMap "
                    "cannot be updated."
                ),
            },
        ),
        f"{CORE}.ServiceAccount": _resource(
            "ServiceAccount binds together: a name, understood by users, and perhaps by "
            "peripheral systems, for an identity; a principal that can be authenticated and "
            "authorized; a set of secrets",
            "",
            "v1",
            "ServiceAccount",
            {
                "secrets": {
                    "type": "array",
                    "description": (
                        "Secrets is a list of the secrets in the same namespace that pods "
                        "running using this ServiceAccount are allowed to use."
                    ),
                    "items": _free("ObjectReference."),
                },
                "imagePullSecrets": {
                    "type": "array",
                    "description": (
                        "ImagePullSecrets is a list of references to secrets in the same "
                        "namespace to use for pulling any images in pods that reference this "
                        "ServiceAccount."
                    ),
                    "items": ref(f"{CORE}.LocalObjectReference"),
                },
                "automountServiceAccountToken": _b(
                    "AutomountServiceAccountToken indicates whether pods running as this "
                    "service account should have an API token automatically mounted."
                ),
            },
        ),
        f"{CORE}.Event": {
            **_resource(
                "Event is a report of an event somewhere in the cluster.",
                "",
                "v1",
                "Event",
                {
                    "involvedObject": _free("The object that this event is about."),
                    "reason": _s(
                        "This should be a short, machine understandable string that gives the "
                        "reason for the transition into the object's current status."
                    ),
                    "message": _s("A human-readable description of the status of this operation."),
                    "type": _s(
                        "Type of this event (Normal, Warning), new types could be added in the "
                        "future"
                    ),
                    "count": _i("The number of times this event has occurred."),
                },
            ),
            "x-kubernetes-preserve-unknown-fields": True,
        },
    }


def _loose(description: str, group: str, version: str, kind: str, fields: dict[str, str]) -> Schema:
    """A resource whose top-level fields are documented but not spelled out."""
    schema = _resource(description, group, version, kind, {k: _free(v) for k, v in fields.items()})
    schema["x-kubernetes-preserve-unknown-fields"] = True
    return schema


def _others() -> dict[str, Schema]:
    job_spec = _object(
        "JobSpec describes how the job execution will look like.",
        {
            "parallelism": _i(
                "Specifies the maximum desired number of pods the job should run at any given time."
            ),
            "completions": _i(
                "Specifies the desired number of successfully finished pods the job should be "
                "run with."
            ),
            "backoffLimit": _i("Specifies the number of retries before marking this job failed."),
            "activeDeadlineSeconds": _i(
                "Specifies the duration in seconds relative to the startTime that the job may "
                "be continuously active before the system tries to terminate it.",
                "int64",
            ),
            "ttlSecondsAfterFinished": _i(
                "ttlSecondsAfterFinished limits the lifetime of a Job that has finished "
                "execution (either Complete or Failed)."
            ),
            "completionMode": _s("completionMode specifies how Pod completions are tracked."),
            "suspend": _b(
                "suspend specifies whether the Job controller should create Pods or not."
            ),
            "selector": _free("A label query over pods that should match the pod count."),
            "manualSelector": _b(
                "manualSelector controls generation of pod labels and pod selectors."
            ),
            "template": ref(
                f"{CORE}.PodTemplateSpec",
                "Describes the pod that will be created when executing a job.",
            ),
        },
        required=["template"],
    )
    job_spec["x-kubernetes-preserve-unknown-fields"] = True
    rbac = "rbac.authorization.k8s.io"
    return {
        "io.k8s.api.batch.v1.JobSpec": job_spec,
        "io.k8s.api.batch.v1.Job": _resource(
            "Job represents the configuration of a single job.",
            "batch",
            "v1",
            "Job",
            {
                "spec": ref(
                    "io.k8s.api.batch.v1.JobSpec", "Specification of the desired behavior of a job."
                ),
                "status": _free("Current status of a job."),
            },
        ),
        "io.k8s.api.apps.v1.Deployment": _loose(
            "Deployment enables declarative updates for Pods and ReplicaSets.",
            "apps",
            "v1",
            "Deployment",
            {
                "spec": "Specification of the desired behavior of the Deployment.",
                "status": "Most recently observed status of the Deployment.",
            },
        ),
        "io.k8s.api.coordination.v1.Lease": _loose(
            "Lease defines a lease concept.",
            "coordination.k8s.io",
            "v1",
            "Lease",
            {"spec": "spec contains the specification of the Lease."},
        ),
        "io.k8s.api.events.v1.Event": _loose(
            "Event is a report of an event somewhere in the cluster.",
            "events.k8s.io",
            "v1",
            "Event",
            {"regarding": "regarding contains the object this Event is about."},
        ),
        "io.k8s.api.rbac.v1.Role": _loose(
            (
                "Role is a namespaced, logical grouping of PolicyRules that can be "
                "referenced as a unit by a RoleBinding."
            ),
            rbac,
            "v1",
            "Role",
            {},
        ),
        "io.k8s.api.rbac.v1.ClusterRole": _loose(
            (
                "ClusterRole is a cluster level, logical grouping of PolicyRules that "
                "can be referenced as a unit by a RoleBinding or ClusterRoleBinding."
            ),
            rbac,
            "v1",
            "ClusterRole",
            {
                "aggregationRule": (
                    "AggregationRule is an optional field that describes how to build the "
                    "Rules for this ClusterRole."
                )
            },
        ),
        "io.k8s.api.rbac.v1.RoleBinding": _loose(
            "RoleBinding references a role, but does not contain it.",
            rbac,
            "v1",
            "RoleBinding",
            {
                "roleRef": (
                    "RoleRef can reference a Role in the current namespace or a ClusterRole "
                    "in the global namespace."
                )
            },
        ),
        "io.k8s.api.rbac.v1.ClusterRoleBinding": _loose(
            "ClusterRoleBinding references a ClusterRole, but not contain it.",
            rbac,
            "v1",
            "ClusterRoleBinding",
            {"roleRef": "RoleRef can only reference a ClusterRole in the global namespace."},
        ),
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition": _loose(
            (
                "CustomResourceDefinition represents a resource that should be exposed "
                "on the API server. Its name MUST be in the format "
                "<.spec.name>.<.spec.group>."
            ),
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            {
                "spec": "spec describes how the user wants the resources to appear",
                "status": "status indicates the actual state of the CustomResourceDefinition",
            },
        ),
    }


def builtin_schemas() -> dict[str, Schema]:
    """Every built-in definition, keyed by its Kubernetes definition name."""
    return {**_shared(), **_core(), **_others()}


def definition_name(group: str, version: str, kind: str) -> str:
    """The definition name Kubernetes gives a kind in OpenAPI documents.

    Built-ins use their Go package path (``io.k8s.api.core.v1.Pod``); custom
    resources the reversed group (``ledger.guestbook.io`` ->
    ``io.guestbook.ledger.v1alpha1.GuestbookEntry``).
    """
    known = {
        "": "io.k8s.api.core",
        "apps": "io.k8s.api.apps",
        "batch": "io.k8s.api.batch",
        "coordination.k8s.io": "io.k8s.api.coordination",
        "events.k8s.io": "io.k8s.api.events",
        "rbac.authorization.k8s.io": "io.k8s.api.rbac",
        "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    }
    prefix = known.get(group) or ".".join(reversed(group.split(".")))
    return f"{prefix}.{version}.{kind}"


def _inline(value: object, library: dict[str, Schema], seen: tuple[str, ...]) -> object:
    if isinstance(value, list):
        return [_inline(v, library, seen) for v in value]
    if not isinstance(value, dict):
        return value
    node = {k: _inline(v, library, seen) for k, v in value.items() if k not in ("allOf", "$ref")}
    targets = [value.get("$ref")] + [
        part.get("$ref") for part in value.get("allOf") or [] if isinstance(part, dict)
    ]
    for target in targets:
        if not isinstance(target, str):
            continue
        name = target.rsplit("/", 1)[-1]
        if name in seen or name not in library:
            continue  # a cycle or an unknown name: leave the node open
        resolved = _inline(library[name], library, (*seen, name))
        assert isinstance(resolved, dict)
        node = {**resolved, **node}
    return node


@functools.lru_cache(maxsize=64)
def builtin_object_schema(group: str, version: str, kind: str) -> Schema | None:
    """The whole schema of a built-in kind with every ``$ref`` inlined, or None if unknown.

    Usable with :func:`~guestbook_devcluster.schema.prune.unknown_fields` and
    :func:`~guestbook_devcluster.schema.prune.prune`: what the schemas here spell
    out completely (object metadata, containers, env, ports, volume mounts, the
    top level of Pods, Jobs, Secrets, ConfigMaps, Namespaces, ServiceAccounts) is
    checked for unknown fields as kube-apiserver's decoder does; the open parts
    (``x-kubernetes-preserve-unknown-fields``) keep whatever they are given.
    The result is shared between callers (cached): do not modify it.
    """
    library = builtin_schemas()
    name = definition_name(group, version, kind)
    if name not in library:
        return None
    resolved = _inline(library[name], library, (name,))
    assert isinstance(resolved, dict)
    return resolved
