{{/*
Helpers are named standins.<component>.<thing>. Service names are fixed (one stand-in set per namespace)
so that the datapipeline chart's external values are obvious: kafka.<ns>.svc:9092, minio.<ns>.svc:9000.
*/}}

{{- define "standins.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Standard labels; call with (dict "root" $ "component" "kafka"). */}}
{{- define "standins.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "standins.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: datapipeline
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "standins.selectorLabels" -}}
app.kubernetes.io/name: {{ include "standins.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "standins.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* "restricted" Pod Security Standard, one fixed non-root uid; fsGroup makes the volume writable. */}}
{{- define "standins.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.uid }}
runAsGroup: {{ .Values.uid }}
fsGroup: {{ .Values.uid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "standins.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* In-cluster DNS names (the Services of kafka/, zookeeper/ and minio/). */}}
{{- define "standins.kafka.bootstrap" -}}
{{- printf "kafka-kafka-bootstrap.%s.svc.%s:9092" .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* What the broker advertises on its INTERNAL listener: the pod's name in the headless Service. */}}
{{- define "standins.kafka.internalAddress" -}}
{{- printf "kafka-0.kafka-headless.%s.svc.%s:9092" .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{- define "standins.zookeeper.connect" -}}
{{- printf "zookeeper.%s.svc.%s:2181" .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{- define "standins.minio.endpoint" -}}
{{- printf "http://minio.%s.svc.%s:80" .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{- define "standins.minio.credentialsSecret" -}}
minio-credentials
{{- end -}}

{{/*
A generated credential, the same within one render and kept across upgrades (as in the datapipeline
chart): the cached value, else the Secret's value in the cluster (`lookup`; empty under `helm template`),
else a new random alphanumeric string. Call with (dict "root" $ "secret" "name" "key" "k" "length" 32).
*/}}
{{- define "standins.generated" -}}
{{- $cache := .root.Values._generated | default dict -}}
{{- $_ := set .root.Values "_generated" $cache -}}
{{- $id := printf "%s/%s/%s" .root.Release.Namespace .secret .key -}}
{{- if not (hasKey $cache $id) -}}
  {{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
  {{- $value := "" -}}
  {{- if and $existing (hasKey ($existing.data | default dict) .key) -}}
    {{- $value = index $existing.data .key | b64dec -}}
  {{- else -}}
    {{- $value = randAlphaNum (.length | default 32 | int) -}}
  {{- end -}}
  {{- $_ := set $cache $id $value -}}
{{- end -}}
{{- index $cache $id -}}
{{- end -}}
