package store

import (
	"fmt"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// renamed returns b with every pod renamed by prefix, as a kubelet that
// churns all its names between scrapes would report it.
func renamed(b *sample.Batch, prefix string) *sample.Batch {
	out := &sample.Batch{Node: b.Node, HasNode: b.HasNode, NodePoint: b.NodePoint}
	for _, c := range b.Containers {
		c.Pod = prefix + c.Pod
		out.Containers = append(out.Containers, c)
	}
	return out
}

// TestShardBoundedUnderChurn checks that a node whose every container is
// new at every write holds rings for one batch, not two, and that its
// neighbour is untouched.
func TestShardBoundedUnderChurn(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pods, ctrs int
		keepEvery  int // pods kept across writes: every keepEvery-th; 0 for none
	}{
		{name: "all renamed", pods: 200, ctrs: 5},
		{name: "half renamed", pods: 200, ctrs: 5, keepEvery: 2},
		{name: "one pod kept", pods: 50, ctrs: 2, keepEvery: 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := mustNew(t, Config{MaxAgeMs: maxAge})
			quiet := benchBatch("quiet", 3, 2)
			base := benchBatch("churn", tc.pods, tc.ctrs)
			n := tc.pods * tc.ctrs
			now := t0
			for round := range 8 {
				now += res
				b := renamed(base, fmt.Sprintf("r%d-", round))
				if tc.keepEvery > 0 {
					// Keep some pods under their old names.
					for i := range b.Containers {
						if (i/tc.ctrs)%tc.keepEvery == 0 {
							b.Containers[i].Pod = base.Containers[i].Pod
						}
					}
				}
				advance(b, now)
				st.Write(b, now)
				advance(quiet, now)
				st.Write(quiet, now)

				sh := st.nodes["churn"]
				if sh.liveCtrs != n {
					t.Fatalf("round %d: %d live containers, want %d", round, sh.liveCtrs, n)
				}
				// growSeries rounds up to the allocator's size class; a
				// second generation side by side would double the slots.
				if got := cap(sh.series); got > n+n/8+4 {
					t.Fatalf("round %d: %d series slots for %d containers", round, got, n)
				}
				if got := st.Stats().Containers; got != n+6 {
					t.Fatalf("round %d: store holds %d containers, want %d", round, got, n+6)
				}
				if _, ok := st.PodUsage("ns-quiet", quiet.Containers[0].Pod, nil); round > 0 && !ok {
					t.Fatalf("round %d: the quiet node's pod is not served", round)
				}
			}
			// A pod kept across every write has its whole history.
			if tc.keepEvery > 0 {
				c := base.Containers[0]
				h, ok := st.ContainerHistory(c.Namespace, c.Pod, c.Name, nil)
				if !ok || len(h) != 8 {
					t.Fatalf("kept container has %d points (known %v), want 8", len(h), ok)
				}
			}
		})
	}
}

// TestShardShrinksAfterSpike checks that a node that once reported
// thousands of containers gives the memory back when it reports few again,
// and that the containers it still has keep their history.
func TestShardShrinksAfterSpike(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	spike := benchBatch("n1", 1000, 3)
	small := &sample.Batch{Node: "n1", HasNode: true, Containers: spike.Containers[:6:6]}
	now := t0
	write := func(b *sample.Batch) {
		now += res
		advance(b, now)
		st.Write(b, now)
	}
	write(small)
	// Twice, so that every series of the spike holds a chunk.
	write(spike)
	write(spike)
	before := st.Stats().Bytes
	write(small)
	write(small)

	sh := st.nodes["n1"]
	if cap(sh.series) > 4*6+seriesSlack || sh.arena.chunks() > 4*sh.arena.used+chunkSlack {
		t.Errorf("after the spike: %d series slots, %d chunks (%d used) for 6 containers", cap(sh.series), sh.arena.chunks(), sh.arena.used)
	}
	if sh.podSlotsPeak > 4*2+seriesSlack {
		t.Errorf("pod map kept for %d pods", sh.podSlotsPeak)
	}
	for i := range sh.pods {
		if c := cap(sh.pods[i].containers); c > 4*3+podSlack {
			t.Errorf("pod slot %d keeps room for %d containers", i, c)
		}
	}
	// Pod slots cannot move (the index points at them): what they and the
	// snapshots' entries for them cost stays. The rest goes.
	slots := int64(cap(sh.pods))*(sizeofPodState+2*sizeofSnapPod) + int64(cap(sh.freePods))*4
	after := st.Stats().Bytes
	if (after-slots)*10 > before {
		t.Errorf("store holds %d bytes after the spike (%d in pod slots), %d during it: want a tenth at most besides the slots", after, slots, before)
	}
	for _, c := range small.Containers {
		h, ok := st.ContainerHistory(c.Namespace, c.Pod, c.Name, nil)
		if !ok || len(h) != 5 {
			t.Fatalf("%s/%s/%s: %d points (known %v), want 5", c.Namespace, c.Pod, c.Name, len(h), ok)
		}
		if us, ok := st.PodUsage(c.Namespace, c.Pod, nil); !ok || len(us) != 3 || us[0].CPUNanoCores != 2e8 {
			t.Fatalf("%s/%s: usage %+v (served %v)", c.Namespace, c.Pod, us, ok)
		}
	}
	// The pods that left are gone from the index; the spike's pods can
	// come back.
	if _, ok := st.PodUsage("ns-n1", spike.Containers[len(spike.Containers)-1].Pod, nil); ok {
		t.Error("a pod of the spike is still served")
	}
	write(spike)
	if got := st.Stats().Containers; got != 3000 {
		t.Errorf("after a second spike: %d containers, want 3000", got)
	}
}
