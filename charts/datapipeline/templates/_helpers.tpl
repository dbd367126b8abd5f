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

{{/*
S3 as every consumer sees it (Spark, Airflow's logs connection, the init Job, `helm test`): ONE helper each.
s3.mode=minio-operator: the Tenant's `minio` service (plain HTTP on 80 with requestAutoCert=false) and the
generated keys; s3.mode=external: `s3.endpoint` and the keys of `s3.existingSecret`.
*/}}
{{- define "datapipeline.s3.external" -}}
{{- if eq .Values.s3.mode "external" -}}true{{- end -}}
{{- end -}}

{{- define "datapipeline.s3.endpoint" -}}
{{- if include "datapipeline.s3.external" . -}}
{{- .Values.s3.endpoint -}}
{{- else -}}
{{- printf "http://minio.%s.svc.cluster.local:80" .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Secret in the release namespace with the keys `accessKey` and `secretKey`. */}}
{{- define "datapipeline.s3.secretName" -}}
{{- if include "datapipeline.s3.external" . -}}
{{- .Values.s3.existingSecret -}}
{{- else -}}
{{- include "datapipeline.minio.credentialsSecret" . -}}
{{- end -}}
{{- end -}}

{{- define "datapipeline.s3.accessKey" -}}
{{- if include "datapipeline.s3.external" . -}}
{{- include "datapipeline.existingKey" (dict "root" . "secret" .Values.s3.existingSecret "key" "accessKey") -}}
{{- else -}}
{{- include "datapipeline.minio.accessKey" . -}}
{{- end -}}
{{- end -}}

{{- define "datapipeline.s3.secretKey" -}}
{{- if include "datapipeline.s3.external" . -}}
{{- include "datapipeline.existingKey" (dict "root" . "secret" .Values.s3.existingSecret "key" "secretKey") -}}
{{- else -}}
{{- include "datapipeline.minio.secretKey" . -}}
{{- end -}}
{{- end -}}

{{/*
A key of a Secret the user created in the release namespace, read with `lookup` at install/upgrade
(cached per render); empty when the Secret or the key is missing, and always under `helm template`.
Call with (dict "root" $ "secret" "name" "key" "k").
*/}}
{{- define "datapipeline.existingKey" -}}
{{- $cache := .root.Values._generated | default dict -}}
{{- $_ := set .root.Values "_generated" $cache -}}
{{- $id := printf "existing/%s/%s/%s" .root.Release.Namespace .secret .key -}}
{{- if not (hasKey $cache $id) -}}
  {{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
  {{- $data := ($existing | default dict).data | default dict -}}
  {{- $_ := set $cache $id (index $data .key | default "" | b64dec) -}}
{{- end -}}
{{- index $cache $id -}}
{{- end -}}

{{/*
"true" when this render talks to a cluster (helm install/upgrade, --dry-run=server): the
`kube-root-ca.crt` ConfigMap that Kubernetes (>= 1.21) publishes into every namespace is readable.
Empty under `helm template`/`helm lint`, where `lookup` returns nothing.
*/}}
{{- define "datapipeline.clusterReachable" -}}
{{- if lookup "v1" "ConfigMap" .Release.Namespace "kube-root-ca.crt" -}}true{{- end -}}
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

{{/*
Kafka bootstrap servers as every client sees them (Spark, Kafka UI, the init Job, `helm test`): Strimzi's
bootstrap service (kafka.mode=strimzi) or `kafka.bootstrapServers` (kafka.mode=external).
*/}}
{{- define "datapipeline.kafka.external" -}}
{{- if eq .Values.kafka.mode "external" -}}true{{- end -}}
{{- end -}}

{{- define "datapipeline.kafka.bootstrap" -}}
{{- if include "datapipeline.kafka.external" . -}}
{{- .Values.kafka.bootstrapServers -}}
{{- else -}}
{{- printf "%s-kafka-bootstrap.%s.svc.cluster.local:9092" .Values.kafka.name .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* The objects of the operators: a Strimzi Kafka, a MinIO Tenant (each "true" or empty). */}}
{{- define "datapipeline.kafka.strimzi" -}}
{{- if and .Values.kafka.enabled (eq .Values.kafka.mode "strimzi") -}}true{{- end -}}
{{- end -}}

{{- define "datapipeline.minio.tenant" -}}
{{- if and .Values.s3.enabled (eq .Values.s3.mode "minio-operator") -}}true{{- end -}}
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
