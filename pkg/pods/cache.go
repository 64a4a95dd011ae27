package pods

import (
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// Cache is a Lister over a pod informer that keeps every pod sorted by
// namespace and name between changes, so that a LIST does not sort 150 000
// pods again: a cluster-wide one copies the order, a namespace's is a
// binary search. Updates, by far the most frequent event (status changes),
// never move a pod, so they replace it in place; an added or deleted pod
// marks the order stale, and the next List sorts once — what every List
// cost before. Events reach the cache after the informer's store has
// changed, so a List may briefly lag the store, as any informer consumer
// does.
type Cache struct {
	IndexerLister

	mu sync.RWMutex
	// sorted holds every pod by namespace and name; valid unless stale.
	sorted []*Pod
	stale  bool
}

var _ Lister = (*Cache)(nil)

// Informer is the part of a cache.SharedIndexInformer a Cache uses.
type Informer interface {
	GetIndexer() cache.Indexer
	AddEventHandler(handler cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error)
}

// NewCache returns a Cache over informer, whose transform must be Trim.
func NewCache(informer Informer) (*Cache, error) {
	c := &Cache{IndexerLister: IndexerLister{Indexer: informer.GetIndexer()}, stale: true}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.invalidate() },
		UpdateFunc: func(_, obj any) { c.update(obj) },
		DeleteFunc: func(any) { c.invalidate() },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cache) invalidate() {
	c.mu.Lock()
	c.stale = true
	c.mu.Unlock()
}

// update puts the new version of a pod where the old one was; a pod not
// found (the order is stale, or the event is not a pod) leaves it to the
// next rebuild.
func (c *Cache) update(obj any) {
	p, ok := obj.(*Pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stale {
		return
	}
	if ok && p != nil {
		if i, found := slices.BinarySearchFunc(c.sorted, p, compare); found {
			c.sorted[i] = p
			return
		}
	}
	c.stale = true
}

// List implements Lister.
func (c *Cache) List(namespace string, selector labels.Selector) ([]*Pod, error) {
	c.mu.RLock()
	for c.stale {
		c.mu.RUnlock()
		c.rebuild()
		c.mu.RLock()
	}
	defer c.mu.RUnlock()
	all := c.sorted
	if namespace != metav1.NamespaceAll {
		byNamespace := func(p *Pod, ns string) int { return strings.Compare(p.Namespace, ns) }
		// The first pod of namespace, and the first past it: no namespace
		// sorts between namespace and namespace+"\x00".
		lo, _ := slices.BinarySearchFunc(all, namespace, byNamespace)
		n, _ := slices.BinarySearchFunc(all[lo:], namespace+"\x00", byNamespace)
		all = all[lo : lo+n]
	}
	if selector.Empty() {
		return slices.Clone(all), nil
	}
	out := make([]*Pod, 0, len(all))
	for _, p := range all {
		if selector.Matches(&p.Labels) {
			out = append(out, p)
		}
	}
	return out, nil
}

// rebuild sorts every pod of the informer's store again if the order is
// stale; concurrent Lists wait for one rebuild.
func (c *Cache) rebuild() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stale {
		return
	}
	objs := c.Indexer.List()
	sorted := make([]*Pod, 0, len(objs))
	for _, obj := range objs {
		if p, ok := obj.(*Pod); ok {
			sorted = append(sorted, p)
		}
	}
	c.sorted, c.stale = Sort(sorted), false
}
