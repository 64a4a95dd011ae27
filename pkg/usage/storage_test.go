package usage

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

type noHistory struct{}

func (noHistory) NodeHistory(string, []sample.Point) ([]sample.Point, bool) { return nil, false }
func (noHistory) ContainerHistory(string, string, string, []sample.Point) ([]sample.Point, bool) {
	return nil, false
}

type emptyPods struct{}

func (emptyPods) List(string, labels.Selector) ([]*pods.Pod, error) { return nil, nil }
func (emptyPods) Get(_, name string) (*pods.Pod, error) {
	return nil, apierrors.NewNotFound(podUsageResource, name)
}

func TestPodStorageUnavailableUntilSynced(t *testing.T) {
	synced := false
	s := &PodStorage{reader: noHistory{}, pods: emptyPods{}, clock: clocktesting.NewFakePassiveClock(testTime), synced: func() bool { return synced }}
	ctx := genericapirequest.WithNamespace(context.Background(), "x")
	if _, err := s.List(ctx, nil); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("List before sync: %v, want 503", err)
	}
	if _, err := s.Get(ctx, "web-1", nil); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("Get before sync: %v, want 503", err)
	}
	synced = true
	if _, err := s.List(ctx, nil); err != nil {
		t.Errorf("List after sync: %v", err)
	}
	if _, err := s.Get(ctx, "web-1", nil); !apierrors.IsNotFound(err) {
		t.Errorf("Get after sync: %v, want 404", err)
	}
}

func TestStoragesRejectUnsupportedFields(t *testing.T) {
	opts := &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "n")}
	clock := clocktesting.NewFakePassiveClock(testTime)
	if _, err := (&PodStorage{reader: noHistory{}, pods: emptyPods{}, clock: clock}).List(context.Background(), opts); !apierrors.IsBadRequest(err) {
		t.Errorf("pods: %v, want 400", err)
	}
	if _, err := (&NodeStorage{reader: noHistory{}, clock: clock}).List(context.Background(), opts); !apierrors.IsBadRequest(err) {
		t.Errorf("nodes: %v, want 400", err)
	}
}
