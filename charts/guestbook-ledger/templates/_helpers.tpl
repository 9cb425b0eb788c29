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

{{/* An image reference from a repository and a tag: a `sha256:` tag is a digest,
which follows an `@` (repository@sha256:…), any other tag a `:`. */}}
{{- define "guestbook-ledger.imageReference" -}}
{{- if hasPrefix "sha256:" .tag -}}
{{- printf "%s@%s" .repository .tag -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{- define "guestbook-ledger.operatorImage" -}}
{{- include "guestbook-ledger.imageReference" (dict "repository" .Values.operator.image.repository "tag" (default .Chart.AppVersion .Values.operator.image.tag)) -}}
{{- end -}}

{{- define "guestbook-ledger.workerImage" -}}
{{- $repository := default .Values.operator.image.repository .Values.worker.image.repository -}}
{{- $tag := default (default .Chart.AppVersion .Values.operator.image.tag) .Values.worker.image.tag -}}
{{- include "guestbook-ledger.imageReference" (dict "repository" $repository "tag" $tag) -}}
{{- end -}}

{{- define "guestbook-ledger.webuiImage" -}}
{{- include "guestbook-ledger.imageReference" (dict "repository" .Values.webui.image.repository "tag" (default .Chart.AppVersion .Values.webui.image.tag)) -}}
{{- end -}}

{{/* The database ---------------------------------------------------------- */}}

{{/* The CloudNativePG Cluster's name (database.cloudnativepg). */}}
{{- define "guestbook-ledger.cnpgCluster" -}}
{{- default (printf "%s-db" (include "guestbook-ledger.fullname" .)) .Values.database.cloudnativepg.name -}}
{{- end -}}

{{/* The Secret with the web UI's read-only role (CloudNativePG manages the role from it). */}}
{{- define "guestbook-ledger.cnpgReaderSecret" -}}
{{- printf "%s-webui" (include "guestbook-ledger.cnpgCluster" .) -}}
{{- end -}}

{{/* The Secret and key holding the operator's DSN; fails with what to set when neither
is given, or when a CloudNativePG Cluster and an external database are both asked for. */}}
{{- define "guestbook-ledger.databaseSecret" -}}
{{- if .Values.database.cloudnativepg.enabled -}}
{{- if or .Values.database.dsn .Values.database.existingSecret -}}
{{- fail "\n\nTwo ledger databases are configured: database.cloudnativepg.enabled makes one, and database.dsn or database.existingSecret names another. Set only one of them." -}}
{{- end -}}
{{- printf "%s-app" (include "guestbook-ledger.cnpgCluster" .) -}}
{{- else if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else if .Values.database.dsn -}}
{{- printf "%s-database" (include "guestbook-ledger.fullname" .) -}}
{{- else -}}
{{- fail "\n\nThe ledger database is not configured: set database.dsn to its connection URI (--set database.dsn=postgresql://USER:PASSWORD@HOST:5432/DB), database.existingSecret to a Secret that holds it, or database.cloudnativepg.enabled=true to have CloudNativePG make one." -}}
{{- end -}}
{{- end -}}

{{- define "guestbook-ledger.databaseSecretKey" -}}
{{- if .Values.database.cloudnativepg.enabled -}}
uri
{{- else if .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKey -}}
{{- else -}}
dsn
{{- end -}}
{{- end -}}

{{/* The web UI's DSN: its own Secret, its own key in the chart's Secret, the read-only
role of the CloudNativePG Cluster, else the operator's. */}}
{{- define "guestbook-ledger.webuiDatabaseSecret" -}}
{{- if .Values.webui.database.existingSecret -}}
{{- .Values.webui.database.existingSecret -}}
{{- else if .Values.webui.database.dsn -}}
{{- printf "%s-database" (include "guestbook-ledger.fullname" .) -}}
{{- else if .Values.database.cloudnativepg.enabled -}}
{{- include "guestbook-ledger.cnpgReaderSecret" . -}}
{{- else if include "guestbook-ledger.webuiReader" . -}}
{{- printf "%s-webui-database" (include "guestbook-ledger.fullname" .) -}}
{{- else -}}
{{- include "guestbook-ledger.databaseSecret" . -}}
{{- end -}}
{{- end -}}

{{- define "guestbook-ledger.webuiDatabaseSecretKey" -}}
{{- if .Values.webui.database.existingSecret -}}
{{- .Values.webui.database.existingSecretKey -}}
{{- else if .Values.webui.database.dsn -}}
webui-dsn
{{- else if .Values.database.cloudnativepg.enabled -}}
uri
{{- else if include "guestbook-ledger.webuiReader" . -}}
dsn
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

{{/* Whether the chart makes the web UI's read-only role from database.dsn (a URI). */}}
{{- define "guestbook-ledger.webuiReader" -}}
{{- $dsn := .Values.database.dsn -}}
{{- if and .Values.webui.enabled .Values.database.webuiReader.create $dsn (not .Values.database.existingSecret) (not .Values.database.cloudnativepg.enabled) (not .Values.webui.database.existingSecret) (not .Values.webui.database.dsn) (or (hasPrefix "postgresql://" $dsn) (hasPrefix "postgres://" $dsn)) -}}
true
{{- end -}}
{{- end -}}

{{/* Whether the web UI shares the operator's read-write credentials (nothing else given). */}}
{{- define "guestbook-ledger.webuiSharesOperatorCredentials" -}}
{{- if and .Values.webui.enabled (not .Values.webui.database.existingSecret) (not .Values.webui.database.dsn) (not .Values.database.cloudnativepg.enabled) (not (include "guestbook-ledger.webuiReader" .)) -}}
true
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

{{/* NetworkPolicy egress rules ------------------------------------------- */}}

{{/* Egress to the API server: the `kubernetes` Service's address and its endpoints
(looked up at install), or networkPolicy.apiServer.cidrs, on their ports. */}}
{{- define "guestbook-ledger.apiServerEgress" -}}
{{- $np := .Values.networkPolicy -}}
{{- $cidrs := $np.apiServer.cidrs | default list -}}
{{- $ports := $np.apiServer.ports | default list -}}
{{- if not $cidrs -}}
{{- with lookup "v1" "Service" "default" "kubernetes" -}}
{{- with .spec.clusterIP -}}
{{- $cidrs = append $cidrs (printf "%s/%s" . (ternary "128" "32" (contains ":" .))) -}}
{{- end -}}
{{- end -}}
{{- with lookup "discovery.k8s.io/v1" "EndpointSlice" "default" "kubernetes" -}}
{{- range .endpoints -}}
{{- range .addresses -}}
{{- $cidrs = append $cidrs (printf "%s/%s" . (ternary "128" "32" (contains ":" .))) -}}
{{- end -}}
{{- end -}}
{{- range .ports -}}
{{- $ports = append $ports .port -}}
{{- end -}}
{{- end -}}
{{- end -}}
# The API server.
- ports:
    {{- range $ports | uniq }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- if $cidrs }}
  to:
    {{- range $cidrs | uniq }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* Egress to the database: the CloudNativePG Cluster's pods, or the peers given. */}}
{{- define "guestbook-ledger.databaseEgress" -}}
{{- $db := .Values.networkPolicy.database -}}
# The ledger database.
- ports:
    {{- range $db.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- if .Values.database.cloudnativepg.enabled }}
  to:
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ include "guestbook-ledger.cnpgCluster" . }}
      namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Release.Namespace }}
  {{- else if or $db.cidrs $db.podSelector $db.namespaceSelector }}
  to:
    {{- range $db.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- if or $db.podSelector $db.namespaceSelector }}
    - {{- with $db.podSelector }}
      podSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $db.namespaceSelector }}
      namespaceSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
  {{- end }}
{{- if .Values.networkPolicy.dns.enabled }}
# DNS, to resolve the database's host name.
- ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
  to:
    - namespaceSelector:
        {{- toYaml .Values.networkPolicy.dns.namespaceSelector | nindent 8 }}
      podSelector:
        {{- toYaml .Values.networkPolicy.dns.podSelector | nindent 8 }}
{{- end }}
{{- end -}}

