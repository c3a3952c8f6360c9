{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "turash.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, plus the chart name unless the release already contains it. */}}
{{- define "turash.fullname" -}}
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

{{- define "turash.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "turash.selectorLabels" -}}
app.kubernetes.io/name: {{ include "turash.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "turash.labels" -}}
helm.sh/chart: {{ include "turash.chart" . }}
{{ include "turash.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "turash.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "turash.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding TURASH_SECRET_KEY and TURASH_DATABASE_URL: the operator's, or the one this chart makes. */}}
{{- define "turash.secretName" -}}
{{- default (include "turash.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "turash.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Environment shared by the server pods and the migration Job. */}}
{{- define "turash.envFrom" -}}
- configMapRef:
    name: {{ include "turash.fullname" . }}
- secretRef:
    name: {{ include "turash.secretName" . }}
{{- end }}

{{/* The server pods: the Deployment's selector and the Service's (the migration Job's pods are not selected). */}}
{{- define "turash.serverSelectorLabels" -}}
{{ include "turash.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}
