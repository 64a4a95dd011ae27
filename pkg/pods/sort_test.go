package pods

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSort(t *testing.T) {
	f := func(n, namespaces int) {
		t.Helper()
		rng := rand.New(rand.NewPCG(uint64(n), uint64(namespaces)))
		list := make([]*Pod, n)
		for i := range list {
			list[i] = &Pod{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%d", rng.IntN(namespaces)), Name: fmt.Sprintf("pod-%d", rng.IntN(n))}}
		}
		want := slices.Clone(list)
		slices.SortStableFunc(want, func(a, b *Pod) int {
			return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
		})
		got := Sort(slices.Clone(list))
		if len(got) != len(want) {
			t.Fatalf("Sort(%d pods in %d namespaces) returned %d pods", n, namespaces, len(got))
		}
		for i := range got {
			if got[i].Namespace != want[i].Namespace || got[i].Name != want[i].Name {
				t.Fatalf("Sort(%d pods in %d namespaces)[%d] = %s/%s, want %s/%s",
					n, namespaces, i, got[i].Namespace, got[i].Name, want[i].Namespace, want[i].Name)
			}
		}
	}
	f(0, 1)
	f(1, 1)
	f(100, 7)
	f(groupedSortMin-1, 50)
	f(groupedSortMin, 50)
	f(10_000, 1)
	f(10_000, 2)
	f(10_000, 400)
	f(20_000, 20_000)
}
