{{/* The chart's name, overridable. */}}
{{- define "ringmetrics.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: the release name when it already
contains the chart name (the usual `helm install ringmetrics …`), else
<release>-<chart>.
*/}}
{{- define "ringmetrics.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart label value: name-version. */}}
{{- define "ringmetrics.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the server's pods. Never change them: a Deployment's selector is immutable. */}}
{{- define "ringmetrics.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ringmetrics.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "ringmetrics.labels" -}}
helm.sh/chart: {{ include "ringmetrics.chart" . }}
{{ include "ringmetrics.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The ServiceAccount the server runs as. */}}
{{- define "ringmetrics.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ringmetrics.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* image reference: repository:tag or repository@digest. */}}
{{- define "ringmetrics.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The server's command-line arguments, as a YAML list. */}}
{{- define "ringmetrics.args" -}}
{{- $args := list (printf "--secure-port=%s" (include "ringmetrics.containerPort" .)) }}
{{- $args = concat $args .Values.defaultArgs }}
{{- $args = append $args (printf "--kubelet-endpoint=%s" .Values.kubeletEndpoint) }}
{{- if .Values.tls.existingSecret }}
{{- $args = concat $args (list "--tls-cert-file=/etc/ringmetrics/tls/tls.crt" "--tls-private-key-file=/etc/ringmetrics/tls/tls.key") }}
{{- end }}
{{- if .Values.kubeletViaAPIServer }}
{{- $args = append $args "--kubelet-via-apiserver" }}
{{- end }}
{{- if not .Values.apiService.v1 }}
{{- $args = append $args "--serve-v1=false" }}
{{- end }}
{{- $args = concat $args .Values.args }}
{{- toYaml $args }}
{{- end }}
