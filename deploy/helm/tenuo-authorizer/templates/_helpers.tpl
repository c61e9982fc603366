{{/* The labels of every object. */}}
{{- define "tenuo-authorizer.labels" -}}
app.kubernetes.io/name: tenuo-authorizer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The selectors of the authorizer's pods and of Redis's: apart, so that
neither Deployment nor Service takes the other's pods. */}}
{{- define "tenuo-authorizer.selector" -}}
app.kubernetes.io/name: tenuo-authorizer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: authorizer
{{- end }}

{{- define "tenuo-authorizer.redisSelector" -}}
app.kubernetes.io/name: tenuo-authorizer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{/* The checked values: a mode the chart knows and a config. */}}
{{- define "tenuo-authorizer.check" -}}
{{- if not (has .Values.mode (list "gateway" "sidecar")) }}
{{- fail (printf "mode must be gateway or sidecar, not %q" .Values.mode) }}
{{- end }}
{{- if not (trim .Values.config) }}
{{- fail "config is required: your gateway.yaml (settings.trusted_roots, tools, routes); the service refuses to start without one" }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") (not .Values.sidecar.app.image) }}
{{- fail "sidecar.app.image is required in sidecar mode: the tool service the sidecar stands in front of" }}
{{- end }}
{{- end }}

{{/* The replay store the replicas share, if any. */}}
{{- define "tenuo-authorizer.replayStore" -}}
{{- if .Values.redis.url }}{{ .Values.redis.url }}
{{- else if .Values.redis.enabled }}redis://{{ .Release.Name }}-redis:6379/0
{{- end }}
{{- end }}

{{/* tenuo-authorizer's container. */}}
{{- define "tenuo-authorizer.container" -}}
- name: tenuo-authorizer
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    {{- if eq .Values.mode "gateway" }}
    - ext-authz
    - --grpc=:{{ .Values.ports.grpc }}
    - --http=:{{ .Values.ports.http }}
    {{- else }}
    - sidecar
    - --listen=:{{ .Values.ports.sidecar }}
    - --upstream={{ .Values.sidecar.upstream }}
    {{- end }}
    - --admin=:{{ .Values.ports.admin }}
    - --config=/etc/tenuo/gateway.yaml
    {{- with include "tenuo-authorizer.replayStore" . }}
    - --replay-store={{ . }}
    {{- if $.Values.redis.failOpen }}
    - --replay-fail-open
    {{- end }}
    {{- end }}
    {{- range .Values.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  ports:
    {{- if eq .Values.mode "gateway" }}
    - {name: grpc, containerPort: {{ .Values.ports.grpc }}}
    - {name: http, containerPort: {{ .Values.ports.http }}}
    {{- else }}
    - {name: http, containerPort: {{ .Values.ports.sidecar }}}
    {{- end }}
    - {name: admin, containerPort: {{ .Values.ports.admin }}}
  readinessProbe:
    httpGet: {path: /readyz, port: admin}
  livenessProbe:
    httpGet: {path: /healthz, port: admin}
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    capabilities: {drop: [ALL]}
  volumeMounts:
    - {name: config, mountPath: /etc/tenuo, readOnly: true}
{{- end }}
