package decode

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// The smallest encoding/json model of a summary that yields a batch: the
// alternative the streaming decoder was measured against.
type (
	refCPU struct {
		Time                 *time.Time `json:"time"`
		UsageCoreNanoSeconds *uint64    `json:"usageCoreNanoSeconds"`
	}
	refMemory struct {
		WorkingSetBytes *uint64 `json:"workingSetBytes"`
	}
	refContainer struct {
		Name      string     `json:"name"`
		StartTime *time.Time `json:"startTime"`
		CPU       *refCPU    `json:"cpu"`
		Memory    *refMemory `json:"memory"`
	}
	refSummary struct {
		Node struct {
			CPU    *refCPU    `json:"cpu"`
			Memory *refMemory `json:"memory"`
		} `json:"node"`
		Pods []struct {
			PodRef struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"podRef"`
			Containers []refContainer `json:"containers"`
		} `json:"pods"`
	}
)

// BenchmarkSummaryEncodingJSON decodes the same bodies with encoding/json
// into refSummary, reused across calls, and converts the result into a
// batch without checks or interning: a lower bound on its cost.
func BenchmarkSummaryEncodingJSON(b *testing.B) {
	for _, pods := range []int{30, 110} {
		body := summaryBody(b, pods, 2)
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
			var s refSummary
			var batch sample.Batch
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				s.Pods = s.Pods[:0]
				if err := json.Unmarshal(body, &s); err != nil {
					b.Fatal(err)
				}
				batch.Reset()
				for _, p := range s.Pods {
					for _, c := range p.Containers {
						batch.Containers = append(batch.Containers, sample.Container{
							Namespace: p.PodRef.Namespace, Pod: p.PodRef.Name, Name: c.Name,
							StartTimeMs: c.StartTime.UnixMilli(),
							Point: sample.Point{TimestampMs: c.CPU.Time.UnixMilli(), CPUNanos: *c.CPU.UsageCoreNanoSeconds,
								MemoryBytes: *c.Memory.WorkingSetBytes},
						})
					}
				}
				if len(batch.Containers) != 2*pods || *s.Node.CPU.UsageCoreNanoSeconds == 0 {
					b.Fatalf("%d containers", len(batch.Containers))
				}
			}
		})
	}
}