{{/* The worker and audit pods' labels (operator/guestbook_operator/manifests.py). */}}
{{- define "guestbook-ledger.workerPodSelector" -}}
matchLabels:
  app.kubernetes.io/name: guestbook-ledger
  app.kubernetes.io/managed-by: guestbook-operator
matchExpressions:
  - key: ledger.guestbook.io/role
    operator: In
    values: ["worker", "audit"]
{{- end -}}

{{/* checkov ------------------------------------------------------------------ */}}

{{/* checkov's skip annotations (checkov.io/skipN: "CHECK=reason") from a list of
"CHECK=reason" strings: every check the chart does not pass is skipped here, on
the object, with its reason (tests/charts/test_chart_checkov.py: 0 failed). */}}
{{- define "guestbook-ledger.checkovSkips" -}}
{{- range $index, $skip := . }}
checkov.io/skip{{ add1 $index }}: {{ $skip | quote }}
{{- end }}
{{- end -}}

{{/* The skips every pod of the chart's images shares: (dict "image" ref "pullPolicy" p). */}}
{{- define "guestbook-ledger.imageSkips" -}}
{{- $skips := list -}}
{{- if not (contains "@sha256:" .image) -}}
{{- $skips = append $skips "CKV_K8S_43=The default image is the chart's appVersion tag; pin a digest by setting image.tag to sha256:<hex>, which renders repository@sha256:<hex>." -}}
{{- end -}}
{{- if ne .pullPolicy "Always" -}}
{{- $skips = append $skips "CKV_K8S_15=image.pullPolicy is a value (default IfNotPresent): with immutable tags or digests, Always only adds a registry round trip to every pod start." -}}
{{- end -}}
{{- toJson $skips -}}
{{- end -}}
