{{/*
RBAC rules, each granted because the code named beside it makes that call
(tests/charts/test_chart_least_privilege.py checks both directions against
kube-apiserver's audit log).
*/}}

{{/* The operator in the namespaces it serves. */}}
{{- define "guestbook-ledger.operatorRules" -}}
# Kopf watches Ledgers and keeps its progress annotations and finalizers on
# them; entries/admission.py reads one when an entry arrives before Kopf listed them.
- apiGroups: ["ledger.guestbook.io"]
  resources: ["ledgers"]
  verbs: ["get", "list", "watch", "patch"]
# The operator's own entry watch (entries/controller.py) and the repair listing.
- apiGroups: ["ledger.guestbook.io"]
  resources: ["guestbookentries"]
  verbs: ["list", "watch"]
# Statuses: handlers/ledgers.py, pool.py, repair.py, entries/admission.py.
- apiGroups: ["ledger.guestbook.io"]
  resources: ["ledgers/status", "guestbookentries/status"]
  verbs: ["patch"]
# entries/admission.py re-reads an entry whose status write was stale or that waits
# for its Ledger; repair.py retires sealed entries past the Ledger's retention.
- apiGroups: ["ledger.guestbook.io"]
  resources: ["guestbookentries"]
  verbs: ["get", "delete"]
# The worker and audit Jobs (pool.py, audit.py): found by label, created, scaled.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "create", "patch"]
# Each Ledger's signing-key Secret and the workers' database Secret (ledgers.py):
# read (and so recognised as the operator's own or not), made, and patched when
# the worker URI changed (a rotated password) or the Ledger was made again.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "patch"]
# ledgers.py checks that the worker ServiceAccount exists in a Ledger's namespace
# (else its Ready condition says so).
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get"]
# Events about Ledgers and entries (the handlers and Kopf itself).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- if include "guestbook-ledger.peering" . }}
{{- if .Values.operator.watchNamespaces }}
# Kopf peering: the operator creates its KopfPeering at start (peering.py) and
# Kopf keeps the replicas' leases in it.
- apiGroups: ["kopf.dev"]
  resources: ["kopfpeerings"]
  verbs: ["list", "watch", "patch", "create"]
{{- end }}
{{- end }}
{{- end -}}

{{/* The operator at cluster scope, when it serves every namespace. (Serving listed
namespaces it skips Kopf's cluster scans and needs nothing cluster-scoped.) */}}
{{- define "guestbook-ledger.operatorClusterRules" -}}
# Kopf scans the CRDs at start and notices CRDs that appear later.
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- if include "guestbook-ledger.peering" . }}
# Kopf peering: the operator creates its ClusterKopfPeering at start (peering.py)
# and Kopf keeps the replicas' leases in it.
- apiGroups: ["kopf.dev"]
  resources: ["clusterkopfpeerings"]
  verbs: ["list", "watch", "patch", "create"]
{{- end }}
{{- end -}}

{{/* Worker pods (worker.py) and audit pods (audit_job.py), in a Ledger's namespace. */}}
{{- define "guestbook-ledger.workerRules" -}}
# The audit reads the Ledger and compares every entry resource with its leaf.
- apiGroups: ["ledger.guestbook.io"]
  resources: ["ledgers"]
  verbs: ["get"]
- apiGroups: ["ledger.guestbook.io"]
  resources: ["guestbookentries"]
  verbs: ["get", "list"]
# Workers write each sealed entry's status and the Ledger's tree head; the audit
# writes status.lastAudit and the Verified condition.
- apiGroups: ["ledger.guestbook.io"]
  resources: ["ledgers/status", "guestbookentries/status"]
  verbs: ["patch"]
# The audit's Warning events about mismatches.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{/* The web UI, in the namespace of the Ledger it signs (guestbook_webui/kube.py). */}}
{{- define "guestbook-ledger.webuiRules" -}}
# Signing creates an entry; the page lists and watches them and shows one. (The
# tree summary and proofs come from the database, not from the Ledger resource.)
- apiGroups: ["ledger.guestbook.io"]
  resources: ["guestbookentries"]
  verbs: ["create", "get", "list", "watch"]
{{- end -}}
