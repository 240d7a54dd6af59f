package examples

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// manifests are the decoded objects of examples/kubernetes, by kind.
type manifests struct {
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	secrets      []*corev1.Secret
	configMaps   []*corev1.ConfigMap
	pdbs         []*policyv1.PodDisruptionBudget
}

// decodeManifests reads every YAML document of the directory strictly
// into the Kubernetes API types of its apiVersion and kind: an unknown or
// misspelt field, a duplicate field, a value of the wrong type or an
// unparseable quantity fails, as `kubectl apply --validate=strict` would
// fail on the server. The types are Kubernetes' own (k8s.io/api, from
// which the API server's OpenAPI schemas are generated), so the check
// needs no cluster and no network.
func decodeManifests(t *testing.T, dir string) *manifests {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	m := &manifests{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(src, []byte("\n---\n")) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				o := &appsv1.Deployment{}
				m.deployments, obj = append(m.deployments, o), o
			case "apps/v1 StatefulSet":
				o := &appsv1.StatefulSet{}
				m.statefulSets, obj = append(m.statefulSets, o), o
			case "v1 Service":
				o := &corev1.Service{}
				m.services, obj = append(m.services, o), o
			case "v1 Secret":
				o := &corev1.Secret{}
				m.secrets, obj = append(m.secrets, o), o
			case "v1 ConfigMap":
				o := &corev1.ConfigMap{}
				m.configMaps, obj = append(m.configMaps, o), o
			case "policy/v1 PodDisruptionBudget":
				o := &policyv1.PodDisruptionBudget{}
				m.pdbs, obj = append(m.pdbs, o), o
			default:
				t.Fatalf("%s document %d: apiVersion %q kind %q is not one the test knows", f, i+1, tm.APIVersion, tm.Kind)
			}
			if err := strictDecode(doc, obj); err != nil {
				t.Errorf("%s document %d (%s): %v", f, i+1, tm.Kind, err)
			}
		}
	}
	return m
}

// strictDecode decodes one YAML document as the API server does with
// strict field validation: field names case-sensitively (encoding/json,
// and so yaml.UnmarshalStrict, would take readOnlyRootFileSystem for
// readOnlyRootFilesystem), no unknown and no duplicate fields.
func strictDecode(doc []byte, obj any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, obj)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// TestKubernetesManifests decodes examples/kubernetes strictly and checks
// what the API server would not: the objects fit together.
func TestKubernetesManifests(t *testing.T) {
	dir := "kubernetes"
	m := decodeManifests(t, dir)
	if len(m.deployments) != 1 || len(m.secrets) != 1 || len(m.configMaps) != 1 {
		t.Fatalf("want one Deployment, Secret and ConfigMap; got %d, %d, %d", len(m.deployments), len(m.secrets), len(m.configMaps))
	}
	d := m.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("confsync replicas = %v, want 2", d.Spec.Replicas)
	}
	podLabels := labels.Set(d.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(podLabels) {
		t.Errorf("the Deployment's selector does not select its pods: %v", err)
	}
	for _, pdb := range m.pdbs {
		if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || !s.Matches(podLabels) {
			t.Errorf("PodDisruptionBudget %s selects no confsync pod", pdb.Name)
		}
	}
	sc := d.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pods may run as root")
	}
	c := d.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
			t.Errorf("%s probe: want GET %s", name, path)
			return
		}
		if _, ok := ports[p.HTTPGet.Port.String()]; !ok {
			t.Errorf("%s probe port %s is not a container port", name, p.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")

	secret := m.secrets[0]
	if len(c.EnvFrom) == 0 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != secret.Name {
		t.Errorf("confsync does not read its environment from Secret %s", secret.Name)
	}
	for _, k := range []string{"CONFLUENCE_TOKEN", "CONFSYNC_POSTGRES_DSN"} {
		if _, ok := secret.StringData[k]; !ok {
			t.Errorf("Secret %s has no %s", secret.Name, k)
		}
	}
	// Every secretKeyRef names a key the Secret has.
	for _, ss := range m.statefulSets {
		for _, ct := range ss.Spec.Template.Spec.Containers {
			for _, e := range ct.Env {
				if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
					if _, ok := secret.StringData[r.SecretKeyRef.Key]; r.SecretKeyRef.Name != secret.Name || !ok {
						t.Errorf("%s: %s refers to a missing secret key %s/%s", ss.Name, e.Name, r.SecretKeyRef.Name, r.SecretKeyRef.Key)
					}
				}
			}
		}
	}

	// The configuration the pods mount is main.hcl of the directory, which
	// config's TestExamples validates.
	hcl, err := os.ReadFile(filepath.Join(dir, "main.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	cm := m.configMaps[0]
	if cm.Data["main.hcl"] != string(hcl) {
		t.Errorf("configmap.yaml's main.hcl differs from main.hcl")
	}
	mounted := false
	for _, v := range d.Spec.Template.Spec.Volumes {
		mounted = mounted || (v.ConfigMap != nil && v.ConfigMap.Name == cm.Name)
	}
	if !mounted {
		t.Errorf("ConfigMap %s is not mounted", cm.Name)
	}
	if !strings.Contains(cm.Data["main.hcl"], "postgres = var.postgres_dsn") {
		t.Error("the replicas do not share a PostgreSQL store")
	}

	// Each Service selects pods of a workload here, on a port they name.
	for _, s := range m.services {
		found := false
		check := func(tmpl corev1.PodTemplateSpec) {
			if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(tmpl.Labels)) {
				return
			}
			found = true
			for _, sp := range s.Spec.Ports {
				ok := false
				for _, ct := range tmpl.Spec.Containers {
					for _, p := range ct.Ports {
						ok = ok || p.Name == sp.TargetPort.String() || p.ContainerPort == sp.TargetPort.IntVal
					}
				}
				if !ok {
					t.Errorf("Service %s targets port %s, which its pods do not have", s.Name, sp.TargetPort.String())
				}
			}
		}
		check(d.Spec.Template)
		for _, ss := range m.statefulSets {
			check(ss.Spec.Template)
		}
		if !found {
			t.Errorf("Service %s selects no pod", s.Name)
		}
	}
}

// TestStrictDecodingCatchesMistakes: the decoding really is strict.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelt field": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 2\n",
		"wrong type":     "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: two\n",
		"wrong case":     "apiVersion: apps/v1\nkind: Deployment\nspec:\n  Replicas: 2\n",
		"duplicate":      "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n  replicas: 3\n",
		"bad quantity":   "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    resources:\n      limits:\n        memory: lots\n",
	} {
		var obj any = &appsv1.Deployment{}
		if strings.Contains(doc, "kind: Pod") {
			obj = &corev1.Pod{}
		}
		if err := strictDecode([]byte(doc), obj); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}
