package vpa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

const (
	vpaModulePath = "k8s.io/autoscaler/vertical-pod-autoscaler"
	// recommenderUser is the ServiceAccount deploy/vpa-rbac.yaml binds the
	// recommender's roles to.
	recommenderUser = "system:serviceaccount:kube-system:vpa-recommender"
)

// vpaModule is the VPA release test/tools/vpa pins: its recommender, as
// hack/tools.sh builds it, and its own deploy/ folder.
type vpaModule struct {
	Version     string
	Dir         string
	Recommender string
}

// findVPA asks the go command for the module test/tools/vpa/go.mod pins
// (downloading it into the module cache if it is not there), and finds the
// recommender hack/tools.sh built from it.
func findVPA() (vpaModule, error) {
	cmd := exec.Command("go", "mod", "download", "-json", vpaModulePath)
	cmd.Dir = filepath.Join("..", "tools", "vpa")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m struct{ Version, Dir, Error string }
	if jerr := json.Unmarshal(out, &m); jerr != nil || m.Error != "" || err != nil {
		return vpaModule{}, fmt.Errorf("go mod download %s in test/tools/vpa: %v %s %s", vpaModulePath, err, m.Error, stderr.String())
	}
	recommender, err := bed.Tool("vpa-recommender-" + m.Version)
	if err != nil {
		return vpaModule{}, err
	}
	return vpaModule{Version: m.Version, Dir: m.Dir, Recommender: recommender}, nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRDs creates the two CRDs the recommender needs from the module's
// deploy/vpa-v1-crd-gen.yaml, and waits until both are Established.
func (v vpaModule) installCRDs(ctx context.Context, dyn dynamic.Interface) error {
	want := []string{"verticalpodautoscalers.autoscaling.k8s.io", "verticalpodautoscalercheckpoints.autoscaling.k8s.io"}
	docs, err := readDocs(filepath.Join(v.Dir, "deploy", "vpa-v1-crd-gen.yaml"))
	if err != nil {
		return err
	}
	for _, name := range want {
		i := slices.IndexFunc(docs, func(u *unstructured.Unstructured) bool {
			return u.GetKind() == "CustomResourceDefinition" && u.GetName() == name
		})
		if i < 0 {
			return fmt.Errorf("VPA %s's deploy/vpa-v1-crd-gen.yaml has no CRD %s", v.Version, name)
		}
		if _, err := dyn.Resource(crdGVR).Create(ctx, docs[i], metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CRD %s: %w", name, err)
		}
	}
	for _, name := range want {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			crd, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conditions {
				if c, _ := c.(map[string]any); c["type"] == "Established" && c["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not Established: %w", name, err)
		}
	}
	return nil
}

// rbacResources are the kinds deploy/vpa-rbac.yaml holds.
var rbacResources = map[string]schema.GroupVersionResource{
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
}

// applyRBAC creates every object of the module's deploy/vpa-rbac.yaml, so
// the recommender reads metrics.k8s.io with exactly the rights VPA ships
// (its system:metrics-reader: get and list pods).
func (v vpaModule) applyRBAC(ctx context.Context, dyn dynamic.Interface) error {
	docs, err := readDocs(filepath.Join(v.Dir, "deploy", "vpa-rbac.yaml"))
	if err != nil {
		return err
	}
	for _, u := range docs {
		gvr, ok := rbacResources[u.GetKind()]
		if !ok {
			return fmt.Errorf("VPA %s's deploy/vpa-rbac.yaml: unexpected kind %q (%s)", v.Version, u.GetKind(), u.GetName())
		}
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if ns := u.GetNamespace(); ns != "" {
			ri = dyn.Resource(gvr).Namespace(ns)
		}
		if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

// readDocs decodes every non-empty YAML document of a file.
func readDocs(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := yaml.NewYAMLOrJSONDecoder(f, 4096)
	var docs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) > 0 {
			docs = append(docs, u)
		}
	}
}
