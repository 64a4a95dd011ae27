package pods

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// storeOnly is an Informer whose store is filled by hand and whose events
// never come: a Cache over it sorts once, on its first List.
type storeOnly struct{ indexer cache.Indexer }

func (s storeOnly) GetIndexer() cache.Indexer { return s.indexer }
func (storeOnly) AddEventHandler(cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	return nil, nil
}

// BenchmarkList is what a LIST asks of the pod lister at 1 000 nodes × 30
// pods in 100 namespaces: every pod, one namespace's 300, and a label
// selector over every pod, from the lister that sorts on each call and from
// the Cache, which keeps the order.
func BenchmarkList(b *testing.B) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for i := range 30_000 {
		p := &Pod{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("bench-%02d", i%100), Name: fmt.Sprintf("pod-%d", i)},
			Labels: Labels{{"app", fmt.Sprintf("app-%d", i%10)}, {"pod-template-hash", fmt.Sprintf("%08x", i%1000)}}}
		if err := indexer.Add(p); err != nil {
			b.Fatal(err)
		}
	}
	cached, err := NewCache(storeOnly{indexer})
	if err != nil {
		b.Fatal(err)
	}
	app3 := labels.SelectorFromSet(labels.Set{"app": "app-3"})
	for _, l := range []struct {
		name   string
		lister Lister
	}{{"lister=indexer", IndexerLister{Indexer: indexer}}, {"lister=cache", cached}} {
		for _, q := range []struct {
			name      string
			namespace string
			selector  labels.Selector
			want      int
		}{
			{"all", "", labels.Everything(), 30_000},
			{"namespace", "bench-42", labels.Everything(), 300},
			{"selector", "", app3, 3_000},
		} {
			b.Run(l.name+"/query="+q.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					got, err := l.lister.List(q.namespace, q.selector)
					if err != nil || len(got) != q.want {
						b.Fatalf("List: %d pods, %v; want %d", len(got), err, q.want)
					}
				}
			})
		}
	}
}
