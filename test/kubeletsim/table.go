package kubeletsim

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteExpected writes the expected usage of every node, pod and container
// as an aligned table: the values a reader of the fleet should report.
func (f *Fleet) WriteExpected(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tNAMESPACE\tPOD\tCONTAINER\tCPU(m)\tMEMORY(bytes)\tHIDDEN")
	f.mu.RLock()
	for _, n := range f.nodes {
		if n == nil {
			continue
		}
		cpu, mem := n.usage()
		fmt.Fprintf(tw, "%s\t%s\t\t\t\t%d\t%d\t\n", n.name, n.Endpoint(), cpu, mem)
		for _, p := range n.pods {
			cpu, mem := p.usage()
			fmt.Fprintf(tw, "%s\t\t%s\t%s\t\t%d\t%d\t%v\n", n.name, p.namespace, p.name, cpu, mem, p.hidden)
			if len(p.containers) > 1 {
				for _, c := range p.containers {
					fmt.Fprintf(tw, "%s\t\t%s\t%s\t%s\t%d\t%d\t\n", n.name, p.namespace, p.name, c.name, c.cpu.milli, c.memBytes)
				}
			}
		}
	}
	f.mu.RUnlock()
	return tw.Flush()
}
