{{/*
What the Deployment and the DaemonSet share: the values each kind defaults
differently, the checks that refuse values which make no sense together, and
the pod template.
*/}}

{{/* "true" when v was given a value: neither absent, null nor "". */}}
{{- define "ringmetrics.isSet" -}}
{{- if and (not (kindIs "invalid" .)) (ne (toString .) "") }}true{{ end }}
{{- end }}

{{/* "true" when the pods run on the host network: hostNetwork.enabled, or by default for a DaemonSet. */}}
{{- define "ringmetrics.hostNetwork" -}}
{{- $v := .Values.hostNetwork.enabled }}
{{- if include "ringmetrics.isSet" $v }}
{{- if not (kindIs "bool" $v) }}
{{- fail (printf "hostNetwork.enabled must be true, false or empty, not %q" (toString $v)) }}
{{- end }}
{{- if $v }}true{{ end }}
{{- else if eq .Values.kind "DaemonSet" }}true
{{- end }}
{{- end }}

{{/* The server's port: containerPort, or 4443 on the host network (where the kubelet holds 10250), else 10250. */}}
{{- define "ringmetrics.containerPort" -}}
{{- if include "ringmetrics.isSet" .Values.containerPort }}
{{- int .Values.containerPort }}
{{- else if include "ringmetrics.hostNetwork" . }}4443
{{- else }}10250
{{- end }}
{{- end }}

{{/*
Refuses values that make no sense together, at render time, saying why.
The workload templates include it; it renders nothing.
*/}}
{{- define "ringmetrics.validate" -}}
{{- $kind := .Values.kind }}
{{- if not (has $kind (list "Deployment" "DaemonSet")) }}
{{- fail (printf "kind must be Deployment or DaemonSet, not %q" (toString $kind)) }}
{{- end }}
{{- $port := int (include "ringmetrics.containerPort" .) }}
{{- if and (include "ringmetrics.hostNetwork" .) (eq $port 10250) }}
{{- fail "containerPort 10250 on the host network: the node's kubelet listens there. Leave containerPort empty (4443 on the host network) or pick another port free on every node" }}
{{- end }}
{{- $strategy := .Values.updateStrategy | default dict }}
{{- if eq $kind "DaemonSet" }}
{{- if include "ringmetrics.isSet" .Values.replicas }}
{{- fail (printf "replicas (%v) does not apply to kind DaemonSet, which runs one pod on every node daemonSet.nodeSelector, nodeSelector and the tolerations admit: unset replicas (values-ha.yaml is for the Deployment)" .Values.replicas) }}
{{- end }}
{{- if .Values.podDisruptionBudget.enabled }}
{{- fail "podDisruptionBudget.enabled does not apply to kind DaemonSet: kubectl drain skips DaemonSet pods and a DaemonSet's rollout does not consult PodDisruptionBudgets, so it would protect nothing; updateStrategy's maxUnavailable bounds a rollout instead" }}
{{- end }}
{{- if .Values.topologySpreadConstraints }}
{{- fail "topologySpreadConstraints does not apply to kind DaemonSet, which places one pod on each admitted node: a constraint could only leave some of those nodes without one" }}
{{- end }}
{{- if and .Values.affinity .Values.affinity.podAntiAffinity }}
{{- fail "affinity.podAntiAffinity does not apply to kind DaemonSet, which places one pod on each admitted node: it could only leave some of those nodes without one (choose the nodes with daemonSet.nodeSelector, nodeSelector or affinity.nodeAffinity)" }}
{{- end }}
{{- if and $strategy.type (not (has $strategy.type (list "RollingUpdate" "OnDelete"))) }}
{{- fail (printf "updateStrategy.type %q is not a DaemonSet strategy: use RollingUpdate or OnDelete" $strategy.type) }}
{{- end }}
{{- $surge := dig "rollingUpdate" "maxSurge" "" $strategy }}
{{- if and (include "ringmetrics.hostNetwork" .) (include "ringmetrics.isSet" $surge) (not (has (toString $surge) (list "0" "0%"))) }}
{{- fail (printf "updateStrategy.rollingUpdate.maxSurge %v on the host network: a surge pod needs port %d on the node where the old pod still holds it; use maxUnavailable" $surge $port) }}
{{- end }}
{{- else }}
{{- if and $strategy.type (not (has $strategy.type (list "RollingUpdate" "Recreate"))) }}
{{- fail (printf "updateStrategy.type %q is not a Deployment strategy: use RollingUpdate or Recreate" $strategy.type) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The pod's nodeSelector: nodeSelector, with daemonSet.nodeSelector over it for a DaemonSet. */}}
{{- define "ringmetrics.nodeSelector" -}}
{{- $selector := deepCopy (.Values.nodeSelector | default dict) }}
{{- if eq .Values.kind "DaemonSet" }}
{{- $selector = mergeOverwrite $selector (deepCopy (.Values.daemonSet.nodeSelector | default dict)) }}
{{- end }}
{{- with $selector }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* The pod's tolerations: tolerations, then daemonSet.tolerations for a DaemonSet. */}}
{{- define "ringmetrics.tolerations" -}}
{{- $tolerations := .Values.tolerations | default list }}
{{- if eq .Values.kind "DaemonSet" }}
{{- $tolerations = concat $tolerations (.Values.daemonSet.tolerations | default list) }}
{{- end }}
{{- with $tolerations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* The pod template both workloads run. */}}
{{- define "ringmetrics.podTemplate" -}}
{{- $port := include "ringmetrics.containerPort" . }}
{{- $hostNetwork := include "ringmetrics.hostNetwork" . -}}
metadata:
  labels:
    {{- include "ringmetrics.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "ringmetrics.serviceAccountName" . }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- if $hostNetwork }}
  # In the node's network namespace: the kube-apiserver reaches the server
  # at the node's address, for clusters where it cannot route to pod IPs.
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: ringmetrics
      image: {{ include "ringmetrics.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        {{- include "ringmetrics.args" . | nindent 8 }}
      ports:
        - name: https
          containerPort: {{ $port }}
          {{- if $hostNetwork }}
          hostPort: {{ $port }}
          {{- end }}
          protocol: TCP
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        # The root filesystem is read-only: the self-signed serving
        # certificate goes to --cert-dir=/tmp.
        - name: tmp
          mountPath: /tmp
        {{- if .Values.tls.existingSecret }}
        - name: tls
          mountPath: /etc/ringmetrics/tls
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- if .Values.tls.existingSecret }}
    - name: tls
      secret:
        secretName: {{ .Values.tls.existingSecret }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with include "ringmetrics.nodeSelector" . }}
  nodeSelector:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- tpl (toYaml .) $ | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- tpl (toYaml .) $ | nindent 4 }}
  {{- end }}
  {{- with include "ringmetrics.tolerations" . }}
  tolerations:
    {{- . | nindent 4 }}
  {{- end }}
{{- end }}
