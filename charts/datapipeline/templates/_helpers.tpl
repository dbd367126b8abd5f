{{/*
Helpers are named datapipeline.<component>.<thing> (spark-operator chart style).
*/}}

{{- define "datapipeline.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Standard labels; call with (dict "root" $ "component" "kafka"). */}}
{{- define "datapipeline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "datapipeline.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: datapipeline
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "datapipeline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "datapipeline.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "datapipeline.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* Pod/container security settings for the "restricted" Pod Security Standard. */}}
{{- define "datapipeline.podSecurityContext" -}}
runAsNonRoot: true
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "datapipeline.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
A generated credential, the same everywhere within one render and kept across upgrades:
1. already generated in this render -> the cached value;
2. the Secret exists in the cluster -> its value (`lookup`; empty under `helm template`);
3. otherwise a new random alphanumeric string (URL-safe, so it can go into a connection URI).
Call with (dict "root" $ "secret" "name" "namespace" "ns" "key" "k" "length" 32).
*/}}
{{- define "datapipeline.generated" -}}
{{- $cache := .root.Values._generated | default dict -}}
{{- $_ := set .root.Values "_generated" $cache -}}
{{- $id := printf "%s/%s/%s" .namespace .secret .key -}}
{{- if not (hasKey $cache $id) -}}
  {{- $existing := lookup "v1" "Secret" .namespace .secret -}}
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

{{/* MinIO root credentials: the one source for the Tenant, Spark and Airflow's log connection. */}}
{{- define "datapipeline.minio.accessKey" -}}
{{- include "datapipeline.generated" (dict "root" . "secret" (include "datapipeline.minio.credentialsSecret" .) "namespace" .Release.Namespace "key" "accessKey" "length" 20) -}}
{{- end -}}

{{- define "datapipeline.minio.secretKey" -}}
{{- include "datapipeline.generated" (dict "root" . "secret" (include "datapipeline.minio.credentialsSecret" .) "namespace" .Release.Namespace "key" "secretKey" "length" 40) -}}
{{- end -}}

{{- define "datapipeline.minio.credentialsSecret" -}}
{{- printf "%s-credentials" .Values.minio.name -}}
{{- end -}}

{{- define "datapipeline.minio.envSecret" -}}
{{- printf "%s-env-configuration" .Values.minio.name -}}
{{- end -}}

{{/* In-cluster S3 endpoint: with requestAutoCert=false the operator's `minio` service serves HTTP on 80. */}}
{{- define "datapipeline.minio.endpoint" -}}
{{- printf "http://minio.%s.svc.cluster.local:80" .Release.Namespace -}}
{{- end -}}

{{/* PostgreSQL (CloudNativePG) application user: the one source for CNPG and Airflow. */}}
{{- define "datapipeline.postgres.appSecret" -}}
{{- printf "%s-app-credentials" .Values.postgres.name -}}
{{- end -}}

{{- define "datapipeline.postgres.password" -}}
{{- include "datapipeline.generated" (dict "root" . "secret" (include "datapipeline.postgres.appSecret" .) "namespace" .Release.Namespace "key" "password" "length" 32) -}}
{{- end -}}

{{- define "datapipeline.postgres.host" -}}
{{- printf "%s-rw.%s.svc.cluster.local" .Values.postgres.name .Release.Namespace -}}
{{- end -}}

{{- define "datapipeline.kafka.bootstrap" -}}
{{- printf "%s-kafka-bootstrap.%s.svc.cluster.local:9092" .Values.kafka.name .Release.Namespace -}}
{{- end -}}

{{- define "datapipeline.kafkaUi.loginSecret" -}}
kafka-ui-login
{{- end -}}

{{/* Driver/executor settings that the spark-operator webhook applies (it must select the namespace). */}}
{{- define "datapipeline.spark.podSettings" -}}
securityContext:
  allowPrivilegeEscalation: false
  runAsNonRoot: true
  # uid of the `spark` user in the apache/spark images.
  runAsUser: 185
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}
