package readonly

import (
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Table converts object, one item (a PT) or a list of them (a PL), to the
// table `kubectl get` prints: the columns, unless tableOptions asks for no
// headers; the object's resourceVersion and the list's continue token; one
// row per item, with cells(item) and the item itself. items returns a
// list's items; what names the table in the error for any other object
// ("node metrics" reads "cannot convert a *v1.Pod to a node metrics table").
func Table[T any, PT interface {
	*T
	runtime.Object
	metav1.Object
}, PL interface {
	runtime.Object
	metav1.ListInterface
}](object, tableOptions runtime.Object, columns []metav1.TableColumnDefinition, what string, items func(PL) []T, cells func(PT) []any) (*metav1.Table, error) {
	var list []T
	table := &metav1.Table{}
	switch obj := object.(type) {
	case PT:
		list = []T{*obj}
		table.ResourceVersion = obj.GetResourceVersion()
	case PL:
		list = items(obj)
		table.ResourceVersion = obj.GetResourceVersion()
		table.Continue = obj.GetContinue()
	default:
		return nil, apierrors.NewInternalError(fmt.Errorf("cannot convert a %T to a %s table", object, what))
	}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok || !opts.NoHeaders {
		// A copy: the table is the caller's to change.
		table.ColumnDefinitions = slices.Clone(columns)
	}
	table.Rows = make([]metav1.TableRow, len(list))
	for i := range list {
		item := PT(&list[i])
		table.Rows[i] = metav1.TableRow{Cells: cells(item), Object: runtime.RawExtension{Object: item}}
	}
	return table, nil
}
