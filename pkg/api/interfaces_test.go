package api

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/tools/cache"
)

func TestPodListerAdapters(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, p := range []*metav1.PartialObjectMetadata{
		pod("a", "web", map[string]string{"app": "web"}),
		pod("a", "db", map[string]string{"app": "db"}),
		pod("b", "web", map[string]string{"app": "web"}),
	} {
		if err := indexer.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	typed := metadatalister.New(indexer, metav1.SchemeGroupVersion.WithResource("pods"))
	for name, l := range map[string]PodLister{
		"MetadataPodLister": MetadataPodLister{Lister: typed},
		"GenericPodLister":  GenericPodLister{Lister: metadatalister.NewRuntimeObjectShim(typed)},
	} {
		list := func(namespace, selector string) []string {
			t.Helper()
			sel, err := labels.Parse(selector)
			if err != nil {
				t.Fatal(err)
			}
			pods, err := l.List(namespace, sel)
			if err != nil {
				t.Fatalf("%s.List(%q, %q): %v", name, namespace, selector, err)
			}
			keys := []string{}
			for _, p := range pods {
				keys = append(keys, p.Namespace+"/"+p.Name)
			}
			return sortedStrings(keys)
		}
		if diff := cmp.Diff([]string{"a/db", "a/web", "b/web"}, list("", "")); diff != "" {
			t.Errorf("%s: all (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff([]string{"a/web", "b/web"}, list("", "app=web")); diff != "" {
			t.Errorf("%s: app=web (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff([]string{"a/db", "a/web"}, list("a", "")); diff != "" {
			t.Errorf("%s: namespace a (-want +got):\n%s", name, diff)
		}
		if p, err := l.Get("b", "web"); err != nil || p.Namespace != "b" || p.Name != "web" {
			t.Errorf("%s.Get(b, web) = %v, %v", name, p, err)
		}
		if _, err := l.Get("b", "db"); !apierrors.IsNotFound(err) {
			t.Errorf("%s.Get(b, db) error = %v, want NotFound", name, err)
		}
	}
}

// wrongLister is a cache.GenericLister holding something other than pod metadata.
type wrongLister struct{}

func (wrongLister) List(labels.Selector) ([]runtime.Object, error) {
	return []runtime.Object{&metav1.Status{}}, nil
}
func (wrongLister) Get(string) (runtime.Object, error)                { return &metav1.Status{}, nil }
func (l wrongLister) ByNamespace(string) cache.GenericNamespaceLister { return l }

func TestGenericPodListerWrongType(t *testing.T) {
	l := GenericPodLister{Lister: wrongLister{}}
	if _, err := l.List("", labels.Everything()); err == nil {
		t.Error("List over a lister of Status objects: no error")
	}
	if _, err := l.Get("a", "b"); err == nil {
		t.Error("Get over a lister of Status objects: no error")
	}
}
