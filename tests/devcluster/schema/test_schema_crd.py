"""A CRD with a broken schema is refused before it is served."""

from __future__ import annotations

import copy
from typing import Any

from guestbook_devcluster.schema.crd import crd_schema_errors


def test_project_crds_are_accepted(entry_crd: dict[str, Any], ledger_crd: dict[str, Any]) -> None:
    assert crd_schema_errors(entry_crd) == []
    assert crd_schema_errors(ledger_crd) == []


def test_every_schema_problem_is_reported(entry_crd: dict[str, Any]) -> None:
    crd = copy.deepcopy(entry_crd)
    version = crd["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    spec = schema["properties"]["spec"]
    spec["properties"]["author"]["default"] = 7
    spec["properties"]["tags"] = {"items": {"type": "string"}}
    spec["properties"]["kind"] = {"type": "text"}
    spec["x-kubernetes-validations"].append({"rule": "self.message +"})
    version["additionalPrinterColumns"].append({"name": "Bad", "type": "color", "jsonPath": ".a["})
    base = "spec.versions[0].schema.openAPIV3Schema.properties[spec]"
    assert [(e.field, e.type) for e in crd_schema_errors(crd)] == [
        (f"{base}.properties[author].default", "FieldValueTypeInvalid"),
        (f"{base}.properties[tags].type", "FieldValueRequired"),
        (f"{base}.properties[kind].type", "FieldValueNotSupported"),
        (f"{base}.x-kubernetes-validations[1].rule", "FieldValueInvalid"),
        ("spec.versions[0].additionalPrinterColumns[6].jsonPath", "FieldValueInvalid"),
        ("spec.versions[0].additionalPrinterColumns[6].type", "FieldValueNotSupported"),
    ]


def test_versions_need_an_object_schema(entry_crd: dict[str, Any]) -> None:
    crd = copy.deepcopy(entry_crd)
    crd["spec"]["versions"].append({"name": "v1", "served": True, "storage": False})
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["type"] = "array"
    assert [e.message() for e in crd_schema_errors(crd)] == [
        'spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "array": must be object '
        "at the root",
        "spec.versions[0].schema.openAPIV3Schema.items: Required value: must be specified for "
        "arrays",
        "spec.versions[1].schema.openAPIV3Schema: Required value: schemas are required",
    ]
    assert crd_schema_errors({"spec": "nonsense"}) == []
