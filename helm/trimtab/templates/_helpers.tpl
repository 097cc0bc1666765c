{{/* The release's objects are named after the release, shortened to Kubernetes' 63. */}}
{{- define "trimtab.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "trimtab.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "trimtab.labels" -}}
{{ include "trimtab.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "trimtab.serviceAccountName" -}}
{{- default (include "trimtab.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Leader election is on with more than one replica, or when asked for. */}}
{{- define "trimtab.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) -}}true{{- end -}}
{{- end -}}

{{/* The rules trimtab needs on its resources, wherever it watches them. */}}
{{- define "trimtab.resourceRules" -}}
- apiGroups: ["trimtab.dev"]
  resources: ["scalingpolicies", "alarms", "budgets", "secretrotations"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["trimtab.dev"]
  resources: ["scalingpolicies/status", "alarms/status", "budgets/status", "secretrotations/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["trimtab.dev"]
  resources: ["scalingpolicies/finalizers", "alarms/finalizers", "budgets/finalizers", "secretrotations/finalizers"]
  verbs: ["update"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
