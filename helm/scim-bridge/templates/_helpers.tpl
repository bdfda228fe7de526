{{/* vim: set filetype=mustache: */}}

{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "scim-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources. Truncated at 52 characters so that the
suffixed names ("-migrate", ...) stay within the 63-character limit.
*/}}
{{- define "scim-bridge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "scim-bridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels (app.kubernetes.io/*) plus commonLabels. */}}
{{- define "scim-bridge.labels" -}}
helm.sh/chart: {{ include "scim-bridge.chart" . }}
{{ include "scim-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scim-bridge
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels: stable across upgrades, never add to these. */}}
{{- define "scim-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scim-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of the server pods (not the migration Job's). */}}
{{- define "scim-bridge.serverSelectorLabels" -}}
{{ include "scim-bridge.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "scim-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scim-bridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "scim-bridge.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/*
Checks that need more than the schema. Included by every template that
depends on them, so any render fails early with a clear message.
*/}}
{{- define "scim-bridge.validate" -}}
{{- $db := .Values.database }}
{{- if not (or $db.existingSecret $db.url) }}
{{- fail "\n\nscim-bridge needs PostgreSQL. Set database.existingSecret to a Secret holding the URL under the key database.existingSecretKey (default \"database-url\"):\n  kubectl create secret generic scim-bridge-db --from-literal=database-url='postgres://user:pass@host:5432/scim_bridge'\n  helm install ... --set database.existingSecret=scim-bridge-db\nor, for development only, set database.url together with secrets.create=true." }}
{{- end }}
{{- if and (not $db.existingSecret) $db.url (not .Values.secrets.create) }}
{{- fail "\n\ndatabase.url is stored in the chart-managed Secret, so it needs secrets.create=true (development only). In production create the Secret yourself and set database.existingSecret." }}
{{- end }}
{{- if and (not $db.existingSecret) $db.url (not (regexMatch "^postgres(ql)?://" $db.url)) }}
{{- fail "\n\ndatabase.url must be a PostgreSQL URL (postgres:// or postgresql://). SQLite is only for a single process outside Kubernetes; this chart runs several replicas against one PostgreSQL." }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (or .Values.autoscaling.targetCPUUtilizationPercentage .Values.autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "autoscaling.enabled needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- range $name, $t := .Values.config.targets }}
{{- if $t.enrich_from }}
{{- $src := get $.Values.config.targets $t.enrich_from }}
{{- if or (not $src) (ne (get $src "kind") "abnormal") }}
{{- fail (printf "config.targets.%s.enrich_from: %q is not an abnormal target in config.targets" $name $t.enrich_from) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding DATABASE_URL, and its key. */}}
{{- define "scim-bridge.databaseSecretName" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecret }}{{ else }}{{ include "scim-bridge.fullname" . }}{{ end }}
{{- end }}
{{- define "scim-bridge.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{/* Name of the Secret mounted at secrets.mountPath, empty when none. */}}
{{- define "scim-bridge.vendorSecretName" -}}
{{- if .Values.secrets.existingSecret }}{{ .Values.secrets.existingSecret }}
{{- else if and .Values.secrets.create .Values.secrets.data }}{{ include "scim-bridge.fullname" . }}
{{- end }}
{{- end }}

{{/*
config.toml, rendered from .Values.config with a small TOML writer.
(Helm's toToml writes every number as a float, e.g. workers = 4.0, which the
application's integer settings refuse; this writer prints whole numbers as
integers.) Keys are sorted, so the output and its checksum are stable.
*/}}
{{- define "scim-bridge.configToml" -}}
# Rendered by the scim-bridge Helm chart from .Values.config. Do not edit: change the values.
# The database URL comes from the DATABASE_URL environment variable (a Secret).
listen = {{ printf "0.0.0.0:%d" (int .Values.containerPort) | toJson }}
log_format = {{ .Values.logFormat | toJson }}
{{- include "scim-bridge.toml.table" (dict "path" (list) "map" (omit .Values.config "targets" "sync")) }}
{{- with .Values.config.sync }}

[sync]
{{- include "scim-bridge.toml.table" (dict "path" (list "sync") "map" .) }}
{{- end }}
{{- range $name, $t := .Values.config.targets }}

[targets.{{ include "scim-bridge.toml.key" $name }}]
{{- include "scim-bridge.toml.table" (dict "path" (list "targets" $name) "map" $t) }}
{{- end }}
{{- end }}

{{/* One table body: scalar and array keys first, then sub-tables. */}}
{{- define "scim-bridge.toml.table" -}}
{{- $path := .path }}
{{- range $k, $v := .map }}
{{- if and (not (kindIs "map" $v)) (not (kindIs "invalid" $v)) }}
{{ include "scim-bridge.toml.key" $k }} = {{ include "scim-bridge.toml.value" (dict "v" $v "key" (append $path $k | join ".")) }}
{{- end }}
{{- end }}
{{- range $k, $v := .map }}
{{- if kindIs "map" $v }}
{{- $sub := append $path $k }}

[{{ range $i, $p := $sub }}{{ if $i }}.{{ end }}{{ include "scim-bridge.toml.key" $p }}{{ end }}]
{{- include "scim-bridge.toml.table" (dict "path" $sub "map" $v) }}
{{- end }}
{{- end }}
{{- end }}

{{/* A TOML key: bare when it can be, else a quoted string. */}}
{{- define "scim-bridge.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{/*
A TOML value. JSON string escapes are valid TOML basic-string escapes.
Numbers from YAML arrive as float64: whole ones are written as integers.
*/}}
{{- define "scim-bridge.toml.value" -}}
{{- $v := .v }}
{{- if kindIs "string" $v }}{{ toJson $v }}
{{- else if kindIs "bool" $v }}{{ $v }}
{{- else if or (kindIs "float64" $v) (kindIs "float32" $v) }}
{{- if eq (float64 (int64 $v)) (float64 $v) }}{{ int64 $v }}{{ else }}{{ $v }}{{ end }}
{{- else if or (kindIs "int" $v) (kindIs "int64" $v) (kindIs "int32" $v) (kindIs "uint64" $v) }}{{ $v }}
{{- else if kindIs "slice" $v }}
{{- $key := .key }}[{{ range $i, $e := $v }}{{ if $i }}, {{ end }}{{ include "scim-bridge.toml.value" (dict "v" $e "key" $key) }}{{ end }}]
{{- else }}
{{- fail (printf "config: %s: cannot write a %s as TOML" .key (kindOf $v)) }}
{{- end }}
{{- end }}

{{/* The volumes shared by the Deployment and the migration Job. */}}
{{- define "scim-bridge.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.tmpSizeLimit }}
{{- with .vendorSecret }}
- name: vendor-secrets
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    {{- if not $.root.Values.secrets.existingSecret }}
    {{- /* chart-managed Secret: mount the vendor keys only, not database-url */}}
    items:
      {{- range $k, $_ := $.root.Values.secrets.data }}
      - key: {{ $k }}
        path: {{ $k }}
      {{- end }}
    {{- end }}
{{- end }}
{{- end }}

{{- define "scim-bridge.volumeMounts" -}}
- name: config
  mountPath: /etc/scim-bridge
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .vendorSecret }}
- name: vendor-secrets
  mountPath: {{ .root.Values.secrets.mountPath }}
  readOnly: true
{{- end }}
{{- end }}

{{/* Environment of the scim-bridge containers. */}}
{{- define "scim-bridge.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .dbSecret }}
      key: {{ include "scim-bridge.databaseSecretKey" .root }}
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
