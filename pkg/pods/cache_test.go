package pods

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestCache drives a real informer over a fake clientset through random
// adds, label updates and deletes, and after each batch checks every List
// the APIs make against the informer's store, sorted here by a plain
// comparison: the same pods, the same order, the newest version of each.
func TestCache(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(Trim))
	informer := factory.Core().V1().Pods().Informer()
	c, err := NewCache(informer)
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	rng := rand.New(rand.NewPCG(3, 4))
	namespaces := []string{"a", "a-b", "ab", "b", "kube-system"}
	live := map[string]*corev1.Pod{}
	version := 0
	put := func(ns, name string) {
		version++
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{"app": fmt.Sprint("app-", rng.IntN(3)), "v": fmt.Sprint(version)}}}
		key := ns + "/" + name
		var err error
		if live[key] == nil {
			_, err = client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		} else {
			_, err = client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		live[key] = p
	}
	for round := range 30 {
		for range 1 + rng.IntN(20) {
			ns, name := namespaces[rng.IntN(len(namespaces))], fmt.Sprint("pod-", rng.IntN(40))
			key := ns + "/" + name
			switch {
			case live[key] != nil && rng.IntN(4) == 0:
				if err := client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				delete(live, key)
			case live[key] != nil && round%3 == 0:
				// Some rounds only update: the order stays, the pods change.
				put(ns, name)
			case round%3 != 0:
				put(ns, name)
			}
		}
		want := func(ns string, sel labels.Selector) []string {
			var out []string
			for _, p := range live {
				if (ns == "" || p.Namespace == ns) && sel.Matches(labels.Set(p.Labels)) {
					out = append(out, p.Namespace+"/"+p.Name+"@"+p.Labels["v"])
				}
			}
			// namespace/name@version: order by namespace, then name.
			key := func(s string) (string, string) {
				ns, rest, _ := strings.Cut(s, "/")
				name, _, _ := strings.Cut(rest, "@")
				return ns, name
			}
			slices.SortFunc(out, func(a, b string) int {
				an, aname := key(a)
				bn, bname := key(b)
				return cmp.Or(strings.Compare(an, bn), strings.Compare(aname, bname))
			})
			return out
		}
		got := func(ns string, sel labels.Selector) []string {
			list, err := c.List(ns, sel)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, p := range list {
				out = append(out, p.Namespace+"/"+p.Name+"@"+p.Labels.Get("v"))
			}
			return out
		}
		app1 := labels.SelectorFromSet(labels.Set{"app": "app-1"})
		deadline := time.Now().Add(5 * time.Second)
		for {
			ok := slices.Equal(got("", labels.Everything()), want("", labels.Everything())) &&
				slices.Equal(got("", app1), want("", app1))
			for _, ns := range append(namespaces, "none", "a-", "zz") {
				ok = ok && slices.Equal(got(ns, labels.Everything()), want(ns, labels.Everything())) &&
					slices.Equal(got(ns, app1), want(ns, app1))
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: List = %v\nwant %v", round, got("", labels.Everything()), want("", labels.Everything()))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The caller owns the slice: reordering it leaves the cache's alone.
	first, _ := c.List("", labels.Everything())
	slices.Reverse(first)
	if again, _ := c.List("", labels.Everything()); len(again) > 1 && again[0] == first[0] {
		t.Error("reversing a listed slice reordered the cache")
	}
}
