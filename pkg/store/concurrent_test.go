package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// TestConcurrent runs writers, readers and maintenance together (run it
// with -race) and checks that every usage a reader sees is whole: all of a
// pod's containers from one write, with the rate the writers produce.
func TestConcurrent(t *testing.T) {
	const (
		nodes  = 4
		pods   = 10
		rounds = 300
		rate   = 2e8 // nanocores, every container
	)
	st := mustNew(t, Config{Capacity: 8, MaxAgeMs: maxAge, CPUWindowMs: 30 * sec})
	podName := func(n, j, round int) string {
		return fmt.Sprintf("p%d-%d-g%d", n, j, (round+j)/20)
	}
	start := t0 - res
	var done atomic.Bool
	// current is each writer's round, so readers ask mostly for live pods.
	var current [nodes]atomic.Int64
	var writers, others sync.WaitGroup
	var served atomic.Int64
	began := time.Now()
	for n := range nodes {
		writers.Go(func() {
			var b sample.Batch
			// At least rounds writes, and on a busy machine more, until the
			// readers have been served often enough to have checked
			// something: the writers can otherwise finish before a reader
			// is scheduled.
			for r := 0; r < rounds || (served.Load() < 100 && time.Since(began) < 20*time.Second); r++ {
				ts := t0 + int64(r)*res
				b.Reset()
				b.Node = fmt.Sprintf("n%d", n)
				b.HasNode = true
				b.NodePoint = sample.Point{TimestampMs: ts, CPUNanos: uint64(ts-start) * 1e6, MemoryBytes: 1}
				names := []string{"mover"}
				if (r/5)%nodes != n {
					names = names[:0]
				}
				for j := range pods {
					names = append(names, podName(n, j, r))
				}
				for _, p := range names {
					for _, c := range []string{"b", "a"} {
						b.Containers = append(b.Containers, sample.Container{
							Namespace: "ns", Pod: p, Name: c, StartTimeMs: start,
							Point: sample.Point{TimestampMs: ts, CPUNanos: uint64(ts-start) * rate / 1000, MemoryBytes: 2},
						})
					}
				}
				st.Write(&b, ts)
				current[n].Store(int64(r))
				// Let readers in between writes, as a real scrape interval does.
				runtime.Gosched()
			}
		})
	}
	for g := range 4 {
		others.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			var dst []sample.ContainerUsage
			var hist []sample.Point
			for !done.Load() {
				n := rng.IntN(nodes)
				name := podName(n, rng.IntN(pods), int(current[n].Load()))
				if rng.IntN(10) == 0 {
					name = "mover"
				}
				var ok bool
				dst, ok = st.PodUsage("ns", name, dst[:0])
				if ok {
					served.Add(1)
					if len(dst) != 2 || dst[0].Name != "a" || dst[1].Name != "b" {
						t.Errorf("PodUsage(%s) = %+v: want containers a and b", name, dst)
						return
					}
					for _, u := range dst {
						if u.Usage != dst[0].Usage || u.CPUNanoCores != rate || u.WindowMs <= 0 || u.MemoryBytes != 2 {
							t.Errorf("PodUsage(%s) = %+v: torn or wrong", name, dst)
							return
						}
					}
				}
				if u, ok := st.NodeUsage(fmt.Sprintf("n%d", n)); ok && (u.CPUNanoCores != 1e9 || u.WindowMs <= 0) {
					t.Errorf("NodeUsage(n%d) = %+v", n, u)
					return
				}
				hist, _ = st.ContainerHistory("ns", name, "a", hist[:0])
				for i := 1; i < len(hist); i++ {
					if hist[i].TimestampMs <= hist[i-1].TimestampMs {
						t.Errorf("ContainerHistory(%s) not in order: %+v", name, hist)
						return
					}
				}
			}
		})
	}
	others.Go(func() {
		rng := rand.New(rand.NewPCG(99, 1))
		for i := 0; !done.Load(); i++ {
			n := rng.IntN(nodes)
			switch i % 100 {
			case 0:
				st.DeleteNode(fmt.Sprintf("n%d", n))
			case 1, 2, 3:
				st.DeletePod("ns", podName(n, rng.IntN(pods), rng.IntN(rounds)))
			case 4:
				st.Expire(t0)
			case 5:
				if s := st.Stats(); s.Pods < 0 || s.Containers < 0 || s.Bytes < 0 {
					t.Errorf("Stats() = %+v", s)
				}
			}
		}
	})
	writers.Wait()
	done.Store(true)
	others.Wait()
	if served.Load() == 0 {
		t.Error("readers were never served a pod; the test checked nothing")
	}
	// DeleteNode may have removed a node after its last write.
	if s := st.Stats(); s.Nodes > nodes || s.Containers > 2*s.Pods {
		t.Errorf("Stats() = %+v after all writes, want at most %d nodes, 2 containers a pod", s, nodes)
	}
	t.Logf("readers were served %d pods", served.Load())
}

// TestPublisherRecycling hammers the snapshot hand-over alone: a writer
// refills recycled snapshots as fast as it can while readers check that
// what they hold never changes under them.
func TestPublisherRecycling(t *testing.T) {
	var p publisher
	p.publish(&snapshot{})
	var done atomic.Bool
	var readers sync.WaitGroup
	var checked atomic.Int64
	for range 3 {
		readers.Go(func() {
			for !done.Load() {
				s := p.acquire()
				if len(s.containers) > 0 {
					v := s.containers[0].TimestampMs
					runtime.Gosched()
					for _, c := range s.containers {
						if c.TimestampMs != v {
							t.Errorf("snapshot changed while held: %d then %d", v, c.TimestampMs)
							p.release(s)
							return
						}
					}
					checked.Add(1)
				}
				p.release(s)
			}
		})
	}
	allocated := 0
	// Publish at least 20000 times, and on a busy machine go on until the
	// readers have had a chance to run, so the test checks something.
	start := time.Now()
	v := int64(0)
	for ; v < 20000 || (checked.Load() < 100 && time.Since(start) < 20*time.Second); v++ {
		s := p.next()
		if len(s.containers) == 0 && cap(s.containers) == 0 {
			allocated++
		}
		s.containers = s.containers[:0]
		for range 16 {
			s.containers = append(s.containers, sample.ContainerUsage{Usage: sample.Usage{TimestampMs: v}})
		}
		p.publish(s)
	}
	done.Store(true)
	readers.Wait()
	if checked.Load() == 0 {
		t.Error("readers checked nothing")
	}
	t.Logf("%d snapshots checked, %d allocated for %d publishes", checked.Load(), allocated, v)
}
