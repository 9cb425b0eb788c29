{{/* Names ---------------------------------------------------------------- */}}

{{- define "guestbook-ledger.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name; object names append "-operator" etc. (<= 63 chars). */}}
{{- define "guestbook-ledger.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "guestbook-ledger.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "guestbook-ledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "operator"). */}}
{{- define "guestbook-ledger.selectorLabels" -}}
app.kubernetes.io/name: {{ include "guestbook-ledger.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "guestbook-ledger.componentLabels" -}}
{{ include "guestbook-ledger.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "guestbook-ledger.operatorServiceAccount" -}}
{{- default (printf "%s-operator" (include "guestbook-ledger.fullname" .)) .Values.operator.serviceAccount.name -}}
{{- end -}}

{{- define "guestbook-ledger.workerServiceAccount" -}}
{{- default (printf "%s-worker" (include "guestbook-ledger.fullname" .)) .Values.worker.serviceAccount.name -}}
{{- end -}}

{{- define "guestbook-ledger.webuiServiceAccount" -}}
{{- default (printf "%s-webui" (include "guestbook-ledger.fullname" .)) .Values.webui.serviceAccount.name -}}
{{- end -}}

{{/* Images ---------------------------------------------------------------- */}}

{{- define "guestbook-ledger.operatorImage" -}}
{{- printf "%s:%s" .Values.operator.image.repository (default .Chart.AppVersion .Values.operator.image.tag) -}}
{{- end -}}

{{- define "guestbook-ledger.workerImage" -}}
{{- $repository := default .Values.operator.image.repository .Values.worker.image.repository -}}
{{- $tag := default (default .Chart.AppVersion .Values.operator.image.tag) .Values.worker.image.tag -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}

{{- define "guestbook-ledger.webuiImage" -}}
{{- printf "%s:%s" .Values.webui.image.repository (default .Chart.AppVersion .Values.webui.image.tag) -}}
{{- end -}}

{{/* The database ---------------------------------------------------------- */}}

{{/* The Secret and key holding the operator's DSN; fails with what to set when neither is given. */}}
{{- define "guestbook-ledger.databaseSecret" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else if .Values.database.dsn -}}
{{- printf "%s-database" (include "guestbook-ledger.fullname" .) -}}
{{- else -}}
{{- fail "\n\nThe ledger database is not configured: set database.dsn to its connection URI (--set database.dsn=postgresql://USER:PASSWORD@HOST:5432/DB) or database.existingSecret to a Secret that holds it." -}}
{{- end -}}
{{- end -}}

{{- define "guestbook-ledger.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKey -}}
{{- else -}}
dsn
{{- end -}}
{{- end -}}

{{/* The web UI's DSN: its own Secret, its own key in the chart's Secret, else the operator's. */}}
{{- define "guestbook-ledger.webuiDatabaseSecret" -}}
{{- if .Values.webui.database.existingSecret -}}
{{- .Values.webui.database.existingSecret -}}
{{- else if .Values.webui.database.dsn -}}
{{- printf "%s-database" (include "guestbook-ledger.fullname" .) -}}
{{- else -}}
{{- include "guestbook-ledger.databaseSecret" . -}}
{{- end -}}
{{- end -}}

{{- define "guestbook-ledger.webuiDatabaseSecretKey" -}}
{{- if .Values.webui.database.existingSecret -}}
{{- .Values.webui.database.existingSecretKey -}}
{{- else if .Values.webui.database.dsn -}}
webui-dsn
{{- else -}}
{{- include "guestbook-ledger.databaseSecretKey" . -}}
{{- end -}}
{{- end -}}

{{/* The worker role's URI for the operator to hand out: a Secret in the release
namespace, or empty when workers' Secrets are the user's (decision 0130). */}}
{{- define "guestbook-ledger.workerDatabaseSecret" -}}
{{- if .Values.worker.database.existingSecret -}}
{{- .Values.worker.database.existingSecret -}}
{{- else if .Values.worker.database.dsn -}}
{{- printf "%s-database" (include "guestbook-ledger.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "guestbook-ledger.workerDatabaseSecretKey" -}}
{{- if .Values.worker.database.existingSecret -}}
{{- .Values.worker.database.existingSecretKey -}}
{{- else -}}
worker-dsn
{{- end -}}
{{- end -}}

{{/* Namespaces ------------------------------------------------------------ */}}

{{/* The namespaces the operator serves as a JSON list, [] meaning all: the
release namespace (its Ledger) joins any list given. */}}
{{- define "guestbook-ledger.operatorNamespaces" -}}
{{- if .Values.operator.watchNamespaces -}}
{{- prepend .Values.operator.watchNamespaces .Release.Namespace | uniq | sortAlpha | toJson -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/* Where worker ServiceAccounts go, as a JSON list (sorted, unique). */}}
{{- define "guestbook-ledger.workerNamespaces" -}}
{{- $namespaces := .Values.worker.namespaces -}}
{{- if not $namespaces -}}
{{- $namespaces = prepend .Values.operator.watchNamespaces .Release.Namespace -}}
{{- end -}}
{{- $namespaces | uniq | sortAlpha | toJson -}}
{{- end -}}

{{- define "guestbook-ledger.peering" -}}
{{- if or .Values.operator.peering.enabled (gt (int .Values.operator.replicas) 1) -}}
{{- default (include "guestbook-ledger.fullname" .) .Values.operator.peering.name -}}
{{- end -}}
{{- end -}}

{{/* Pod security shared by the chart's containers (the images run as uid 10001). */}}
{{- define "guestbook-ledger.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "guestbook-ledger.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
