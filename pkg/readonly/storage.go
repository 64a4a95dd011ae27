// Package readonly holds what the read-only REST storages of both groups
// share: metrics.k8s.io (package api) and usage.ringmetrics.dev (package
// usage) serve get, list and tables of objects built per request, with no
// etcd behind them. Keeping the shared parts here keeps the two groups'
// answers alike: the same NotFound, the same table of one object or a list,
// the same quantities.
package readonly

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Storage is what a read-only storage of either group is to the apiserver,
// which finds each verb and discovery fact by a type assertion: a storage
// asserts it (var _ readonly.Storage = (*NodeStorage)(nil)) so that losing
// a method fails to compile instead of dropping a verb from discovery.
type Storage interface {
	rest.Storage
	rest.Getter
	rest.Lister
	rest.Scoper
	rest.KindProvider
	rest.SingularNameProvider
	rest.TableConvertor
}

// Resource says what a storage serves. Embedded in the storage, it answers
// the rest.Storage, rest.Scoper, rest.KindProvider and
// rest.SingularNameProvider methods and rest.Lister's NewList, whose answers
// never change.
type Resource struct {
	// Empty and EmptyList return an empty object and an empty list of the
	// resource's kind.
	Empty, EmptyList func() runtime.Object
	// KindName is the kind ("NodeMetrics").
	KindName string
	// SingularName is the singular name in the discovery document; empty,
	// clients derive it from the kind.
	SingularName string
	// Namespaced is true for a namespaced resource.
	Namespaced bool
}

// New implements rest.Storage.
func (r *Resource) New() runtime.Object { return r.Empty() }

// Destroy implements rest.Storage: the storage holds nothing to release.
func (r *Resource) Destroy() {}

// NewList implements rest.Lister.
func (r *Resource) NewList() runtime.Object { return r.EmptyList() }

// Kind implements rest.KindProvider.
func (r *Resource) Kind() string { return r.KindName }

// NamespaceScoped implements rest.Scoper.
func (r *Resource) NamespaceScoped() bool { return r.Namespaced }

// GetSingularName implements rest.SingularNameProvider.
func (r *Resource) GetSingularName() string { return r.SingularName }

// NodeGetter and PodGetter are the part of a node or pod lister that Get
// uses.
type (
	NodeGetter[N any] interface {
		Get(name string) (*N, error)
	}
	PodGetter[P any] interface {
		Get(namespace, name string) (*P, error)
	}
)

// GetNode looks up the node a Get reports on. A node the lister does not
// know is the API's NotFound for resource (the resource served, not nodes);
// listers say so with an IsNotFound error or, some of them, a nil node.
func GetNode[N any](nodes NodeGetter[N], resource schema.GroupResource, name string) (*N, error) {
	node, err := nodes.Get(name)
	if notFound(node, err) {
		return nil, apierrors.NewNotFound(resource, name)
	}
	if err != nil {
		return nil, fmt.Errorf("getting node %q: %w", name, err)
	}
	return node, nil
}

// GetPod is GetNode for a pod.
func GetPod[P any](pods PodGetter[P], resource schema.GroupResource, namespace, name string) (*P, error) {
	pod, err := pods.Get(namespace, name)
	if notFound(pod, err) {
		return nil, apierrors.NewNotFound(resource, name)
	}
	if err != nil {
		return nil, fmt.Errorf("getting pod %s/%s: %w", namespace, name, err)
	}
	return pod, nil
}

func notFound[T any](obj *T, err error) bool {
	return apierrors.IsNotFound(err) || (err == nil && obj == nil)
}
