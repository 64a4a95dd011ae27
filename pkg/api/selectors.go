package api

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// The object fields a field selector may name, as for any object whose kind
// registers no field label conversions of its own.
const (
	fieldName      = "metadata.name"
	fieldNamespace = "metadata.namespace"
)

// labelSelector returns the request's label selector, everything when unset.
func labelSelector(options *metainternalversion.ListOptions) labels.Selector {
	if options == nil || options.LabelSelector == nil {
		return labels.Everything()
	}
	return options.LabelSelector
}

// fieldFilter matches objects against a request's field selector. Its zero
// value matches everything. It reuses one fields.Set, so a fieldFilter
// serves one request at a time.
type fieldFilter struct {
	selector   fields.Selector
	namespaced bool
	set        fields.Set
}

// newFieldFilter validates the request's field selector. A selector on a
// field other than metadata.name and metadata.namespace is a BadRequest, with
// the message kube-apiserver gives for it. (The generic apiserver already
// rejects those before calling a storage, and malformed selectors before
// that; the check here keeps the storages correct on their own.)
func newFieldFilter(options *metainternalversion.ListOptions, namespaced bool) (fieldFilter, error) {
	if options == nil || options.FieldSelector == nil || options.FieldSelector.Empty() {
		return fieldFilter{}, nil
	}
	for _, r := range options.FieldSelector.Requirements() {
		if r.Field != fieldName && r.Field != fieldNamespace {
			return fieldFilter{}, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
		}
	}
	return fieldFilter{selector: options.FieldSelector, namespaced: namespaced, set: make(fields.Set, 2)}, nil
}

// matches reports whether the object with this namespace and name is
// selected. As with metrics-server's (and kube-apiserver's) field sets, a
// cluster-scoped object has no metadata.namespace field: a selector on it
// compares against the empty string.
func (f *fieldFilter) matches(namespace, name string) bool {
	if f.selector == nil {
		return true
	}
	f.set[fieldName] = name
	if f.namespaced {
		f.set[fieldNamespace] = namespace
	}
	return f.selector.Matches(f.set)
}
