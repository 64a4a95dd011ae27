package bed

import (
	"path/filepath"
	"slices"
	"testing"
)

type fakeM struct{ ran bool }

func (m *fakeM) Run() int { m.ran = true; return 0 }

// TestMainKeepsFilesWhenSetupFails needs no control plane: the set-up fails
// before one starts.
func TestMainKeepsFilesWhenSetupFails(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("RINGMETRICS_BINARY", filepath.Join(tmp, "missing"))
	m := &fakeM{}
	if code := Main(m, "unit", Options{}, nil); code != 1 {
		t.Errorf("Main = %d, want 1", code)
	}
	if m.ran {
		t.Error("the tests ran on a bed that did not start")
	}
	kept, _ := filepath.Glob(filepath.Join(tmp, "ringmetrics-unit-*"))
	if len(kept) != 1 {
		t.Errorf("kept %q, want one ringmetrics-unit-* directory", kept)
	}
}

func TestSharedStopsInReverse(t *testing.T) {
	var order []int
	s := &Shared{Bed: &Bed{}}
	for i := range 3 {
		s.Defer(func() { order = append(order, i) })
	}
	s.stop()
	if want := []int{2, 1, 0}; !slices.Equal(order, want) {
		t.Errorf("stopped in order %v, want %v", order, want)
	}
}
