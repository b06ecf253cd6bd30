{{- define "netmap.labels" -}}
app.kubernetes.io/name: netmap
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- define "netmap.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end }}
