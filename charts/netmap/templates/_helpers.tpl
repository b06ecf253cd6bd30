{{/* Labels on every object of the release. */}}
{{- define "netmap.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: netmap
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: netmap
{{- end }}

{{/* The operator pods' selector (stable across upgrades: a Deployment's selector is immutable). */}}
{{- define "netmap.operatorSelector" -}}
app.kubernetes.io/name: netmap
app.kubernetes.io/component: operator
{{- end }}

{{/* The image: repository@digest, else repository:tag (the chart's appVersion when tag is empty). */}}
{{- define "netmap.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/* The probe's ServiceAccount as the API server names its user. */}}
{{- define "netmap.probeUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ .Values.probe.serviceAccount.name }}
{{- end }}
