"""OpenAPI documents: what kubectl reads for validation, explain and patches."""

from __future__ import annotations

from typing import Any

from guestbook_devcluster.schema.builtin_openapi import builtin_schemas, definition_name
from guestbook_devcluster.schema.openapi import (
    KindSchema,
    document_hash,
    openapi_v2,
    openapi_v2_protobuf,
    openapi_v3_document,
    openapi_v3_index,
)

GROUP, VERSION = "ledger.guestbook.io", "v1alpha1"


def entry_kind(entry_crd: dict[str, Any]) -> KindSchema:
    schema = entry_crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return KindSchema(
        GROUP,
        VERSION,
        "GuestbookEntry",
        "guestbookentries",
        True,
        schema,
        schema["description"],
        ("status",),
    )


def builtin(group: str, kind: str, plural: str, *, namespaced: bool = True) -> KindSchema:
    return KindSchema(group, "v1", kind, plural, namespaced, builtin=True)


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``allOf: [$ref]`` the way kubectl explain does."""
    while "allOf" in schema or "$ref" in schema:
        target = schema.get("$ref") or schema["allOf"][0]["$ref"]
        schema = document["components"]["schemas"][target.rsplit("/", 1)[1]]
    return schema


def test_definition_names_match_kubernetes() -> None:
    assert definition_name(GROUP, VERSION, "GuestbookEntry") == (
        "io.guestbook.ledger.v1alpha1.GuestbookEntry"
    )
    assert definition_name("", "v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert definition_name("batch", "v1", "Job") == "io.k8s.api.batch.v1.Job"
    assert definition_name("apiextensions.k8s.io", "v1", "CustomResourceDefinition") == (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
    )


def test_crd_document_carries_gvk_descriptions_and_object_meta(
    entry_crd: dict[str, Any],
) -> None:
    document = openapi_v3_document(GROUP, VERSION, [entry_kind(entry_crd)])
    assert document["openapi"] == "3.0.0"
    schemas = document["components"]["schemas"]
    entry = schemas["io.guestbook.ledger.v1alpha1.GuestbookEntry"]
    assert entry["x-kubernetes-group-version-kind"] == [
        {"group": GROUP, "kind": "GuestbookEntry", "version": VERSION}
    ]
    assert entry["properties"]["spec"]["properties"]["message"]["description"] == (
        "The message (1 to 2000 characters)."
    )
    metadata = resolve(document, entry["properties"]["metadata"])
    assert "name" in metadata["properties"] and "labels" in metadata["properties"]
    listing = schemas["io.guestbook.ledger.v1alpha1.GuestbookEntryList"]
    assert listing["x-kubernetes-group-version-kind"][0]["kind"] == "GuestbookEntryList"
    # The CRD itself is not changed by publishing it.
    assert entry_crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "metadata"
    ] == {"type": "object"}


def test_patch_operations_offer_field_validation_for_server_side_validation(
    entry_crd: dict[str, Any],
) -> None:
    document = openapi_v3_document(GROUP, VERSION, [entry_kind(entry_crd)])
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}/guestbookentries"
    assert {f"{base}", f"{base}/{{name}}", f"{base}/{{name}}/status"} <= set(document["paths"])
    patch = document["paths"][f"{base}/{{name}}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": GROUP,
        "kind": "GuestbookEntry",
        "version": VERSION,
    }
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation"
    ).items()
    # Custom resources take no strategic merge patch, exactly as in Kubernetes.
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert "application/merge-patch+json" in patch["requestBody"]["content"]


def test_builtin_documents_include_pod_merge_keys() -> None:
    kinds = [builtin("", "Pod", "pods"), builtin("", "Namespace", "namespaces", namespaced=False)]
    document = openapi_v3_document("", "v1", kinds)
    schemas = document["components"]["schemas"]
    pod_spec = resolve(document, schemas["io.k8s.api.core.v1.Pod"]["properties"]["spec"])
    containers = pod_spec["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    container = resolve(document, containers["items"])
    assert container["properties"]["env"]["x-kubernetes-patch-merge-key"] == "name"
    assert container["properties"]["ports"]["x-kubernetes-patch-merge-key"] == "containerPort"
    assert container["properties"]["volumeMounts"]["x-kubernetes-patch-merge-key"] == "mountPath"
    assert pod_spec["properties"]["volumes"]["x-kubernetes-patch-merge-key"] == "name"
    assert "/api/v1/namespaces/{name}" in document["paths"]
    assert "/api/v1/namespaces/{namespace}/pods/{name}" in document["paths"]


def test_every_reference_resolves() -> None:
    kinds = [
        builtin("", "Pod", "pods"),
        builtin("", "Secret", "secrets"),
        builtin("", "ConfigMap", "configmaps"),
        builtin("batch", "Job", "jobs"),
    ]
    for group in ("", "batch"):
        document = openapi_v3_document(group, "v1", kinds)
        names = set(document["components"]["schemas"])
        text = repr(document)
        for target in set(text.split("'#/components/schemas/")[1:]):
            assert target.split("'", 1)[0] in names
    assert set(builtin_schemas()) >= {
        "io.k8s.api.batch.v1.Job",
        "io.k8s.api.core.v1.Pod",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    }


def test_index_urls_change_exactly_when_a_document_changes(entry_crd: dict[str, Any]) -> None:
    kind = entry_kind(entry_crd)
    before = openapi_v3_document(GROUP, VERSION, [kind])
    index = openapi_v3_index({f"apis/{GROUP}/{VERSION}": before, "api/v1": {"paths": {}}})
    url = index["paths"][f"apis/{GROUP}/{VERSION}"]["serverRelativeURL"]
    assert url == f"/openapi/v3/apis/{GROUP}/{VERSION}?hash={document_hash(before)}"
    assert index["paths"]["api/v1"]["serverRelativeURL"].startswith("/openapi/v3/api/v1?hash=")
    same = openapi_v3_document(GROUP, VERSION, [kind])
    assert document_hash(same) == document_hash(before)
    changed = openapi_v3_document(
        GROUP, VERSION, [KindSchema(**{**kind.__dict__, "description": "x"})]
    )
    assert document_hash(changed) != document_hash(before)


def test_v2_uses_definitions_and_bare_refs(entry_crd: dict[str, Any]) -> None:
    document = openapi_v2([entry_kind(entry_crd), builtin("batch", "Job", "jobs")])
    assert document["swagger"] == "2.0"
    definitions = document["definitions"]
    entry = definitions["io.guestbook.ledger.v1alpha1.GuestbookEntry"]
    assert entry["properties"]["metadata"] == {
        "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    }
    job = definitions["io.k8s.api.batch.v1.Job"]
    assert job["x-kubernetes-group-version-kind"] == [
        {"group": "batch", "kind": "Job", "version": "v1"}
    ]
    assert "#/components/" not in repr(document)
    patch = document["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]["patch"]
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])


def test_v2_protobuf_is_a_kindless_gnostic_document() -> None:
    data = openapi_v2_protobuf()
    # field 1 (swagger) = "2.0"; field 2 (info) = {title: "Kubernetes", version}
    assert data[:5] == b"\x0a\x032.0"
    assert data[5] == 0x12 and data[6] == len(data) - 7
    assert data[7:] == b"\x0a\x0aKubernetes\x12\x07v1.32.0"
